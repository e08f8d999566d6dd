//! The topic: created when missing (and waited for until its partitions are known),
//! read from the metadata without being created (for `oms doctor`), and its partition
//! count.

use super::errors::{join_err, map_code, map_err};
use super::logging::Logging;
use super::{KafkaSettings, REQUEST_TIMEOUT, base_config, millis};
use crate::ports::{BusError, Detail};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::metadata::MetadataTopic;
use std::time::{Duration, Instant};

/// How long `connect` waits for a topic it created to show up in the metadata.
const TOPIC_READY: Duration = Duration::from_secs(15);

/// What [`inspect`] read of the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Inspection {
    /// Brokers in the cluster's metadata.
    pub(super) brokers: usize,
    /// Partitions of the topic; `None` when it does not exist.
    pub(super) partitions: Option<i32>,
}

/// Reads the cluster's metadata for the topic of `settings`, without creating it; waits
/// at most `timeout` for a broker.
///
/// # Errors
/// [`BusError::Unavailable`] when no broker answers, [`BusError::Other`].
pub(super) async fn inspect(
    settings: &KafkaSettings,
    timeout: Duration,
) -> Result<Inspection, BusError> {
    let client: BaseConsumer<Logging> = base_config(settings)
        .set("socket.timeout.ms", millis(timeout))
        .set("allow.auto.create.topics", "false")
        .create_with_context(Logging)
        .map_err(|e| map_err("create metadata client", e))?;
    let topic = settings.topic.clone();
    tokio::task::spawn_blocking(move || {
        let md = client
            .fetch_metadata(Some(&topic), timeout)
            .map_err(|e| map_err("read cluster metadata", e))?;
        let partitions = match md.topics().iter().find(|t| t.name() == topic) {
            None => None,
            Some(t) => match t.error().map(RDKafkaErrorCode::from) {
                None => Some(partitions_of(t)?),
                Some(RDKafkaErrorCode::UnknownTopicOrPartition) => None,
                Some(code) => return Err(map_code(&format!("topic {topic}"), code)),
            },
        };
        Ok(Inspection {
            brokers: md.brokers().len(),
            partitions,
        })
    })
    .await
    .map_err(join_err)?
}

/// Creates the topic of `settings` unless it exists, then waits until its partitions
/// are known. The metadata is read first: a topic that exists costs no admin request
/// (a client not allowed to create topics, or a broker whose admin requests stall,
/// still uses an existing topic).
///
/// # Errors
/// [`BusError::Unavailable`] when no broker answers or the topic shows no partitions in
/// time, [`BusError::Other`] (creation refused).
pub(super) async fn ensure_topic(settings: &KafkaSettings) -> Result<(), BusError> {
    match inspect(settings, REQUEST_TIMEOUT).await {
        Ok(Inspection {
            partitions: Some(p),
            ..
        }) if p > 0 => return Ok(()),
        Err(e @ BusError::Unavailable(_)) => return Err(e),
        // Missing, or the metadata said something odd: creating it tells.
        Ok(_) | Err(_) => {}
    }
    let admin: AdminClient<Logging> = base_config(settings)
        .create_with_context(Logging)
        .map_err(|e| map_err("create admin client", e))?;
    let topic = NewTopic::new(
        &settings.topic,
        settings.partitions.max(1),
        TopicReplication::Fixed(1),
    );
    let opts = AdminOptions::new()
        .request_timeout(Some(REQUEST_TIMEOUT))
        .operation_timeout(Some(REQUEST_TIMEOUT));
    let results = admin
        .create_topics([&topic], &opts)
        .await
        .map_err(|e| map_err("create topic", e))?;
    for r in results {
        match r {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => return Err(map_code(&format!("create topic {name}"), code)),
        }
    }
    // Creation may finish after the admin answer: wait until the metadata has it.
    let name = settings.topic.clone();
    tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + TOPIC_READY;
        loop {
            let found = admin
                .inner()
                .fetch_metadata(Some(&name), REQUEST_TIMEOUT)
                .map_err(|e| map_err("read topic metadata", e))
                .map(|md| {
                    md.topics().iter().any(|t| {
                        t.name() == name && t.error().is_none() && !t.partitions().is_empty()
                    })
                });
            match found {
                Ok(true) => return Ok(()),
                Ok(false) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                Ok(false) => {
                    return Err(BusError::Unavailable(Detail::from(format!(
                        "topic {name} was created but has no partitions after {TOPIC_READY:?}"
                    ))));
                }
                Err(e) => return Err(e),
            }
        }
    })
    .await
    .map_err(join_err)?
}

/// The number of partitions of `topic` (a blocking request).
///
/// # Errors
/// [`BusError::Unavailable`] when no broker answers, [`BusError::Other`] (the topic
/// does not exist).
pub(super) fn partition_count(
    client: &BaseConsumer<Logging>,
    topic: &str,
) -> Result<i32, BusError> {
    let md = client
        .fetch_metadata(Some(topic), REQUEST_TIMEOUT)
        .map_err(|e| map_err("read topic metadata", e))?;
    let t = md
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .ok_or_else(|| BusError::Other(Detail::from(format!("topic {topic} not found"))))?;
    if let Some(e) = t.error() {
        return Err(map_code(
            &format!("topic {topic}"),
            RDKafkaErrorCode::from(e),
        ));
    }
    partitions_of(t)
}

/// How many partitions the metadata lists for a topic.
fn partitions_of(t: &MetadataTopic) -> Result<i32, BusError> {
    i32::try_from(t.partitions().len())
        .map_err(|e| BusError::Other(Detail::caused(e.to_string(), e)))
}
