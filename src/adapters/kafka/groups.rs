//! The consumer groups of the topic, for `oms status`: the broker's group list (with
//! each member's subscription), each group's committed offsets on the topic, and its
//! lag against the partitions' high watermarks. A group counts when members of it are
//! subscribed to the topic or it has committed offsets on it; the whole answer is
//! bounded by [`GROUPS_DEADLINE`]. A broker that answers but cannot list or describe
//! its groups (tansu 0.6 drops the connection on DescribeGroups) gives no groups
//! (`None`), not an error: `oms status` then shows the configured group's lag alone.

use super::errors::{join_err, map_err};
use super::logging::Logging;
use super::topic::partition_count;
use super::{KafkaBus, REQUEST_TIMEOUT, base_config};
use crate::ports::{BusError, Detail, GroupState};
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::groups::GroupInfo;
use rdkafka::{Offset, TopicPartitionList};
use std::time::Duration;

/// How long listing the groups and their lags may take in all.
const GROUPS_DEADLINE: Duration = Duration::from_secs(20);

/// Groups whose committed offsets are read at once (one short-lived client each).
const OFFSET_READERS: usize = 8;

/// A big-endian reader of the consumer protocol's member metadata and assignment.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let (head, tail) = self.0.split_at_checked(n)?;
        self.0 = tail;
        Some(head)
    }
    fn i16(&mut self) -> Option<i16> {
        self.take(2).map(|b| i16::from_be_bytes([b[0], b[1]]))
    }
    fn i32(&mut self) -> Option<i32> {
        self.take(4)
            .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn string(&mut self) -> Option<String> {
        let n = usize::try_from(self.i16()?).ok()?;
        self.take(n)
            .map(|b| String::from_utf8_lossy(b).into_owned())
    }
}

/// The topics of a member's subscription (`version`, `[topic]`, ...).
fn subscribed_topics(metadata: &[u8]) -> Option<Vec<String>> {
    let mut r = Reader(metadata);
    r.i16()?;
    let n = r.i32()?;
    (0..n.max(0)).map(|_| r.string()).collect()
}

/// The topics of a member's assignment (`version`, `[topic, [partition]]`, ...).
fn assigned_topics(assignment: &[u8]) -> Option<Vec<String>> {
    let mut r = Reader(assignment);
    r.i16()?;
    let n = r.i32()?;
    (0..n.max(0))
        .map(|_| {
            let topic = r.string()?;
            let partitions = usize::try_from(r.i32()?.max(0)).ok()?;
            r.take(partitions.checked_mul(4)?)?;
            Some(topic)
        })
        .collect()
}

