//! HTTP servers: the bulkorder API (`oms serve`) and the reference warehouse
//! (`oms wms serve`), and what both share to be secure by default (`guard`).

pub mod api;
pub mod guard;
pub mod wms;
