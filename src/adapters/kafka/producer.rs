//! Publishing: one idempotent producer per bus, keyed events (a key always lands in one
//! partition, in order), every delivery awaited. At least once: when `publish` fails,
//! some of its events may still have been written; the caller publishes them again and
//! consumers tolerate duplicates.

use super::errors::map_err;
use super::logging::Logging;
use super::{KafkaSettings, base_config, millis};
use crate::ports::{BusError, Event};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::time::{Duration, Instant};

/// How long `publish` waits for the broker to acknowledge every event.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(15);

/// The producer of a bus: idempotent, every event acknowledged by all in-sync replicas.
///
/// # Errors
/// [`BusError::Other`] when librdkafka refuses the configuration.
pub(super) fn producer(settings: &KafkaSettings) -> Result<FutureProducer<Logging>, BusError> {
    base_config(settings)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        // The partitioner of the Java clients: another program publishing with the
        // same key lands in the same partition.
        .set("partitioner", "murmur2_random")
        .set("message.timeout.ms", millis(DELIVERY_TIMEOUT))
        .set("linger.ms", "5")
        .create_with_context(Logging)
        .map_err(|e| map_err("create producer", e))
}

/// Publishes `events` to `topic`, in order, and waits for every delivery.
///
/// # Errors
/// The first delivery that failed: [`BusError::Unavailable`] (no broker, time-out),
/// [`BusError::Other`].
pub(super) async fn publish(
    producer: &FutureProducer<Logging>,
    topic: &str,
    events: &[Event],
) -> Result<(), BusError> {
    let mut pending = Vec::with_capacity(events.len());
    // Enqueue everything first (in order: one key's events keep their order in its
    // partition, idempotence keeps it across retries), then await every delivery.
    for e in events {
        let deadline = Instant::now() + DELIVERY_TIMEOUT;
        let mut record = FutureRecord::to(topic).key(&e.key).payload(&e.payload);
        loop {
            match producer.send_result(record) {
                Ok(delivery) => {
                    pending.push(delivery);
                    break;
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r))
                    if Instant::now() < deadline =>
                {
                    record = r;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err((err, _)) => return Err(map_err("publish", err)),
            }
        }
    }
    let mut first_error = None;
    for delivery in pending {
        let outcome = match delivery.await {
            Ok(Ok(_)) => continue,
            Ok(Err((err, _))) => map_err("publish", err),
            Err(_) => BusError::Unavailable("publish: the producer was shut down".into()),
        };
        first_error.get_or_insert(outcome);
    }
    first_error.map_or(Ok(()), Err)
}