/// Members of `group` subscribed to (or assigned partitions of) `topic`.
fn members_on(group: &GroupInfo, topic: &str) -> u64 {
    let on = |topics: Option<Vec<String>>| topics.is_some_and(|t| t.iter().any(|t| t == topic));
    let n = group
        .members()
        .iter()
        .filter(|m| {
            on(m.metadata().and_then(subscribed_topics))
                || on(m.assignment().and_then(assigned_topics))
        })
        .count();
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// `group`'s committed offsets on `topic`'s partitions `0..n`, read by a client with the
/// group's id that never joins it; `None` when it has committed none there.
fn committed(
    base: &rdkafka::ClientConfig,
    group: &str,
    topic: &str,
    n: i32,
) -> Result<Option<Vec<Option<i64>>>, BusError> {
    let client: BaseConsumer<Logging> = base
        .clone()
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create_with_context(Logging)
        .map_err(|e| map_err("create group offsets client", e))?;
    let mut tpl = TopicPartitionList::new();
    for p in 0..n {
        tpl.add_partition(topic, p);
    }
    let got = client
        .committed_offsets(tpl, REQUEST_TIMEOUT)
        .map_err(|e| map_err(&format!("read committed offsets of group {group}"), e))?;
    let offsets: Vec<Option<i64>> = (0..n)
        .map(|p| match got.find_partition(topic, p).map(|e| e.offset()) {
            Some(Offset::Offset(o)) => Some(o),
            _ => None,
        })
        .collect();
    Ok(offsets.iter().any(Option::is_some).then_some(offsets))
}

impl KafkaBus {
    /// The topic's consumer groups, by name, with their lag and members on the topic;
    /// `None` when the broker answers but cannot list or describe its groups.
    ///
    /// # Errors
    /// [`BusError::Unavailable`] when no broker answers in time, [`BusError::Other`].
    pub(super) async fn topic_groups(&self) -> Result<Option<Vec<GroupState>>, BusError> {
        let bus = self.clone();
        let work = tokio::task::spawn_blocking(move || bus.topic_groups_blocking());
        match tokio::time::timeout(GROUPS_DEADLINE, work).await {
            Ok(joined) => joined.map_err(join_err)?,
            Err(e) => Err(BusError::Unavailable(Detail::caused(
                format!("list consumer groups: no answer within {GROUPS_DEADLINE:?}"),
                e,
            ))),
        }
    }

    fn topic_groups_blocking(&self) -> Result<Option<Vec<GroupState>>, BusError> {
        let topic = self.settings.topic.as_str();
        let base = base_config(&self.settings);
        let client: BaseConsumer<Logging> = base
            .create_with_context(Logging)
            .map_err(|e| map_err("create group list client", e))?;
        let n = partition_count(&client, topic)?;
        let list = match client.fetch_group_list(None, REQUEST_TIMEOUT) {
            Ok(list) => list,
            Err(e) => {
                // The broker answered the metadata request just now: if it answers one
                // again, it is there but cannot list or describe its groups (tansu 0.6
                // drops the connection on DescribeGroups), and the groups are unknown
                // rather than an error.
                let e = map_err("list consumer groups", e);
                return match partition_count(&client, topic) {
                    Ok(_) => {
                        tracing::debug!(target: "oms::kafka", error = %e, "the broker cannot list its consumer groups");
                        Ok(None)
                    }
                    Err(_) => Err(e),
                };
            }
        };
        let marks = (0..n)
            .map(|p| {
                client
                    .fetch_watermarks(topic, p, REQUEST_TIMEOUT)
                    .map_err(|e| map_err("read watermarks", e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        // Consumer groups only (not Connect workers, not schema registries).
        let candidates: Vec<(&str, u64)> = list
            .groups()
            .iter()
            .filter(|g| matches!(g.protocol_type(), "consumer" | ""))
            .map(|g| (g.name(), members_on(g, topic)))
            .collect();
        let mut out = Vec::new();
        for chunk in candidates.chunks(OFFSET_READERS) {
            let offsets = std::thread::scope(|s| {
                let readers: Vec<_> = chunk
                    .iter()
                    .map(|(name, _)| s.spawn(|| committed(&base, name, topic, n)))
                    .collect();
                readers
                    .into_iter()
                    .map(|r| {
                        r.join().unwrap_or_else(|_| {
                            Err(BusError::Other(Detail::from(
                                "reading committed offsets panicked",
                            )))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()
            })?;
            for (&(name, members), offsets) in chunk.iter().zip(offsets) {
                if members == 0 && offsets.is_none() {
                    continue;
                }
                let committed = offsets.unwrap_or_default();
                let lag = marks
                    .iter()
                    .enumerate()
                    .map(|(p, &(low, high))| {
                        let done = committed
                            .get(p)
                            .copied()
                            .flatten()
                            .map_or(low, |o| o.max(low));
                        u64::try_from(high - done).unwrap_or(0)
                    })
                    .sum();
                out.push(GroupState {
                    group: name.to_owned(),
                    lag,
                    members,
                });
            }
        }
        out.sort_by(|a, b| a.group.cmp(&b.group));
        Ok(Some(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(s: &str) -> Vec<u8> {
        let mut b = i16::try_from(s.len()).unwrap().to_be_bytes().to_vec();
        b.extend_from_slice(s.as_bytes());
        b
    }

    #[test]
    fn a_members_subscription_and_assignment_name_their_topics() {
        let mut meta = 3i16.to_be_bytes().to_vec();
        meta.extend(2i32.to_be_bytes());
        meta.extend(string("oms.orders"));
        meta.extend(string("other"));
        meta.extend((-1i32).to_be_bytes()); // no user data
        assert_eq!(subscribed_topics(&meta).unwrap(), ["oms.orders", "other"]);
        let mut assignment = 0i16.to_be_bytes().to_vec();
        assignment.extend(1i32.to_be_bytes());
        assignment.extend(string("oms.orders"));
        assignment.extend(2i32.to_be_bytes());
        assignment.extend(0i32.to_be_bytes());
        assignment.extend(1i32.to_be_bytes());
        assert_eq!(assigned_topics(&assignment).unwrap(), ["oms.orders"]);
        assert_eq!(subscribed_topics(&meta[..5]), None, "cut short");
        assert_eq!(assigned_topics(&[]), None);
    }
}
