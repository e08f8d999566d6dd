//! HTTP servers: the bulkorder API (`oms serve`) and the reference warehouse
//! (`oms wms serve`).

pub mod api;
pub mod wms;
