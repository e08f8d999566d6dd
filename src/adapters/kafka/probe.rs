//! What `oms doctor` asks of Kafka: a broker answers, the topic and its partitions
//! (created when missing, as every `oms` command does on connecting), and the group's
//! lag.

use super::topic::inspect;
use super::{KafkaBus, KafkaSettings};
use crate::ports::{BusError, EventBus};
use std::time::Duration;

/// The topic as [`KafkaBus::probe`] found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicFound {
    /// It was there, with this many partitions.
    Present(i32),
    /// It was missing and is created now; its partitions, when the metadata shows them.
    Created(Option<i32>),
}

/// What [`KafkaBus::probe`] found.
#[derive(Debug)]
pub struct KafkaProbe {
    /// Brokers in the cluster's metadata.
    pub brokers: usize,
    /// The topic.
    pub topic: TopicFound,
    /// The group's lag, or why it cannot be read.
    pub lag: Result<u64, BusError>,
}

/// Where [`KafkaBus::probe`] stopped.
#[derive(Debug)]
pub enum ProbeFailure {
    /// No broker answered the metadata request.
    NoBroker(BusError),
    /// Connecting as `oms` does failed.
    Connect {
        /// The topic was missing (so it could not be created).
        topic_missing: bool,
        /// Why connecting failed.
        error: BusError,
    },
}

impl KafkaBus {
    /// Probes the cluster of `settings` for `oms doctor`: reads the metadata (waiting at
    /// most `timeout` for a broker), connects as every `oms` command does (creating the
    /// topic when missing), and reads `group`'s lag.
    ///
    /// # Errors
    /// [`ProbeFailure::NoBroker`], [`ProbeFailure::Connect`]; a lag that cannot be read
    /// is part of the [`KafkaProbe`].
    pub async fn probe(
        settings: &KafkaSettings,
        group: &str,
        timeout: Duration,
    ) -> Result<KafkaProbe, ProbeFailure> {
        let found = inspect(settings, timeout)
            .await
            .map_err(ProbeFailure::NoBroker)?;
        let bus = Self::connect(settings.clone())
            .await
            .map_err(|error| ProbeFailure::Connect {
                topic_missing: found.partitions.is_none(),
                error,
            })?;
        let topic = match found.partitions {
            Some(n) => TopicFound::Present(n),
            None => TopicFound::Created(
                inspect(settings, timeout)
                    .await
                    .ok()
                    .and_then(|f| f.partitions),
            ),
        };
        Ok(KafkaProbe {
            brokers: found.brokers,
            topic,
            lag: bus.lag(group).await,
        })
    }
}
