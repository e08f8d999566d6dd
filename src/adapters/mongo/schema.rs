//! The store's schema: its three collections and the indexes [`MongoStore::connect`]
//! creates on them (the unique key, one behind every `orders ls` filter, and those of
//! both sorts).

use super::MongoStore;
use super::errors::Bounded;
use crate::ports::StoreError;
use mongodb::IndexModel;
use mongodb::bson::{Bson, Document};
use mongodb::options::IndexOptions;
use std::fmt;

/// The collection of orders.
pub(super) const ORDERS: &str = "orders";
/// The collection of jobs.
pub(super) const JOBS: &str = "jobs";
/// The collection of the jobs' rejects.
pub(super) const JOB_REJECTS: &str = "job_rejects";
/// Every collection of the store.
pub(super) const COLLECTIONS: [&str; 3] = [ORDERS, JOBS, JOB_REJECTS];

/// One index [`MongoStore::connect`] creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexSpec {
    /// The collection the index is on.
    pub collection: &'static str,
    /// Fields and directions, in order.
    pub fields: &'static [(&'static str, i32)],
    /// Whether the index refuses two documents with the same key.
    pub unique: bool,
}

impl IndexSpec {
    /// The key document of the index.
    fn keys(&self) -> Document {
        self.fields
            .iter()
            .map(|(f, d)| ((*f).to_owned(), Bson::Int32(*d)))
            .collect()
    }
}

impl fmt::Display for IndexSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fields: Vec<String> = self
            .fields
            .iter()
            .map(|(name, d)| {
                if *d < 0 {
                    format!("{name} desc")
                } else {
                    (*name).to_owned()
                }
            })
            .collect();
        write!(f, "{}({})", self.collection, fields.join(", "))?;
        if self.unique {
            f.write_str(" unique")?;
        }
        Ok(())
    }
}

/// The indexes of the store: the unique key, one behind every `orders ls` filter, and
/// those of both sorts.
pub(super) const INDEXES: &[IndexSpec] = &[
    IndexSpec {
        collection: ORDERS,
        fields: &[("seller_id", 1), ("order_id", 1)],
        unique: true,
    },
    IndexSpec {
        collection: ORDERS,
        fields: &[("status", 1), ("created_at", 1)],
        unique: false,
    },
    IndexSpec {
        collection: ORDERS,
        fields: &[("job_id", 1)],
        unique: false,
    },
    // Backs `since` and the listing order (created_at, seller_id, order_id).
    IndexSpec {
        collection: ORDERS,
        fields: &[("created_at", 1), ("seller_id", 1), ("order_id", 1)],
        unique: false,
    },
    IndexSpec {
        collection: ORDERS,
        fields: &[("items.hub_id", 1)],
        unique: false,
    },
    IndexSpec {
        collection: JOBS,
        fields: &[("created_at", -1), ("_id", 1)],
        unique: false,
    },
    IndexSpec {
        collection: JOB_REJECTS,
        fields: &[("job_id", 1), ("seq", 1)],
        unique: false,
    },
];

impl MongoStore {
    /// Creates every index of [`INDEXES`] that is missing (with its collection).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no server answers, [`StoreError::Other`] (a
    /// unique index over documents that repeat its key, a user without createIndex).
    pub(super) async fn create_indexes(&self) -> Result<(), StoreError> {
        for (name, collection) in [
            (ORDERS, &self.orders),
            (JOBS, &self.jobs),
            (JOB_REJECTS, &self.rejects),
        ] {
            let models = INDEXES.iter().filter(|i| i.collection == name).map(|i| {
                IndexModel::builder()
                    .keys(i.keys())
                    .options(
                        i.unique
                            .then(|| IndexOptions::builder().unique(true).build()),
                    )
                    .build()
            });
            collection
                .create_indexes(models)
                .bounded()
                .await
                .map_err(|e| self.map(&format!("create indexes of {name}"), e))?;
        }
        Ok(())
    }
}
