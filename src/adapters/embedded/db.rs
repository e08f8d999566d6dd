//! The embedded database: one SQLite file in WAL mode under the data dir, shared by
//! every `oms` process on the machine. Owns the connection (its setup, the background
//! checkpointer, running work off the async threads) and the sorting of SQLite's errors
//! into the ports' errors. The tables are in `schema`; transactions in `tx`.

use super::schema::{MIGRATIONS, SCHEMA, VERSION};
use crate::ports::Detail;
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// The file name of the embedded database inside the data dir.
pub const DB_FILE: &str = "oms.db";

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
    /// The file was written by a newer `oms`, whose schema this one does not know.
    #[error(
        "the database has schema version {found}, newer than this oms knows ({known}): \
         use the oms that wrote it, or a newer one"
    )]
    TooNew { found: i64, known: i64 },
}

impl DbError {
    /// Whether another process holds the database locked longer than the busy timeout
    /// (opening may succeed later).
    #[must_use]
    pub fn is_busy(&self) -> bool {
        matches!(self, Self::Sqlite(e) if is_busy(e))
    }

    /// Whether the file is not a usable SQLite database: not one at all, or damaged.
    #[must_use]
    pub fn is_not_a_database(&self) -> bool {
        matches!(
            self,
            Self::Sqlite(e) if matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt)
            )
        )
    }
}

/// True when SQLite reports the database busy or locked (another process holds it
/// longer than the busy timeout): the operation may succeed later.
#[must_use]
pub fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// A port's error for the database error `e`: `busy` when another process holds the
/// database (trying again later may help), `other` for the rest. Either keeps `e` as
/// the cause, under its own text.
pub(super) fn port_error<E>(
    e: rusqlite::Error,
    busy: fn(Detail) -> E,
    other: fn(Detail) -> E,
) -> E {
    let variant = if is_busy(&e) { busy } else { other };
    variant(Detail::caused(e.to_string(), e))
}

/// One connection to the embedded database, usable from async code, and a few more
/// that only read ([`Db::read`]), opened when first needed: in WAL mode readers do not
/// wait for each other nor for the writer, so a server's queries run on both cores.
#[derive(Clone)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
    readers: Arc<Readers>,
    /// Set while a unit of work holds a transaction open on `conn`: reads then stay on
    /// `conn`, so the unit of work sees its own writes.
    in_unit: Arc<AtomicBool>,
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
        prepare_schema(&conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            readers: Arc::new(Readers::new(path.clone())),
            path,
            in_unit: Arc::new(AtomicBool::new(false)),
            checkpointer: None,
        })
    }

    /// Marks whether a unit of work holds a transaction open on the writing connection.
    pub(super) fn set_in_unit(&self, open: bool) {
        self.in_unit.store(open, Ordering::SeqCst);
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

    /// The database file.
    #[must_use]
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

    /// Runs `f`, which only reads, off the async threads on a reading connection (the
    /// writing one while a unit of work is open, or when no other can be opened). It
    /// sees everything committed before it started.
    pub async fn read<F, R>(&self, f: F) -> R
    where
        F: FnOnce(&Connection) -> R + Send + 'static,
        R: Send + 'static,
    {
        if self.in_unit.load(Ordering::SeqCst) {
            return self.call(move |c| f(c)).await;
        }
        let readers = Arc::clone(&self.readers);
        let writer = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            // An idle reader first; else the writing connection when nothing uses it
            // (a command's one query opens no second connection); else a reader.
            let idle = readers.take_idle();
            if idle.is_none()
                && let Ok(w) = writer.try_lock()
            {
                return f(&w);
            }
            match idle.or_else(|| readers.take()) {
                Some(c) => {
                    let r = f(&c);
                    readers.give_back(c);
                    r
                }
                None => f(&writer.lock().unwrap_or_else(|p| p.into_inner())),
            }
        })
        .await
        .expect("database task panicked")
    }
}

