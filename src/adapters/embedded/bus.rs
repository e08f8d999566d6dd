//! The embedded event bus: a partitioned append-only log (`bus_events`, order events
//! kept compact: see `codec`; every payload is delivered exactly as published),
//! committed offsets per consumer group (`bus_offsets`), and group membership with
//! partition leases so that several `oms fulfil` processes share the partitions like
//! Kafka consumers do.
//!
//! Each member heartbeats on every poll; live members split the partitions round-robin
//! by sorted member id; a partition is only read by the member holding its lease, and
//! a commit by a member that lost the lease fails with [`BusError::Rebalanced`].

use super::codec;
use super::db::{Db, now_ms, port_error};
use super::tx::write;
use crate::ports::{BusError, Consumer, Delivered, Event, EventBus, GroupState};
use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::HashMap;
use std::time::{Duration, Instant};

const POLL_EVERY: Duration = Duration::from_millis(50);

/// `bus_events.enc`: the payload as published.
const ENC_AS_IS: i64 = 0;
/// `bus_events.enc`: an order event in its compact form (`codec`).
const ENC_COMPACT: i64 = 1;

/// Settings of the embedded bus.
#[derive(Debug, Clone, Copy)]
pub struct BusSettings {
    /// Partitions of a new log (an existing log keeps its own).
    pub partitions: i32,
    /// A member that has not polled for this long is dead; its partitions move.
    pub session_timeout: Duration,
}

impl Default for BusSettings {
    fn default() -> Self {
        Self {
            partitions: 4,
            session_timeout: Duration::from_secs(10),
        }
    }
}

/// The bus adapter over the embedded database.
#[derive(Debug, Clone)]
pub struct EmbeddedBus {
    db: Db,
    settings: BusSettings,
}

fn map(e: rusqlite::Error) -> BusError {
    port_error(e, BusError::Unavailable, BusError::Other)
}

/// FNV-1a: a stable hash, so a key maps to the same partition in every process.
fn partition_of(key: &str, partitions: i32) -> i32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in key.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    i32::try_from(h % u32::try_from(partitions.max(1)).unwrap_or(1)).unwrap_or(0)
}

fn partitions(c: &Connection, wanted: i32) -> rusqlite::Result<i32> {
    c.execute(
        "INSERT OR IGNORE INTO bus_meta (id, partitions) VALUES (1, ?1)",
        params![wanted.max(1)],
    )?;
    c.query_row("SELECT partitions FROM bus_meta WHERE id = 1", [], |r| {
        r.get(0)
    })
}

impl EmbeddedBus {
    /// The event bus over the embedded database `db`.
    #[must_use]
    pub fn new(db: Db, settings: BusSettings) -> Self {
        Self { db, settings }
    }
}

