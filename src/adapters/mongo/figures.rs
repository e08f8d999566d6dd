//! What `oms status` and short job ids ask of the store: jobs changed since a time by
//! state, orders by status and reason (one aggregation each), the latest failed jobs,
//! and job ids by their start (an anchored prefix query on `_id`, served by its index).

use super::MongoStore;
use super::dates::date_ceil;
use super::decode::{bson_text, read_job, unreadable};
use super::encode::limit_of;
use super::errors::Bounded;
use super::schema::{JOBS, ORDERS};
use crate::domain::{Job, JobState, Status};
use crate::ports::{Detail, StoreError};
use mongodb::bson::{Bson, Document, Regex, doc};
use std::collections::BTreeMap;

/// `s` as a regular expression that matches exactly its own text.
fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\^$.|?*+()[]{}-/#&~ ".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The regular expression of the ids that start with `prefix`.
pub(super) fn prefix_regex(prefix: &str) -> Regex {
    Regex {
        pattern: format!("^{}", regex_escape(prefix)),
        options: String::new(),
    }
}

/// A count of an aggregation's result (`n`), whatever number type the server chose.
fn count_of(d: &Document, collection: &str) -> Result<u64, StoreError> {
    match d.get("n") {
        Some(Bson::Int32(n)) => u64::try_from(*n).ok(),
        Some(Bson::Int64(n)) => u64::try_from(*n).ok(),
        _ => None,
    }
    .ok_or_else(|| unreadable(collection, d, "the count n is not a whole number"))
}

impl MongoStore {
    /// The ids of the jobs whose id starts with `prefix`, in id order, at most `limit`.
    pub(super) async fn jobs_by_prefix(
        &self,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let cursor = self
            .jobs
            .find(doc! { "_id": { "$regex": prefix_regex(prefix) } })
            .sort(doc! { "_id": 1 })
            .limit(limit_of(limit))
            .projection(doc! { "_id": 1 })
            .bounded()
            .await
            .map_err(|e| self.map("find jobs by prefix", e))?;
        self.collect("find jobs by prefix", cursor)
            .await?
            .iter()
            .map(|d| {
                d.get("_id")
                    .and_then(bson_text)
                    .ok_or_else(|| unreadable(JOBS, d, "_id is not a text"))
            })
            .collect()
    }

    /// Jobs by state whose last change (or creation, when never changed) is at or
    /// after `since`.
    pub(super) async fn jobs_changed_since(
        &self,
        since: &str,
    ) -> Result<Vec<(JobState, u64)>, StoreError> {
        let since =
            date_ceil(since).map_err(|e| StoreError::Other(Detail::from(format!("since: {e}"))))?;
        let pipeline = [
            doc! { "$match": { "$or": [
                { "updated_at": { "$gte": since } },
                { "updated_at": { "$exists": false }, "created_at": { "$gte": since } },
            ] } },
            doc! { "$group": { "_id": "$state", "n": { "$sum": 1 } } },
            doc! { "$sort": { "_id": 1 } },
        ];
        let what = "count jobs changed since";
        let cursor = self
            .jobs
            .aggregate(pipeline)
            .bounded()
            .await
            .map_err(|e| self.map(what, e))?;
        self.collect(what, cursor)
            .await?
            .iter()
            .map(|d| {
                let state = d
                    .get_str("_id")
                    .ok()
                    .and_then(|s| s.parse::<JobState>().ok())
                    .ok_or_else(|| unreadable(JOBS, d, "a job's state is unknown"))?;
                Ok((state, count_of(d, JOBS)?))
            })
            .collect()
    }

    /// Orders by status and reason (a missing reason counts as none).
    pub(super) async fn orders_by_status_and_reason(
        &self,
    ) -> Result<Vec<(Status, Option<String>, u64)>, StoreError> {
        let pipeline = [
            doc! { "$group": {
                "_id": { "status": "$status", "reason": { "$ifNull": ["$reason", null] } },
                "n": { "$sum": 1 },
            } },
            doc! { "$sort": { "_id.status": 1, "_id.reason": 1 } },
        ];
        let what = "count orders by status and reason";
        let cursor = self
            .orders
            .aggregate(pipeline)
            .bounded()
            .await
            .map_err(|e| self.map(what, e))?;
        let mut out: BTreeMap<(&'static str, Option<String>), (Status, u64)> = BTreeMap::new();
        for d in self.collect(what, cursor).await? {
            let key = d.get_document("_id").ok();
            let status = key
                .and_then(|k| k.get_str("status").ok())
                .and_then(|s| s.parse::<Status>().ok())
                .ok_or_else(|| unreadable(ORDERS, &d, "an order's status is unknown"))?;
            let reason = match key.and_then(|k| k.get("reason")) {
                None | Some(Bson::Null) => None,
                Some(Bson::String(r)) => Some(r.clone()),
                Some(_) => return Err(unreadable(ORDERS, &d, "an order's reason is not a text")),
            };
            let n = count_of(&d, ORDERS)?;
            out.entry((status.as_str(), reason))
                .or_insert((status, 0))
                .1 += n;
        }
        Ok(out
            .into_iter()
            .map(|((_, reason), (status, n))| (status, reason, n))
            .collect())
    }

    /// The `limit` jobs with an error that changed last, the latest first (rejects
    /// not read).
    pub(super) async fn latest_job_errors(&self, limit: usize) -> Result<Vec<Job>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let cursor = self
            .jobs
            .find(doc! { "error": { "$ne": null } })
            .sort(doc! { "updated_at": -1, "_id": 1 })
            .limit(limit_of(limit))
            .bounded()
            .await
            .map_err(|e| self.map("read job errors", e))?;
        self.collect("read job errors", cursor)
            .await?
            .iter()
            .map(read_job)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_matches_only_its_own_text() {
        assert_eq!(prefix_regex("6f1c2a3b").pattern, "^6f1c2a3b");
        assert_eq!(prefix_regex("a.b*(c)").pattern, "^a\\.b\\*\\(c\\)");
        assert_eq!(prefix_regex("x-1\\").pattern, "^x\\-1\\\\");
        assert_eq!(prefix_regex("").pattern, "^");
    }
}
