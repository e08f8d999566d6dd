//! The domain: ids, orders, statuses, the job lifecycle, the order event, the
//! bulk-order request and the order-file rules. Pure values and functions; no I/O, no
//! clap, no backends.

pub mod access;
pub mod event;
pub mod ids;
pub mod job;
pub mod order;
pub mod orders_file;
pub mod request;
pub mod secret;
pub mod stock_file;
pub mod timestamp;
pub mod wms_contract;

pub use event::OrderEvent;
pub use ids::{FieldError, HubId, OrderId, Quantity, SellerId, SkuId};
pub use job::{Job, JobCounts, JobState, TransitionError};
pub use order::{
    NewOrder, Order, OrderItem, OrderKey, Outcome, REASON_INSUFFICIENT_INVENTORY, Reject, Status,
    StatusChange,
};
pub use orders_file::{
    COLUMNS, FileError, ParsedFile, check_header, parse_orders, parse_orders_until,
};
pub use request::{BulkOrderRequest, RequestError, SellerField};
