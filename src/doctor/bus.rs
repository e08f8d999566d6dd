//! The bus check: the embedded log's partitions and lag; Kafka reachable, the topic,
//! the group's lag.

use super::embedded::{embedded_port, timed_out};
use super::{CHECK_TIMEOUT, Check, REQUEST_TIMEOUT, bounded};
use crate::adapters::embedded::{Db, EmbeddedBus};
use crate::adapters::kafka::{KafkaBus, KafkaSettings, ProbeFailure, TopicFound};
use crate::config::Config;
use crate::ports::EventBus;

/// The `bus` check of `config`'s event bus (`db`: the embedded database, when it
/// opened).
pub async fn check(config: &Config, db: Option<Db>) -> Check {
    const NAME: &str = "bus";
    let group = config.group.clone();
    match crate::wiring::kafka_settings(config) {
        None => {
            let settings = crate::wiring::bus_settings(config);
            let ask = move |db: Db| async move {
                let partitions = db
                    .contents()
                    .await
                    .map_err(|e| e.to_string())?
                    .bus_partitions;
                let lag = EmbeddedBus::new(db, settings)
                    .lag(&group)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok::<_, String>((partitions, lag, group))
            };
            let pass = |(partitions, lag, group): (u64, u64, String)| {
                Check::pass(
                    NAME,
                    if partitions == 0 {
                        format!(
                            "embedded: no events yet ({} partitions on first use); group \
                             {group} lag {lag}",
                            settings.partitions
                        )
                    } else {
                        format!("embedded: {partitions} partitions; group {group} lag {lag}")
                    },
                )
            };
            embedded_port(NAME, db, ask, pass).await
        }
        Some(settings) => {
            let what = format!("kafka {} at {}", settings.topic, settings.brokers);
            match bounded(CHECK_TIMEOUT, move || kafka(settings, group)).await {
                Ok(c) => c,
                Err(why) => timed_out(NAME, &what, &why, &kafka_unreachable_fix()),
            }
        }
    }
}

fn kafka_unreachable_fix() -> String {
    "start the Kafka brokers, or correct OMS_KAFKA_BROKERS (host:port[,host:port]) and \
     check that the brokers' advertised listeners are reachable from here"
        .into()
}

/// Kafka answers, the topic is there (created when missing, as every `oms` command
/// does on connecting), and the group's lag can be read.
async fn kafka(settings: KafkaSettings, group: String) -> Check {
    const NAME: &str = "bus";
    let what = format!("kafka {} at {}", settings.topic, settings.brokers);
    let probe = match KafkaBus::probe(&settings, &group, REQUEST_TIMEOUT).await {
        Ok(p) => p,
        Err(ProbeFailure::NoBroker(e)) => {
            return Check::fail(
                NAME,
                format!("{what}: no broker answers: {e}"),
                kafka_unreachable_fix(),
            );
        }
        Err(ProbeFailure::Connect {
            topic_missing,
            error: e,
        }) => {
            return Check::fail(
                NAME,
                format!(
                    "{what}: {}{e}",
                    if topic_missing {
                        "the topic is missing and cannot be created: "
                    } else {
                        ""
                    }
                ),
                format!(
                    "create the topic (`kafka-topics.sh --create --topic {} --partitions {}`) \
                     or allow this client to create topics, then run `oms doctor` again",
                    settings.topic, settings.partitions
                ),
            );
        }
    };
    let topic_text = match probe.topic {
        TopicFound::Present(n) => format!("topic present, {n} partitions"),
        TopicFound::Created(Some(n)) => {
            format!("topic was missing, created now with {n} partitions")
        }
        TopicFound::Created(None) => "topic created now".to_owned(),
    };
    match probe.lag {
        Ok(lag) => Check::pass(
            NAME,
            format!(
                "{what}: {}; {topic_text}; group {group} lag {lag}",
                match probe.brokers {
                    1 => "1 broker".to_owned(),
                    n => format!("{n} brokers"),
                }
            ),
        ),
        Err(e) => Check::fail(
            NAME,
            format!("{what}: {topic_text}; the lag of group {group} cannot be read: {e}"),
            "check that the brokers' group coordinator is up and that this client may \
             describe the group and read its offsets (ACLs)",
        ),
    }
}