#[async_trait]
impl EventBus for EmbeddedBus {
    async fn publish(&self, events: &[Event]) -> Result<(), BusError> {
        if events.is_empty() {
            return Ok(());
        }
        // Kept compact where the payload allows, encoded here on the caller's thread
        // rather than on the database's.
        let events: Vec<(String, String, i64)> = events
            .iter()
            .map(|e| match codec::compact(&e.payload) {
                Some(c) => (e.key.clone(), c, ENC_COMPACT),
                None => (e.key.clone(), e.payload.clone(), ENC_AS_IS),
            })
            .collect();
        let wanted = self.settings.partitions;
        self.db
            .call(move |c| {
                write(c, |c| {
                    let n = partitions(c, wanted)?;
                    let mut heads: HashMap<i32, i64> = HashMap::new();
                    let mut head_q =
                        c.prepare_cached("SELECT next_offset FROM bus_heads WHERE partition = ?1")?;
                    let mut ins = c.prepare_cached(
                        "INSERT INTO bus_events (partition, offset, key, payload, enc)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                    )?;
                    for (key, payload, enc) in &events {
                        let p = partition_of(key, n);
                        let next = match heads.get(&p) {
                            Some(&o) => o,
                            None => head_q
                                .query_row(params![p], |r| r.get(0))
                                .optional()?
                                .unwrap_or(0),
                        };
                        ins.execute(params![p, next, key, payload, enc])?;
                        heads.insert(p, next + 1);
                    }
                    let mut up = c.prepare_cached(
                        "INSERT INTO bus_heads (partition, next_offset) VALUES (?1, ?2)
                         ON CONFLICT(partition) DO UPDATE SET next_offset = excluded.next_offset",
                    )?;
                    for (p, o) in heads {
                        up.execute(params![p, o])?;
                    }
                    Ok(())
                })
            })
            .await
            .map_err(map)
    }

    async fn subscribe(&self, group: &str) -> Result<Box<dyn Consumer>, BusError> {
        Ok(Box::new(EmbeddedConsumer {
            db: self.db.clone(),
            settings: self.settings,
            group: group.to_owned(),
            member: format!("{}-{}", std::process::id(), uuid::Uuid::new_v4()),
            positions: HashMap::new(),
        }))
    }

    async fn lag(&self, group: &str) -> Result<u64, BusError> {
        let group = group.to_owned();
        self.db
            .call(move |c| {
                c.query_row(
                    "SELECT COALESCE(SUM(h.next_offset - COALESCE(o.next_offset, 0)), 0)
                     FROM bus_heads h LEFT JOIN bus_offsets o
                       ON o.grp = ?1 AND o.partition = h.partition",
                    params![group],
                    |r| r.get::<_, i64>(0),
                )
            })
            .await
            .map(|n| u64::try_from(n).unwrap_or(0))
            .map_err(map)
    }

    async fn groups(&self) -> Result<Option<Vec<GroupState>>, BusError> {
        self.db
            .call(|c| {
                c.prepare_cached(
                    "WITH names AS (SELECT grp FROM bus_offsets UNION SELECT grp FROM bus_members)
                     SELECT n.grp,
                       (SELECT COALESCE(SUM(h.next_offset - COALESCE(o.next_offset, 0)), 0)
                          FROM bus_heads h LEFT JOIN bus_offsets o
                            ON o.grp = n.grp AND o.partition = h.partition),
                       (SELECT COUNT(*) FROM bus_members m
                          WHERE m.grp = n.grp AND m.expires_at >= ?1)
                     FROM names n ORDER BY n.grp",
                )?
                .query_map(params![now_ms()], |r| {
                    Ok(GroupState {
                        group: r.get(0)?,
                        lag: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                        members: r.get(2)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()
            })
            .await
            .map(Some)
            .map_err(map)
    }
}

/// A member of a consumer group on the embedded bus.
pub struct EmbeddedConsumer {
    db: Db,
    settings: BusSettings,
    group: String,
    member: String,
    /// Next offset to deliver, per owned partition (ahead of the committed offset
    /// while delivered events are being worked on).
    positions: HashMap<i32, i64>,
}

/// Heartbeats, rebalances, and returns the partitions this member holds now.
fn claim(
    c: &Connection,
    group: &str,
    member: &str,
    settings: BusSettings,
) -> rusqlite::Result<Vec<i32>> {
    let now = now_ms();
    let expires = now + i64::try_from(settings.session_timeout.as_millis()).unwrap_or(i64::MAX);
    let n = partitions(c, settings.partitions)?;
    c.prepare_cached(
        "INSERT INTO bus_members (grp, member, expires_at) VALUES (?1, ?2, ?3)
         ON CONFLICT(grp, member) DO UPDATE SET expires_at = excluded.expires_at",
    )?
    .execute(params![group, member, expires])?;
    c.prepare_cached("DELETE FROM bus_members WHERE grp = ?1 AND expires_at < ?2")?
        .execute(params![group, now])?;
    let members: Vec<String> = c
        .prepare_cached("SELECT member FROM bus_members WHERE grp = ?1 ORDER BY member")?
        .query_map(params![group], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let me = members.iter().position(|m| m == member).unwrap_or(0);
    let mut held = Vec::new();
    for p in 0..n {
        let mine = usize::try_from(p).unwrap_or(0) % members.len().max(1) == me;
        if mine {
            let got = c
                .prepare_cached(
                    "INSERT INTO bus_leases (grp, partition, member, expires_at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT(grp, partition) DO UPDATE SET member = excluded.member,
                       expires_at = excluded.expires_at
                     WHERE bus_leases.member = excluded.member OR bus_leases.expires_at < ?5",
                )?
                .execute(params![group, p, member, expires, now])?;
            if got > 0 {
                held.push(p);
            }
        } else {
            c.prepare_cached(
                "DELETE FROM bus_leases WHERE grp = ?1 AND partition = ?2 AND member = ?3",
            )?
            .execute(params![group, p, member])?;
        }
    }
    Ok(held)
}

/// Up to `max` events of the partitions `held`, each from its offset in `start`,
/// shared out between the partitions that have some (a batch then covers orders stored
/// together, rather than the orders of one partition spread over the whole store).
fn read_log(
    c: &Connection,
    held: &[i32],
    start: &HashMap<i32, i64>,
    max: usize,
) -> rusqlite::Result<Vec<Delivered>> {
    let mut q = c.prepare_cached(
        "SELECT offset, key, payload, enc FROM bus_events
         WHERE partition = ?1 AND offset >= ?2 ORDER BY offset LIMIT ?3",
    )?;
    let mut next: HashMap<i32, i64> = held.iter().map(|p| (*p, start[p])).collect();
    let mut active = held.to_vec();
    let mut out = Vec::new();
    while out.len() < max && !active.is_empty() {
        let share = ((max - out.len()) / active.len()).max(1);
        let mut more = Vec::with_capacity(active.len());
        for &p in &active {
            let want = share.min(max - out.len());
            if want == 0 {
                break;
            }
            let before = out.len();
            let rows = q.query_map(
                params![p, next[&p], i64::try_from(want).unwrap_or(i64::MAX)],
                |r| {
                    let payload: String = r.get(2)?;
                    let (payload, order) = if r.get::<_, i64>(3)? == ENC_COMPACT {
                        codec::expand_order(&payload).ok_or_else(|| {
                            rusqlite::Error::FromSqlConversionFailure(
                                2,
                                rusqlite::types::Type::Text,
                                "an order event in the log is not in its compact form".into(),
                            )
                        })?
                    } else {
                        (payload, None)
                    };
                    Ok(Delivered {
                        partition: p,
                        offset: r.get(0)?,
                        key: r.get(1)?,
                        payload,
                        order,
                    })
                },
            )?;
            for d in rows {
                out.push(d?);
            }
            if let Some(last) = out[before..].last() {
                next.insert(p, last.offset + 1);
            }
            if out.len() - before == want {
                more.push(p);
            }
        }
        active = more;
    }
    Ok(out)
}

impl EmbeddedConsumer {
    async fn try_poll(&mut self, max: usize) -> Result<Vec<Delivered>, BusError> {
        let (group, member, settings) = (self.group.clone(), self.member.clone(), self.settings);
        let positions = self.positions.clone();
        let (held, events) = self
            .db
            .call(move |c| {
                let held = write(c, |c| claim(c, &group, &member, settings))?;
                let mut start = HashMap::new();
                for &p in &held {
                    let from = match positions.get(&p) {
                        Some(&o) => o,
                        None => c
                            .prepare_cached(
                                "SELECT next_offset FROM bus_offsets WHERE grp = ?1 AND partition = ?2",
                            )?
                            .query_row(params![group, p], |r| r.get(0))
                            .optional()?
                            .unwrap_or(0),
                    };
                    start.insert(p, from);
                }
                let out = read_log(c, &held, &start, max)?;
                Ok::<_, rusqlite::Error>((start, out))
            })
            .await
            .map_err(map)?;
        // Forget partitions no longer held; remember where each held one is.
        self.positions.retain(|p, _| held.contains_key(p));
        for (p, o) in held {
            self.positions.entry(p).or_insert(o);
        }
        for d in &events {
            self.positions.insert(d.partition, d.offset + 1);
        }
        Ok(events)
    }
}

#[async_trait]
impl Consumer for EmbeddedConsumer {
    async fn poll(&mut self, max: usize, wait: Duration) -> Result<Vec<Delivered>, BusError> {
        let deadline = Instant::now() + wait;
        loop {
            let got = self.try_poll(max.max(1)).await?;
            if !got.is_empty() {
                return Ok(got);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(got);
            }
            tokio::time::sleep(left.min(POLL_EVERY)).await;
        }
    }

    async fn commit(&mut self, events: &[Delivered]) -> Result<(), BusError> {
        let mut upto: HashMap<i32, i64> = HashMap::new();
        for d in events {
            let e = upto.entry(d.partition).or_insert(d.offset + 1);
            *e = (*e).max(d.offset + 1);
        }
        if upto.is_empty() {
            return Ok(());
        }
        let (group, member) = (self.group.clone(), self.member.clone());
        let result = self
            .db
            .call(move |c| {
                write(c, |c| {
                    for (&p, &next) in &upto {
                        let owner: Option<String> = c
                            .prepare_cached(
                                "SELECT member FROM bus_leases WHERE grp = ?1 AND partition = ?2",
                            )?
                            .query_row(params![group, p], |r| r.get(0))
                            .optional()?;
                        if owner.as_deref() != Some(member.as_str()) {
                            return Ok(Err(p));
                        }
                        c.prepare_cached(
                            "INSERT INTO bus_offsets (grp, partition, next_offset) VALUES (?1, ?2, ?3)
                             ON CONFLICT(grp, partition) DO UPDATE
                             SET next_offset = MAX(next_offset, excluded.next_offset)",
                        )?
                        .execute(params![group, p, next])?;
                    }
                    Ok::<_, rusqlite::Error>(Ok(()))
                })
            })
            .await
            .map_err(map)?;
        result.map_err(|p| {
            self.positions.remove(&p);
            BusError::Rebalanced(p)
        })
    }

    async fn close(&mut self) {
        let (group, member) = (self.group.clone(), self.member.clone());
        let _ = self
            .db
            .call(move |c| {
                write(c, |c| {
                    c.execute(
                        "DELETE FROM bus_leases WHERE grp = ?1 AND member = ?2",
                        params![group, member],
                    )?;
                    c.execute(
                        "DELETE FROM bus_members WHERE grp = ?1 AND member = ?2",
                        params![group, member],
                    )
                })
            })
            .await;
        self.positions.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::partition_of;

    #[test]
    fn a_key_always_maps_to_the_same_partition() {
        assert_eq!(partition_of("1/1011", 4), partition_of("1/1011", 4));
        let spread: std::collections::HashSet<_> = (0..100)
            .map(|i| partition_of(&format!("1/{i}"), 4))
            .collect();
        assert_eq!(spread.len(), 4);
        assert_eq!(partition_of("x", 1), 0);
    }
}