/// The reading connections: at most one per core, opened when first needed and kept.
struct Readers {
    path: PathBuf,
    max: usize,
    state: Mutex<ReadersState>,
    freed: Condvar,
}

struct ReadersState {
    idle: Vec<Connection>,
    open: usize,
    /// Opening one failed: reads use the writing connection from then on.
    broken: bool,
}

impl Readers {
    fn new(path: PathBuf) -> Self {
        let max = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8));
        Self {
            path,
            max,
            state: Mutex::new(ReadersState {
                idle: Vec::new(),
                open: 0,
                broken: false,
            }),
            freed: Condvar::new(),
        }
    }

    /// An idle reader, a new one while fewer than `max` are open, else the next one
    /// given back; `None` when one cannot be opened.
    fn take(&self) -> Option<Connection> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if s.broken {
                return None;
            }
            if let Some(c) = s.idle.pop() {
                return Some(c);
            }
            if s.open < self.max {
                s.open += 1;
                drop(s);
                let opened = open_reader(&self.path);
                let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
                return match opened {
                    Ok(c) => Some(c),
                    Err(_) => {
                        s.open -= 1;
                        s.broken = true;
                        self.freed.notify_all();
                        None
                    }
                };
            }
            s = self.freed.wait(s).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// An idle reader, if one is.
    fn take_idle(&self) -> Option<Connection> {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .idle
            .pop()
    }

    fn give_back(&self, c: Connection) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.idle.push(c);
        self.freed.notify_one();
    }
}

/// A connection that only reads (`query_only`), with the writer's busy timeout.
fn open_reader(path: &Path) -> rusqlite::Result<Connection> {
    let c = Connection::open(path)?;
    c.busy_timeout(Duration::from_secs(30))?;
    c.pragma_update(None, "query_only", true)?;
    c.set_prepared_statement_cache_capacity(64);
    Ok(c)
}

/// The schema version of the database on `c` (`PRAGMA user_version`).
fn version(c: &Connection) -> rusqlite::Result<i64> {
    c.query_row("PRAGMA user_version", [], |r| r.get(0))
}

/// Brings the database to the current schema [`VERSION`]: creates it in an empty file,
/// or runs the migrations from the version the file has, in place, in one immediate
/// transaction (two processes opening an old file at once migrate it once; a crash
/// leaves it as it was). A file without a version but with the first release's tables
/// is version 1.
///
/// # Errors
/// [`DbError::TooNew`] for a file of a newer `oms`; [`DbError::Sqlite`].
fn prepare_schema(c: &Connection) -> Result<(), DbError> {
    // The write lock is taken even when there is nothing to do, as every open always
    // did: a database held by another process is found busy here, at once.
    c.execute_batch("BEGIN IMMEDIATE")?;
    let done = migrate(c);
    if done.is_ok() {
        c.execute_batch("COMMIT")?;
    } else if !c.is_autocommit() {
        let _ = c.execute_batch("ROLLBACK");
    }
    done
}

/// [`prepare_schema`]'s work, inside its transaction.
fn migrate(c: &Connection) -> Result<(), DbError> {
    // Read under the write lock: another process may have migrated it meanwhile.
    let found = version(c)?;
    if found > VERSION {
        return Err(DbError::TooNew {
            found,
            known: VERSION,
        });
    }
    if found == VERSION {
        return Ok(());
    }
    let first_release: bool = c.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'bus_log')",
        [],
        |r| r.get(0),
    )?;
    let from = match found {
        0 if first_release => 1,
        0 => VERSION,
        n => n,
    };
    for step in MIGRATIONS
        .iter()
        .skip(usize::try_from(from - 1).unwrap_or(0))
    {
        c.execute_batch(step)?;
    }
    c.execute_batch(SCHEMA)?;
    c.pragma_update(None, "user_version", VERSION)?;
    Ok(())
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
