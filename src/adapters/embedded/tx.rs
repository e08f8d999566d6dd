//! Atomic writes on the embedded connection. [`write`] runs one port call's writes in
//! an immediate transaction of their own, or as a savepoint of the unit of work already
//! open on the connection; [`Db`]'s [`UnitOfWork`] opens and ends that outer
//! transaction. Both begin, commit and roll back through one [`Scope`].

use super::db::Db;
use crate::ports::{Detail, TxError, UnitOfWork};
use async_trait::async_trait;
use rusqlite::Connection;

/// An atomic scope on a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// The outer transaction, taking the write lock at once (`BEGIN IMMEDIATE`).
    Transaction,
    /// A savepoint inside the transaction already open.
    Savepoint,
}

impl Scope {
    /// The scope a write opens on `c`: a transaction, or a savepoint when a unit of
    /// work holds one open.
    fn for_write(c: &Connection) -> Self {
        if c.is_autocommit() {
            Self::Transaction
        } else {
            Self::Savepoint
        }
    }

    fn begin(self, c: &Connection) -> rusqlite::Result<()> {
        c.execute_batch(match self {
            Self::Transaction => "BEGIN IMMEDIATE",
            Self::Savepoint => "SAVEPOINT w",
        })
    }

    /// Keeps the scope's writes; when that fails, drops them and returns the error.
    fn commit(self, c: &Connection) -> rusqlite::Result<()> {
        let done = c.execute_batch(match self {
            Self::Transaction => "COMMIT",
            Self::Savepoint => "RELEASE w",
        });
        if done.is_err() {
            self.rollback(c);
        }
        done
    }

    /// Drops the scope's writes. Best effort: a transaction SQLite has already rolled
    /// back is left as it is.
    fn rollback(self, c: &Connection) {
        match self {
            Self::Transaction => {
                if !c.is_autocommit() {
                    let _ = c.execute_batch("ROLLBACK");
                }
            }
            Self::Savepoint => {
                let _ = c.execute_batch("ROLLBACK TO w; RELEASE w");
            }
        }
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
    let scope = Scope::for_write(conn);
    scope.begin(conn)?;
    match f(conn) {
        Ok(v) => {
            scope.commit(conn)?;
            Ok(v)
        }
        Err(e) => {
            scope.rollback(conn);
            Err(e)
        }
    }
}

fn tx_error(e: rusqlite::Error) -> TxError {
    TxError(Detail::caused(e.to_string(), e))
}

#[async_trait]
impl UnitOfWork for Db {
    async fn begin(&self) -> Result<(), TxError> {
        // Reads from here on see the unit's own writes: they stay on its connection.
        self.set_in_unit(true);
        self.call(|c| {
            // A unit of work left open by an abandoned attempt: drop it.
            Scope::Transaction.rollback(c);
            Scope::Transaction.begin(c)
        })
        .await
        .map_err(tx_error)
    }

    async fn commit(&self) -> Result<(), TxError> {
        let done = self
            .call(|c| {
                if c.is_autocommit() {
                    return Ok(());
                }
                Scope::Transaction.commit(c)
            })
            .await;
        self.set_in_unit(false);
        done.map_err(tx_error)
    }

    async fn rollback(&self) {
        self.call(|c| Scope::Transaction.rollback(c)).await;
        self.set_in_unit(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> Connection {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch("CREATE TABLE t (x INTEGER)").unwrap();
        c
    }

    fn count(c: &Connection) -> i64 {
        c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn a_failed_write_leaves_nothing_and_a_good_one_stays() {
        let c = conn();
        let r: rusqlite::Result<()> = write(&c, |c| {
            c.execute("INSERT INTO t VALUES (1)", [])?;
            Err(rusqlite::Error::InvalidQuery)
        });
        assert!(r.is_err());
        assert_eq!(count(&c), 0);
        assert!(c.is_autocommit(), "the transaction is closed");
        write::<_, rusqlite::Error>(&c, |c| c.execute("INSERT INTO t VALUES (1)", [])).unwrap();
        assert_eq!(count(&c), 1);
    }

    #[test]
    fn inside_a_transaction_a_failed_write_drops_only_its_own_savepoint() {
        let c = conn();
        Scope::Transaction.begin(&c).unwrap();
        write::<_, rusqlite::Error>(&c, |c| c.execute("INSERT INTO t VALUES (1)", [])).unwrap();
        let r: rusqlite::Result<()> = write(&c, |c| {
            c.execute("INSERT INTO t VALUES (2)", [])?;
            Err(rusqlite::Error::InvalidQuery)
        });
        assert!(r.is_err());
        assert!(!c.is_autocommit(), "the outer transaction stays open");
        Scope::Transaction.commit(&c).unwrap();
        assert_eq!(count(&c), 1);
    }
}
