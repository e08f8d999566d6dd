//! What `oms doctor` asks of the MongoDB store: whether the server answers, and which
//! of the collections and indexes [`MongoStore::connect`] creates are there. Why a call
//! failed (refused credentials, duplicate keys) is told by the error's
//! [`MongoCause`](super::MongoCause).

use super::decode::bson_int;
use super::errors::ErrorMap;
use super::schema::{COLLECTIONS, INDEXES, IndexSpec};
use super::{MongoStore, client};
use crate::ports::StoreError;
use mongodb::bson::{Document, doc};

/// What [`MongoStore::inspect`] found missing (all empty: everything is there).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MongoInspection {
    /// Collections that do not exist (their indexes are missing too).
    pub missing_collections: Vec<&'static str>,
    /// Indexes that do not exist.
    pub missing_indexes: Vec<&'static IndexSpec>,
    /// Indexes on the right fields that should be unique and are not.
    pub not_unique: Vec<&'static IndexSpec>,
}

impl MongoInspection {
    /// Whether every collection and index is there, unique where it should be.
    #[must_use]
    pub fn complete(&self) -> bool {
        self.missing_collections.is_empty()
            && self.missing_indexes.is_empty()
            && self.not_unique.is_empty()
    }
}

/// The fields and directions of an index's key document.
fn index_fields(keys: &Document) -> Vec<(String, i64)> {
    keys.iter()
        .map(|(k, v)| (k.clone(), bson_int(v).unwrap_or(0)))
        .collect()
}

impl MongoStore {
    /// Reads, without changing anything, whether the server answers and which of the
    /// collections and indexes [`MongoStore::connect`] creates are there (for
    /// `oms doctor`). Waits at most `timeout` for a server.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no server answers, [`StoreError::Other`].
    pub async fn inspect(
        uri: &str,
        database: &str,
        timeout: std::time::Duration,
    ) -> Result<MongoInspection, StoreError> {
        let errors = ErrorMap::for_uri(uri);
        let client = client(uri, "oms-doctor", Some(timeout), &errors).await?;
        let db = client.database(database);
        db.run_command(doc! { "ping": 1 })
            .await
            .map_err(|e| errors.map("ping", e))?;
        let names = db
            .list_collection_names()
            .await
            .map_err(|e| errors.map("list collections", e))?;
        let mut found = MongoInspection::default();
        for name in COLLECTIONS {
            if !names.iter().any(|n| n == name) {
                found.missing_collections.push(name);
                found
                    .missing_indexes
                    .extend(INDEXES.iter().filter(|i| i.collection == name));
                continue;
            }
            let mut cursor = db
                .collection::<Document>(name)
                .list_indexes()
                .await
                .map_err(|e| errors.map(&format!("list indexes of {name}"), e))?;
            let mut present = Vec::new();
            while cursor
                .advance()
                .await
                .map_err(|e| errors.map(&format!("list indexes of {name}"), e))?
            {
                let model = cursor
                    .deserialize_current()
                    .map_err(|e| errors.map(&format!("list indexes of {name}"), e))?;
                let unique = model
                    .options
                    .as_ref()
                    .and_then(|o| o.unique)
                    .unwrap_or(false);
                present.push((index_fields(&model.keys), unique));
            }
            for want in INDEXES.iter().filter(|i| i.collection == name) {
                let fields: Vec<(String, i64)> = want
                    .fields
                    .iter()
                    .map(|(f, d)| ((*f).to_owned(), i64::from(*d)))
                    .collect();
                match present.iter().find(|(p, _)| *p == fields) {
                    Some((_, unique)) if *unique || !want.unique => {}
                    Some(_) => found.not_unique.push(want),
                    None => found.missing_indexes.push(want),
                }
            }
        }
        Ok(found)
    }
}
