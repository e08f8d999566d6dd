//! The embedded default: every port in one SQLite file under the data dir, safe for
//! several `oms` processes at once (WAL mode, immediate write transactions).
//!
//! The bus, the store and the warehouse share one connection, so the [`Db`] is also
//! their unit of work: fulfil's reservation, status change and offset commit (and
//! ingest's orders, events and job record) commit as one transaction. The queue has a
//! connection of its own, so extending a message's visibility never waits for, or
//! joins, that transaction.
//!
//! - [`db`]: the connection and SQLite's errors; `schema`: the tables and their
//!   versions; `tx`: atomic writes and the unit of work; `codec`: the compact form of
//!   order events in the log.
//! - [`queue`], [`bus`], [`store`], [`wms`]: one port each.
//! - [`inspect`]: what `oms doctor` asks of the database.

pub mod bus;
mod codec;
pub mod db;
pub mod inspect;
pub mod queue;
mod schema;
pub mod store;
mod tx;
pub mod wms;

pub use bus::{BusSettings, EmbeddedBus};
pub use db::Db;
pub use inspect::{Contents, InspectError, Inspection};
pub use queue::{EmbeddedQueue, QueueSettings};
pub use store::EmbeddedStore;
pub use wms::{EmbeddedWarehouse, StockSummary};
