//! A group's lag: the group's committed offsets against the partitions' high
//! watermarks, read by a client with the group's id that never joins the group.

use super::errors::{join_err, map_err};
use super::logging::Logging;
use super::topic::partition_count;
use super::{KafkaBus, REQUEST_TIMEOUT, base_config};
use crate::ports::BusError;
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::{Offset, TopicPartitionList};
use std::sync::{Arc, PoisonError};
use std::time::Duration;

impl KafkaBus {
    /// The client that reads `group`'s committed offsets, made on first use.
    fn lag_client(&self, group: &str) -> Result<Arc<BaseConsumer<Logging>>, BusError> {
        let mut clients = self
            .lag_clients
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(c) = clients.get(group) {
            return Ok(Arc::clone(c));
        }
        // A client with the group's id that never subscribes: it reads the group's
        // committed offsets without joining (and so without disturbing) the group.
        let c: BaseConsumer<Logging> = base_config(&self.settings)
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .create_with_context(Logging)
            .map_err(|e| map_err("create lag client", e))?;
        let c = Arc::new(c);
        clients.insert(group.to_owned(), Arc::clone(&c));
        Ok(c)
    }

    /// Events of the topic not yet committed by `group`, over all partitions: each
    /// partition's high watermark less the group's committed offset (less the low
    /// watermark when nothing is committed, or only events since deleted).
    ///
    /// # Errors
    /// [`BusError::Unavailable`] when no broker or group coordinator answers,
    /// [`BusError::Other`].
    pub(super) async fn group_lag(&self, group: &str) -> Result<u64, BusError> {
        let client = self.lag_client(group)?;
        let topic = self.settings.topic.clone();
        tokio::task::spawn_blocking(move || {
            // Drain errors and logs queued on the idle client.
            while client.poll(Duration::ZERO).is_some() {}
            let n = partition_count(&client, &topic)?;
            let mut tpl = TopicPartitionList::new();
            for p in 0..n {
                tpl.add_partition(&topic, p);
            }
            let committed = client
                .committed_offsets(tpl, REQUEST_TIMEOUT)
                .map_err(|e| map_err("read committed offsets", e))?;
            let mut lag = 0u64;
            for p in 0..n {
                let (low, high) = client
                    .fetch_watermarks(&topic, p, REQUEST_TIMEOUT)
                    .map_err(|e| map_err("read watermarks", e))?;
                let done = match committed.find_partition(&topic, p).map(|e| e.offset()) {
                    Some(Offset::Offset(o)) => o.max(low),
                    _ => low,
                };
                lag += u64::try_from(high - done).unwrap_or(0);
            }
            Ok(lag)
        })
        .await
        .map_err(join_err)?
    }
}
