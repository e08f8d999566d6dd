//! The embedded database's schema: the tables of every port (queue, bus, store,
//! warehouse) in one SQLite file, created when missing each time the database opens.

/// Every table and index, created when missing.
pub(super) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS queue_messages (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    queue         TEXT    NOT NULL,
    body          TEXT    NOT NULL,
    visible_at    INTEGER NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    receipt       TEXT,
    sent_at       INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS queue_ready ON queue_messages(queue, visible_at, id);

CREATE TABLE IF NOT EXISTS bus_meta (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    partitions INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS bus_log (
    partition INTEGER NOT NULL,
    offset    INTEGER NOT NULL,
    key       TEXT    NOT NULL,
    payload   TEXT    NOT NULL,
    PRIMARY KEY (partition, offset)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bus_heads (
    partition   INTEGER PRIMARY KEY,
    next_offset INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS bus_offsets (
    grp         TEXT    NOT NULL,
    partition   INTEGER NOT NULL,
    next_offset INTEGER NOT NULL,
    PRIMARY KEY (grp, partition)
);
CREATE TABLE IF NOT EXISTS bus_members (
    grp        TEXT    NOT NULL,
    member     TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (grp, member)
);
CREATE TABLE IF NOT EXISTS bus_leases (
    grp        TEXT    NOT NULL,
    partition  INTEGER NOT NULL,
    member     TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (grp, partition)
);

CREATE TABLE IF NOT EXISTS orders (
    seller_id  TEXT NOT NULL,
    order_id   TEXT NOT NULL,
    status     TEXT NOT NULL,
    reason     TEXT,
    items      TEXT NOT NULL,
    job_id     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (seller_id, order_id)
);
CREATE INDEX IF NOT EXISTS orders_status ON orders(status, created_at);
CREATE INDEX IF NOT EXISTS orders_job ON orders(job_id);
CREATE INDEX IF NOT EXISTS orders_created ON orders(created_at);
CREATE TABLE IF NOT EXISTS order_history (
    seller_id TEXT NOT NULL,
    order_id  TEXT NOT NULL,
    status    TEXT NOT NULL,
    reason    TEXT,
    at        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS order_history_key ON order_history(seller_id, order_id);

CREATE TABLE IF NOT EXISTS jobs (
    job_id           TEXT PRIMARY KEY,
    seller_id        TEXT NOT NULL,
    file_path        TEXT NOT NULL,
    sha256           TEXT,
    state            TEXT NOT NULL,
    error            TEXT,
    rows             INTEGER NOT NULL DEFAULT 0,
    orders_accepted  INTEGER NOT NULL DEFAULT 0,
    orders_rejected  INTEGER NOT NULL DEFAULT 0,
    orders_duplicate INTEGER NOT NULL DEFAULT 0,
    warnings         INTEGER NOT NULL DEFAULT 0,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_created ON jobs(created_at);
CREATE TABLE IF NOT EXISTS job_rejects (
    job_id   TEXT    NOT NULL,
    seq      INTEGER NOT NULL,
    row      INTEGER,
    order_id TEXT,
    col      TEXT,
    reason   TEXT    NOT NULL,
    PRIMARY KEY (job_id, seq)
);
-- The seller's name of a file uploaded at submit (the job's file_path is then its URI).
CREATE TABLE IF NOT EXISTS job_sources (
    job_id      TEXT PRIMARY KEY,
    source_file TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS inventory (
    hub_id   TEXT    NOT NULL,
    sku_id   TEXT    NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity >= 0),
    PRIMARY KEY (hub_id, sku_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS inventory_sku ON inventory(sku_id);
CREATE TABLE IF NOT EXISTS reservations (
    seller_id TEXT NOT NULL,
    order_id  TEXT NOT NULL,
    items     TEXT NOT NULL,
    at        TEXT NOT NULL,
    PRIMARY KEY (seller_id, order_id)
) WITHOUT ROWID;
"#;
