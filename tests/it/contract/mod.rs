//! The port contract suite: what every adapter of each port must do, one file per port
//! (`queue`, `bus`, `store`, `warehouse`, `uow`, `files`), each test run on every adapter of
//! its port.
//!
//! A test is written once, in its port's file, as
//!
//! ```ignore
//! queue_test!(ack_deletes_the_message, async |f| {
//!     let q = f.queue().await;
//!     ...
//! });
//! ```
//!
//! where `f` is a *fixture*: a small trait ([`QueueFixture`], [`BusFixture`], ...) that
//! hands out clients of one backend under test, every call a new client with its own
//! connection, as another `oms` process would have. The port's macro (`queue_test!`)
//! holds the one list of that port's adapters, and expands every test into a module
//! named after the test with one `#[tokio::test]` per adapter
//! (`contract::queue::ack_deletes_the_message::sqs`), each on a fresh, empty backend.
//! So no test can be left off an adapter, and adding an adapter is one fixture file in
//! `crate::adapters` plus one line in the list of each port it implements.
//!
//! Each line of a list names the adapter and the async fn that starts its fixture:
//! `Some(fixture)`, or `None` to skip the test when the backend is not configured (a
//! real service without its variables; see `crate::support::service_env`). A fixture
//! configures its adapter with the settings below ([`VISIBILITY`], [`MAX_RECEIVES`],
//! [`SESSION`], [`PARTITIONS`]), or says which it uses instead
//! (`QueueFixture::visibility`, `BusFixture::session`, ...); the tests time by those.

use async_trait::async_trait;
use oms::ports::{EventBus, JobQueue, OrderStore, UnitOfWork, Warehouse};
use std::sync::Arc;
use std::time::Duration;

// ---------------------------------------------------------------------------------------
// Running a test on every adapter
// ---------------------------------------------------------------------------------------

/// Runs one test on the fixture `start` gives, or skips it (returns) when `start`
/// gives `None`.
pub async fn run<F>(start: impl AsyncFnOnce() -> Option<F>, test: impl AsyncFnOnce(&F)) {
    let Some(fixture) = start().await else {
        return;
    };
    test(&fixture).await;
}

/// `contract_test!(name, async |f| { ... }, { adapter: start, ... })`: the module
/// `name` with one `#[tokio::test]` per adapter, each running the test on a fresh
/// fixture from the adapter's `start` (an async fn giving `Option<fixture>`). Each
/// port's file wraps it in a macro holding its list of adapters (`queue_test!`, ...).
macro_rules! contract_test {
    ($name:ident, $test:expr, { $($adapter:ident: $start:path),+ $(,)? }) => {
        mod $name {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $adapter() {
                    crate::contract::run($start, $test).await;
                }
            )+
        }
    };
}

mod bus;
pub mod files;
mod queue;
mod store;
mod uow;
mod warehouse;

// ---------------------------------------------------------------------------------------
// Settings every adapter under test is built with
// ---------------------------------------------------------------------------------------

/// Queue visibility timeout.
pub const VISIBILITY: Duration = Duration::from_millis(400);
/// A message received this many times and not acknowledged is dead-lettered on the next
/// receive.
pub const MAX_RECEIVES: u32 = 3;
/// Bus consumer session timeout: a member silent for this long loses its partitions.
pub const SESSION: Duration = Duration::from_millis(500);
/// Partitions of the bus log.
pub const PARTITIONS: i32 = 4;
/// Added to a timeout before expecting it to have run out.
pub const SLACK: Duration = Duration::from_millis(250);
/// The longest any single "eventually" in the suites waits.
pub const PATIENCE: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------
// Fixtures: how a suite gets clients of the backend under test
// ---------------------------------------------------------------------------------------

/// One queue backend under test.
#[async_trait]
pub trait QueueFixture: Send + Sync {
    /// A new client of the queue (its own connection), configured with [`VISIBILITY`]
    /// and [`MAX_RECEIVES`].
    async fn queue(&self) -> Arc<dyn JobQueue>;
    /// The visibility timeout the fixture's queues use (SQS counts whole seconds).
    fn visibility(&self) -> Duration {
        VISIBILITY
    }
    /// The receives before dead-lettering the fixture's queues use.
    fn max_receives(&self) -> u32 {
        MAX_RECEIVES
    }
}

/// One event-bus backend under test.
#[async_trait]
pub trait BusFixture: Send + Sync {
    /// A new client of the bus (its own connection), configured with [`SESSION`] and
    /// [`PARTITIONS`].
    async fn bus(&self) -> Arc<dyn EventBus>;
    /// The consumer session timeout the fixture's buses use (brokers have minimums).
    fn session(&self) -> Duration {
        SESSION
    }
}

/// One order-store backend under test.
#[async_trait]
pub trait StoreFixture: Send + Sync {
    /// A new client of the store (its own connection).
    async fn store(&self) -> Arc<dyn OrderStore>;
}

/// One warehouse under test, plus the out-of-band stock handling the port itself does
/// not offer (an HTTP WMS would seed and read stock through its admin API).
#[async_trait]
pub trait WarehouseFixture: Send + Sync {
    /// A new client of the warehouse (its own connection).
    async fn warehouse(&self) -> Arc<dyn Warehouse>;
    /// Sets the stock of each `(hub, sku, quantity)`.
    async fn set_stock(&self, lines: &[(&str, &str, i64)]);
    /// The stock of `(hub, sku)`, `None` when the warehouse does not know the pair.
    async fn stock(&self, hub: &str, sku: &str) -> Option<i64>;
}

/// Clients of store, bus and warehouse that share one transaction through `uow`.
pub struct Shared {
    pub uow: Arc<dyn UnitOfWork>,
    pub store: Arc<dyn OrderStore>,
    pub bus: Arc<dyn EventBus>,
    pub wms: Arc<dyn Warehouse>,
}

/// A backend whose store, bus and warehouse can commit together (the embedded one).
/// The fixture's other clients, and its stock reads, must not be blocked by an open
/// unit of work.
#[async_trait]
pub trait UnitOfWorkFixture: StoreFixture + BusFixture + WarehouseFixture {
    /// New clients sharing one connection and its unit of work.
    async fn shared(&self) -> Shared;
}
