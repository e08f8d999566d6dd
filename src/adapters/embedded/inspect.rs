//! What `oms doctor` asks of the embedded database: whether the data dir can hold it
//! (a directory, writable), whether it opens with its schema, its journal mode and
//! size ([`Db::inspect`]), and what it holds ([`Db::contents`]). Plain facts and typed
//! failures; doctor turns them into checks.

use super::db::{Db, DbError};
use std::path::{Path, PathBuf};

/// The embedded database as `oms` opens it, and what doctor reports of it.
#[derive(Debug)]
pub struct Inspection {
    /// The database, open (with its schema).
    pub db: Db,
    /// Whether the data dir did not exist and was created now.
    pub created: bool,
    /// Tables in the database.
    pub tables: u64,
    /// SQLite's journal mode, e.g. `wal`.
    pub journal_mode: String,
    /// Bytes of the database file (its WAL not included).
    pub size: u64,
}

impl Inspection {
    /// Whether the journal is in WAL mode, which lets several `oms` processes share
    /// the file safely.
    #[must_use]
    pub fn is_wal(&self) -> bool {
        self.journal_mode.eq_ignore_ascii_case("wal")
    }
}

/// Why the embedded database cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    /// Something other than a directory is where the data dir should be.
    #[error("the data dir {} is not a directory", .0.display())]
    NotADirectory(PathBuf),
    #[error("the data dir {} cannot be created: {source}", path.display())]
    CannotCreate {
        path: PathBuf,
        source: std::io::Error,
    },
    /// SQLite could not create its `-wal` and `-shm` files next to the database.
    #[error("the data dir {} is not writable: {source}", path.display())]
    NotWritable {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The database does not open (see [`DbError::is_busy`],
    /// [`DbError::is_not_a_database`]).
    #[error("{}: {source}", path.display())]
    Open { path: PathBuf, source: DbError },
    /// The database opened, but its facts cannot be read.
    #[error("{}: {source}", path.display())]
    Read { path: PathBuf, source: DbError },
}

/// What the embedded database holds, counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Contents {
    pub orders: u64,
    pub jobs: u64,
    /// Partitions of the event log that hold events.
    pub bus_partitions: u64,
}

impl Db {
    /// Opens the database in `data_dir` as every `oms` command does (creating the
    /// directory and the schema when missing), after checking that the directory can
    /// hold it, and reads its journal mode, tables and size.
    ///
    /// # Errors
    /// [`InspectError`]: which step failed, with the error behind it.
    pub async fn inspect(data_dir: &Path) -> Result<Inspection, InspectError> {
        let dir = data_dir.to_owned();
        let existed = dir.exists();
        if existed && !dir.is_dir() {
            return Err(InspectError::NotADirectory(dir));
        }
        if let Err(source) = std::fs::create_dir_all(&dir) {
            return Err(InspectError::CannotCreate { path: dir, source });
        }
        // Writable: SQLite needs to create its -wal and -shm files next to the database.
        let probe = dir.join(format!(".oms-doctor-{}", std::process::id()));
        let written = std::fs::write(&probe, b"oms doctor\n");
        let _ = std::fs::remove_file(&probe);
        if let Err(source) = written {
            return Err(InspectError::NotWritable { path: dir, source });
        }
        let db = match Db::open(&dir) {
            Ok(db) => db,
            Err(source) => return Err(InspectError::Open { path: dir, source }),
        };
        let facts = db
            .call(|c| {
                let mode: String = c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
                let tables: u64 = c.query_row(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
                    [],
                    |r| r.get(0),
                )?;
                Ok::<_, rusqlite::Error>((mode, tables))
            })
            .await;
        let (journal_mode, tables) = facts.map_err(|e| InspectError::Read {
            path: db.path().to_owned(),
            source: e.into(),
        })?;
        let size = std::fs::metadata(db.path()).map_or(0, |m| m.len());
        Ok(Inspection {
            db,
            created: !existed,
            tables,
            journal_mode,
            size,
        })
    }

    /// How many orders, jobs and event-log partitions the database holds.
    ///
    /// # Errors
    /// [`DbError::Sqlite`] when the database cannot be read (e.g. locked).
    pub async fn contents(&self) -> Result<Contents, DbError> {
        self.call(|c| {
            let count = |table: &str| {
                c.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            };
            Ok(Contents {
                orders: count("orders")?,
                jobs: count("jobs")?,
                bus_partitions: count("bus_heads")?,
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::embedded::db::DB_FILE;

    fn db_file(data_dir: &Path) -> PathBuf {
        data_dir.join(DB_FILE)
    }

    #[tokio::test]
    async fn a_new_data_dir_is_created_in_wal_mode() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let i = Db::inspect(&data).await.unwrap();
        assert!(i.created && i.is_wal() && i.tables > 0, "{i:?}");
        assert_eq!(i.db.path(), db_file(&data));
        let c = i.db.contents().await.unwrap();
        assert_eq!(c, Contents::default());
        let again = Db::inspect(&data).await.unwrap();
        assert!(!again.created);
    }

    #[tokio::test]
    async fn what_cannot_hold_the_database_is_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, "x").unwrap();
        let e = Db::inspect(&file).await.unwrap_err();
        assert!(matches!(e, InspectError::NotADirectory(_)), "{e}");
        assert!(e.to_string().contains("is not a directory"));

        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        std::fs::write(db_file(&data), vec![b'x'; 4096]).unwrap();
        match Db::inspect(&data).await.unwrap_err() {
            InspectError::Open { source, .. } => {
                assert!(source.is_not_a_database() && !source.is_busy(), "{source}");
            }
            e => panic!("{e}"),
        }
    }
}
