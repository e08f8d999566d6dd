//! The port contract suite (tests/suite) run against the embedded (SQLite) adapters,
//! each test with its own temporary data dir.

#[macro_use]
mod suite;

use async_trait::async_trait;
use oms::adapters::embedded::{
    BusSettings, Db, EmbeddedBus, EmbeddedQueue, EmbeddedStore, EmbeddedWarehouse, QueueSettings,
};
use oms::ports::{EventBus, JobQueue, OrderStore, Warehouse};
use std::sync::Arc;
use suite::*;

// ---------------------------------------------------------------------------------------
// The embedded (SQLite) adapters
// ---------------------------------------------------------------------------------------

/// A fresh embedded database in a temporary data dir. Every client gets its own
/// connection, as a separate `oms` process would; `admin` (opened first, so an open
/// unit of work never blocks it) loads and reads stock.
pub struct Embedded {
    dir: tempfile::TempDir,
    admin: EmbeddedWarehouse,
}

impl Embedded {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let admin = EmbeddedWarehouse::new(Db::open(dir.path()).expect("open db"));
        Self { dir, admin }
    }

    fn db(&self) -> Db {
        Db::open(self.dir.path()).expect("open db")
    }

    fn queue_settings() -> QueueSettings {
        QueueSettings {
            visibility_timeout: VISIBILITY,
            max_receives: MAX_RECEIVES,
        }
    }

    fn bus_settings() -> BusSettings {
        BusSettings {
            partitions: PARTITIONS,
            session_timeout: SESSION,
        }
    }
}

#[async_trait]
impl QueueFixture for Embedded {
    async fn queue(&self) -> Arc<dyn JobQueue> {
        Arc::new(EmbeddedQueue::new(self.db(), Self::queue_settings()))
    }
}

#[async_trait]
impl BusFixture for Embedded {
    async fn bus(&self) -> Arc<dyn EventBus> {
        Arc::new(EmbeddedBus::new(self.db(), Self::bus_settings()))
    }
}

#[async_trait]
impl StoreFixture for Embedded {
    async fn store(&self) -> Arc<dyn OrderStore> {
        Arc::new(EmbeddedStore::new(self.db()))
    }
}

#[async_trait]
impl WarehouseFixture for Embedded {
    async fn warehouse(&self) -> Arc<dyn Warehouse> {
        Arc::new(EmbeddedWarehouse::new(self.db()))
    }

    async fn set_stock(&self, lines: &[(&str, &str, i64)]) {
        load_stock(&self.admin, lines).await;
    }

    async fn stock(&self, hub: &str, sku: &str) -> Option<i64> {
        stock_of(&self.admin, hub, sku).await
    }
}

#[async_trait]
impl UnitOfWorkFixture for Embedded {
    async fn shared(&self) -> Shared {
        let db = self.db();
        Shared {
            uow: Arc::new(db.clone()),
            store: Arc::new(EmbeddedStore::new(db.clone())),
            bus: Arc::new(EmbeddedBus::new(db.clone(), Self::bus_settings())),
            wms: Arc::new(EmbeddedWarehouse::new(db)),
        }
    }
}

mod embedded {
    use super::*;

    queue_contract!(queue, || async { Some(Embedded::new()) });
    bus_contract!(bus, || async { Some(Embedded::new()) });
    store_contract!(store, || async { Some(Embedded::new()) });
    warehouse_contract!(warehouse, || async { Some(Embedded::new()) });
    uow_contract!(unit_of_work, || async { Some(Embedded::new()) });
}
