//! The store check: the embedded store's counts; MongoDB reachable, its collections
//! and indexes.

use super::embedded::{embedded_port, timed_out};
use super::{CHECK_TIMEOUT, Check, REQUEST_TIMEOUT, bounded, hosts};
use crate::adapters::embedded::{Contents, Db};
use crate::adapters::mongo::{MongoCause, MongoInspection, MongoStore};
use crate::config::{Config, StoreChoice};

/// The `store` check of `config`'s order store (`db`: the embedded database, when it
/// opened).
pub async fn check(config: &Config, db: Option<Db>) -> Check {
    const NAME: &str = "store";
    match &config.store_backend {
        StoreChoice::Embedded => {
            let ask = |db: Db| async move { db.contents().await };
            let pass = |c: Contents| {
                Check::pass(
                    NAME,
                    format!("embedded: {} orders, {} jobs", c.orders, c.jobs),
                )
            };
            embedded_port(NAME, db, ask, pass).await
        }
        StoreChoice::Mongo { uri, database } => {
            let what = format!("mongodb {database} at {}", hosts(&uri.0));
            let (uri, database) = (uri.0.clone(), database.clone());
            let w = what.clone();
            match bounded(CHECK_TIMEOUT, move || mongo(uri, database, w)).await {
                Ok(c) => c,
                Err(why) => timed_out(NAME, &what, &why, &mongo_unreachable_fix()),
            }
        }
    }
}

fn mongo_unreachable_fix() -> String {
    "start MongoDB, or correct OMS_MONGODB_URI (host, port, credentials, \
     authSource/replicaSet options)"
        .into()
}

fn missing_text(m: &MongoInspection) -> String {
    let mut parts = Vec::new();
    if !m.missing_collections.is_empty() {
        parts.push(format!("collections {}", m.missing_collections.join(", ")));
    }
    if !m.missing_indexes.is_empty() {
        let names: Vec<String> = m.missing_indexes.iter().map(ToString::to_string).collect();
        parts.push(format!("indexes {}", names.join(", ")));
    }
    parts.join("; ")
}

/// MongoDB answers, and its collections and indexes are there (created when missing, as
/// every `oms` command does on connecting).
async fn mongo(uri: String, database: String, what: String) -> Check {
    const NAME: &str = "store";
    let before = match MongoStore::inspect(&uri, &database, REQUEST_TIMEOUT).await {
        Ok(m) => m,
        Err(e) => {
            let fix = if MongoCause::of(&e).is_some_and(MongoCause::refused_credentials) {
                "correct the user and password of OMS_MONGODB_URI (and authSource), and grant \
                 the user readWrite and createIndex on the database"
                    .to_owned()
            } else {
                mongo_unreachable_fix()
            };
            return Check::fail(NAME, format!("{what}: {e}"), fix);
        }
    };
    let unique_fix = |names: &[String]| {
        format!(
            "drop the non-unique index on {} (db.orders.dropIndex({{seller_id: 1, order_id: \
             1}})) after removing duplicate (seller_id, order_id) orders, then run `oms doctor` \
             again to create it unique",
            names.join(", ")
        )
    };
    if !before.not_unique.is_empty() {
        let names: Vec<String> = before
            .not_unique
            .iter()
            .map(|i| i.to_string().trim_end_matches(" unique").to_owned())
            .collect();
        return Check::fail(
            NAME,
            format!(
                "{what}: the index {} is not unique: the same order could be stored twice",
                names.join(", ")
            ),
            unique_fix(&names),
        );
    }
    if before.complete() {
        return Check::pass(
            NAME,
            format!(
                "{what}: reachable; collections orders, jobs, job_rejects, the unique \
                 (seller_id, order_id) index and every filter index present"
            ),
        );
    }
    let missing = missing_text(&before);
    if let Err(e) = MongoStore::connect(&uri, &database).await {
        let fix = if MongoCause::of(&e).is_some_and(MongoCause::duplicate_key) {
            "remove the orders stored twice under one (seller_id, order_id), then run `oms \
             doctor` again to create the unique index"
                .to_owned()
        } else {
            "grant the user createIndex on the database (or create the indexes listed \
             above), then run `oms doctor` again"
                .to_owned()
        };
        return Check::fail(
            NAME,
            format!("{what}: missing {missing}, and they cannot be created: {e}"),
            fix,
        );
    }
    match MongoStore::inspect(&uri, &database, REQUEST_TIMEOUT).await {
        Ok(after) if after.complete() => Check::pass(
            NAME,
            format!(
                "{what}: reachable; were missing, created now: {missing}; the unique \
                 (seller_id, order_id) index and every filter index present"
            ),
        ),
        Ok(after) => {
            let names: Vec<String> = after
                .not_unique
                .iter()
                .map(|i| i.to_string().trim_end_matches(" unique").to_owned())
                .collect();
            let still = missing_text(&after);
            Check::fail(
                NAME,
                format!(
                    "{what}: still missing after creating them: {still}{}",
                    if names.is_empty() {
                        String::new()
                    } else {
                        format!("; not unique: {}", names.join(", "))
                    }
                ),
                "the server did not keep the indexes oms creates: check that it supports \
                 (unique) compound indexes, and create them by hand",
            )
        }
        Err(e) => Check::fail(NAME, format!("{what}: {e}"), mongo_unreachable_fix()),
    }
}
