//! HTTP servers: the bulkorder API (`oms serve`) and the reference warehouse
//! (`oms wms serve`), and what both share to be secure by default (`guard`); the
//! API's seller-scoped tokens file on disk (`tokens`).

pub mod api;
pub mod guard;
pub mod tokens;
pub mod wms;
