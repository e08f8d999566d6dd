//! The embedded database's schema: the tables of every port (queue, bus, store,
//! warehouse) in one SQLite file, and its version (`PRAGMA user_version`).
//!
//! - Version 1 (no `user_version` set): the first release's tables.
//! - Version 2: the event log is `bus_events`, whose order events are kept compact
//!   (`enc` 1, see `codec`), with `bus_log` a view that shows every payload as
//!   published; a reservation's items are kept as `[[sku, hub, quantity], ...]`.
//! - Version 3: the orders' listing indexes hold the whole sort key (`created_at,
//!   seller_id, order_id`), so a page of `orders ls` / `GET /api/v1/orders` is read in
//!   order instead of sorting every order of the same second.
//! - Version 4: an order's status changes are kept in its own row (`orders.history`,
//!   `[[status, reason, at], ...]`, NULL before the first), not in `order_history`:
//!   fulfil changes an order with one write instead of two.
//! - Version 5: an order's items are kept in the compact form reservations use,
//!   `[[sku, hub, quantity], ...]`, not as objects: a third of the bytes, so ingest
//!   writes fewer pages and fulfil reads less.
//! - Version 6: no `orders_listing` index: a listing of every status merges the pages
//!   of each status read from `orders_status_listing`, so ingest writes one index
//!   fewer per order.
//!
//! [`SCHEMA`] creates the current version in an empty file; [`MIGRATIONS`] move an
//! older file forward in place.

/// The version [`SCHEMA`] creates and [`MIGRATIONS`] end at.
pub(super) const VERSION: i64 = 6;

/// Every table, view and index of the current version, created when missing.
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
CREATE TABLE IF NOT EXISTS bus_events (
    partition INTEGER NOT NULL,
    offset    INTEGER NOT NULL,
    key       TEXT    NOT NULL,
    payload   TEXT    NOT NULL,
    enc       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (partition, offset)
) WITHOUT ROWID;
-- The event log as published, for readers of the file (sqlite3, scripts): order
-- events kept compact are shown as the JSON they were published as.
CREATE VIEW IF NOT EXISTS bus_log (partition, offset, key, payload) AS
SELECT partition, offset, key, CASE enc WHEN 0 THEN payload ELSE json_object(
    'event', payload ->> 0, 'seller_id', payload ->> 1, 'order_id', payload ->> 2,
    'job_id', payload ->> 3, 'status', payload ->> 4,
    'items', json((SELECT json_group_array(json_object(
        'sku_id', i.value ->> 0, 'hub_id', i.value ->> 1, 'quantity', i.value ->> 2))
      FROM json_each(payload -> 5) AS i))) END
FROM bus_events;
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
    history    TEXT,
    PRIMARY KEY (seller_id, order_id)
);
CREATE INDEX IF NOT EXISTS orders_status_listing ON orders(status, created_at, seller_id, order_id);
CREATE INDEX IF NOT EXISTS orders_job ON orders(job_id);

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

/// The statements that move a database from version `n` (the index + 1) to `n + 1`.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1 -> 2: the log's rows stay where they are (a rename), published payloads kept
    // as they are (`enc` 0); reservations' items in the compact form. [`SCHEMA`] then
    // adds the `bus_log` view.
    "
ALTER TABLE bus_log RENAME TO bus_events;
ALTER TABLE bus_events ADD COLUMN enc INTEGER NOT NULL DEFAULT 0;
UPDATE reservations SET items = (
    SELECT json_group_array(json_array(i.value ->> 'sku_id', i.value ->> 'hub_id',
                                       i.value ->> 'quantity'))
    FROM json_each(reservations.items) AS i)
  WHERE json_valid(items) AND json_type(items, '$[0]') = 'object';
",
    // 2 -> 3: the listing indexes replaced by ones holding the whole sort key
    // ([`SCHEMA`] then creates them).
    "
DROP INDEX IF EXISTS orders_status;
DROP INDEX IF EXISTS orders_created;
",
    // 3 -> 4: each order's status changes moved into its row, in the order they were
    // made; the table that held them dropped.
    "
ALTER TABLE orders ADD COLUMN history TEXT;
UPDATE orders SET history = (
    SELECT json_group_array(json_array(h.status, h.reason, h.at) ORDER BY h.rowid)
    FROM order_history AS h
    WHERE h.seller_id = orders.seller_id AND h.order_id = orders.order_id)
  WHERE EXISTS (SELECT 1 FROM order_history AS h
                WHERE h.seller_id = orders.seller_id AND h.order_id = orders.order_id);
DROP TABLE order_history;
",
    // 4 -> 5: orders' items in the compact form, item order kept.
    "
UPDATE orders SET items = (
    SELECT json_group_array(json_array(i.value ->> 'sku_id', i.value ->> 'hub_id',
                                       i.value ->> 'quantity') ORDER BY i.key)
    FROM json_each(orders.items) AS i)
  WHERE json_valid(items) AND json_type(items, '$[0]') = 'object';
",
    // 5 -> 6: listings of every status are read from the status index.
    "
DROP INDEX IF EXISTS orders_listing;
",
];
