//! Contract fixture for the embedded (SQLite) adapters, which implement every port: each
//! test gets a fresh database in a temporary data dir. Also the stock helpers of an
//! embedded inventory, which the HTTP warehouse's fixture serves too.

use crate::contract::{
    BusFixture, MAX_RECEIVES, PARTITIONS, QueueFixture, SESSION, Shared, StoreFixture,
    UnitOfWorkFixture, VISIBILITY, WarehouseFixture,
};
use async_trait::async_trait;
use oms::adapters::embedded::{
    BusSettings, Db, EmbeddedBus, EmbeddedQueue, EmbeddedStore, EmbeddedWarehouse, QueueSettings,
};
use oms::domain::stock_file::Stock;
use oms::ports::{EventBus, Inventory, JobQueue, OrderStore, Warehouse};
use std::sync::Arc;

/// A fresh embedded database in a temporary data dir. Every client gets its own
/// connection, as a separate `oms` process would; `admin` (opened first, so an open
/// unit of work never blocks it) loads and reads stock.
pub struct Embedded {
    dir: tempfile::TempDir,
    admin: EmbeddedWarehouse,
}

impl Embedded {
    /// A fixture on a new, empty database; always available.
    pub async fn start() -> Option<Self> {
        let dir = tempfile::tempdir().expect("temp dir");
        let admin = EmbeddedWarehouse::new(Db::open(dir.path()).expect("open db"));
        Some(Self { dir, admin })
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

/// Sets the stock of each `(hub, sku, quantity)` through an embedded inventory.
pub async fn load_stock(inventory: &EmbeddedWarehouse, lines: &[(&str, &str, i64)]) {
    let lines = lines
        .iter()
        .map(|&(hub, sku, quantity)| Stock {
            hub_id: crate::support::hub_id(hub),
            sku_id: crate::support::sku_id(sku),
            quantity,
        })
        .collect();
    inventory.load(lines).await.expect("load stock");
}

/// The stock of `(hub, sku)` in an embedded inventory, `None` when it does not know it.
pub async fn stock_of(inventory: &EmbeddedWarehouse, hub: &str, sku: &str) -> Option<i64> {
    inventory
        .list()
        .await
        .expect("list stock")
        .into_iter()
        .find(|l| l.hub_id.as_str() == hub && l.sku_id.as_str() == sku)
        .map(|l| l.quantity)
}
