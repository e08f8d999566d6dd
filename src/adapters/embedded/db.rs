//! The embedded database: one SQLite file in WAL mode under the data dir, shared by
//! every `oms` process on the machine. Owns the schema, the connection setup, and the
//! write helper that either opens an immediate transaction or, inside a unit of work,
//! a savepoint.

use crate::ports::Detail;
use crate::ports::{TxError, UnitOfWork};
use async_trait::async_trait;
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The file name of the embedded database inside the data dir.
pub const DB_FILE: &str = "oms.db";

const SCHEMA: &str = r#"
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

/// Errors of the embedded database, before a port maps them.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("{0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot use the data dir {path}: {source}")]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// True when SQLite reports the database busy or locked (another process holds it
/// longer than the busy timeout): the operation may succeed later.
pub fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// One connection to the embedded database, usable from async code.
#[derive(Clone)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
    /// Set by [`Db::checkpoint_in_background`]; stops with the last clone.
    checkpointer: Option<Arc<Checkpointer>>,
}

/// A thread with a connection of its own that copies the WAL back into the database
/// file, so the connection that writes never stops to do it.
struct Checkpointer {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// How often the background checkpointer looks at the WAL.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let thread = self.thread.lock().map(|mut t| t.take()).unwrap_or(None);
        if let Some(t) = thread {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("path", &self.path).finish()
    }
}

impl Db {
    /// Opens (creating if needed) the database in `data_dir`, and its schema.
    ///
    /// # Errors
    /// [`DbError::Dir`] when the directory cannot be created, [`DbError::Sqlite`].
    pub fn open(data_dir: &Path) -> Result<Self, DbError> {
        std::fs::create_dir_all(data_dir).map_err(|source| DbError::Dir {
            path: data_dir.to_owned(),
            source,
        })?;
        let path = data_dir.join(DB_FILE);
        let conn = Connection::open(&path)?;
        conn.busy_timeout(Duration::from_secs(30))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // Statement journals (one per savepoint and per multi-row statement inside a
        // transaction) in memory, not in temp files: with them on disk every page a
        // savepoint touches is one more write system call.
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        conn.set_prepared_statement_cache_capacity(64);
        conn.execute_batch(&format!("BEGIN IMMEDIATE; {SCHEMA} COMMIT;"))?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            path,
            checkpointer: None,
        })
    }

    /// Moves WAL checkpoints off this connection onto a thread of their own (the
    /// long-running workers use this: on two cores, a batch is written while the last
    /// one is copied back). The thread stops when the last clone of this `Db` is
    /// dropped; closing the connection then checkpoints what is left, as usual.
    ///
    /// # Errors
    /// When the second connection cannot be opened.
    pub fn checkpoint_in_background(mut self) -> Result<Self, DbError> {
        let other = Connection::open(&self.path)?;
        other.busy_timeout(Duration::from_secs(1))?;
        self.conn
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pragma_update(None, "wal_autocheckpoint", 0)?;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("oms-checkpoint".into())
            .spawn(move || {
                loop {
                    // Woken early by the drop that stops it.
                    std::thread::park_timeout(CHECKPOINT_EVERY);
                    if flag.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    // PASSIVE: copies what it can without waiting for anyone; a busy
                    // or failed attempt is simply tried again next time.
                    let _ = other.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                }
            })
            .map_err(|e| DbError::Dir {
                path: self.path.clone(),
                source: e,
            })?;
        self.checkpointer = Some(Arc::new(Checkpointer {
            stop,
            thread: Mutex::new(Some(thread)),
        }));
        Ok(self)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on the connection off the async threads.
    pub async fn call<F, R>(&self, f: F) -> R
    where
        F: FnOnce(&mut Connection) -> R + Send + 'static,
        R: Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard)
        })
        .await
        .expect("database task panicked")
    }
}

/// Runs `f` atomically: in its own immediate transaction, or as a savepoint of the
/// unit of work already open on this connection. On `Err` nothing of `f` stays.
///
/// # Errors
/// Whatever `f` returns, or the database's own error converted into `E`.
pub fn write<R, E>(conn: &Connection, f: impl FnOnce(&Connection) -> Result<R, E>) -> Result<R, E>
where
    E: From<rusqlite::Error>,
{
    let outer = conn.is_autocommit();
    conn.execute_batch(if outer {
        "BEGIN IMMEDIATE"
    } else {
        "SAVEPOINT w"
    })?;
    match f(conn) {
        Ok(v) => {
            let done = conn.execute_batch(if outer { "COMMIT" } else { "RELEASE w" });
            if let Err(e) = done {
                let _ = conn.execute_batch(if outer {
                    "ROLLBACK"
                } else {
                    "ROLLBACK TO w; RELEASE w"
                });
                return Err(e.into());
            }
            Ok(v)
        }
        Err(e) => {
            let _ = conn.execute_batch(if outer {
                "ROLLBACK"
            } else {
                "ROLLBACK TO w; RELEASE w"
            });
            Err(e)
        }
    }
}

#[async_trait]
impl UnitOfWork for Db {
    async fn begin(&self) -> Result<(), TxError> {
        self.call(|c| {
            if !c.is_autocommit() {
                // A unit of work left open by an abandoned attempt: drop it.
                let _ = c.execute_batch("ROLLBACK");
            }
            c.execute_batch("BEGIN IMMEDIATE")
        })
        .await
        .map_err(|e| TxError(Detail::from(e.to_string())))
    }

    async fn commit(&self) -> Result<(), TxError> {
        self.call(|c| {
            if c.is_autocommit() {
                return Ok(());
            }
            let r = c.execute_batch("COMMIT");
            if r.is_err() && !c.is_autocommit() {
                let _ = c.execute_batch("ROLLBACK");
            }
            r
        })
        .await
        .map_err(|e| TxError(Detail::from(e.to_string())))
    }

    async fn rollback(&self) {
        self.call(|c| {
            if !c.is_autocommit() {
                let _ = c.execute_batch("ROLLBACK");
            }
        })
        .await;
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The current time as fixed-width RFC 3339 UTC (sorts as text).
pub fn now_rfc3339() -> String {
    crate::domain::timestamp::now()
}
