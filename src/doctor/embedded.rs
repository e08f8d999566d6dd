//! The embedded database check: the data dir is writable, the schema opens, the
//! journal is in WAL mode.

use super::{CHECK_TIMEOUT, Check, bounded};
use crate::adapters::embedded::Db;
use crate::config::Config;
use std::path::Path;

const DATA_DIR_FIX: &str = "point --data-dir / OMS_DATA_DIR at a directory on a local \
                            disk that this user can write";

pub(super) async fn embedded_database(config: &Config) -> (Check, Option<Db>) {
    const NAME: &str = "embedded database";
    let dir = config.data_dir.clone();
    match bounded(
        CHECK_TIMEOUT,
        move || async move { open_embedded(&dir).await },
    )
    .await
    {
        Ok(Ok((db, detail))) => (Check::pass(NAME, detail), Some(db)),
        Ok(Err((detail, fix))) => (Check::fail(NAME, detail, fix), None),
        Err(why) => (
            Check::fail(
                NAME,
                format!("{}: {why}", config.data_dir.display()),
                "another process may hold the database locked for long: let it finish \
                 (or stop it) and run `oms doctor` again",
            ),
            None,
        ),
    }
}

/// Opens the embedded database as `oms` does; gives it with a description, or what is
/// wrong and its fix.
async fn open_embedded(dir: &Path) -> Result<(Db, String), (String, String)> {
    let shown = dir.display().to_string();
    let existed = dir.exists();
    if existed && !dir.is_dir() {
        return Err((
            format!("the data dir {shown} is not a directory"),
            format!("{shown} is a file: {DATA_DIR_FIX}"),
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| {
        (
            format!("the data dir {shown} cannot be created: {e}"),
            format!("create it (`mkdir -p {shown}`) as a user who may, or {DATA_DIR_FIX}"),
        )
    })?;
    // Writable: SQLite needs to create its -wal and -shm files next to the database.
    let probe = dir.join(format!(".oms-doctor-{}", std::process::id()));
    let written = std::fs::write(&probe, b"oms doctor\n");
    let _ = std::fs::remove_file(&probe);
    written.map_err(|e| {
        (
            format!("the data dir {shown} is not writable: {e}"),
            format!("give this user write permission (`chmod u+rwx {shown}`), or {DATA_DIR_FIX}"),
        )
    })?;
    let db = Db::open(dir).map_err(|e| {
        let text = e.to_string();
        let fix = if text.contains("locked") || text.contains("busy") {
            "another process holds the database locked: let it finish (or stop it) and run \
             `oms doctor` again"
                .to_owned()
        } else if text.contains("not a database") || text.contains("malformed") {
            format!(
                "the file {shown}/oms.db is not a usable SQLite database: move it away \
                 (oms creates a new one) or restore it from a backup"
            )
        } else {
            format!("check the permissions of {shown} and the files in it, or {DATA_DIR_FIX}")
        };
        (format!("{shown}: {text}"), fix)
    })?;
    let facts = db
        .call(|c| {
            let mode: String = c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
            let tables: i64 = c.query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
                [],
                |r| r.get(0),
            )?;
            Ok::<_, rusqlite::Error>((mode, tables))
        })
        .await;
    let (mode, tables) = facts.map_err(|e| {
        (
            format!("{}: {e}", db.path().display()),
            format!("check the permissions of {shown} and the files in it, or {DATA_DIR_FIX}"),
        )
    })?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err((
            format!(
                "{}: journal_mode is {mode}, not wal: several oms processes cannot share it \
                 safely",
                db.path().display()
            ),
            format!(
                "the file system of {shown} does not support WAL (network file systems do \
                 not): {DATA_DIR_FIX}"
            ),
        ));
    }
    let size = std::fs::metadata(db.path()).map_or(0, |m| m.len());
    let path = db.path().display().to_string();
    Ok((
        db,
        format!(
            "{path}: schema ready ({tables} tables), journal_mode=wal, {}, data dir writable{}",
            bytes(size),
            if existed { "" } else { " (created now)" }
        ),
    ))
}

fn bytes(n: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * KIB;
    if n >= MIB {
        format!("{:.1} MiB", n as f64 / MIB as f64)
    } else if n >= KIB {
        format!("{:.1} KiB", n as f64 / KIB as f64)
    } else {
        format!("{n} bytes")
    }
}

/// The check of an embedded port when the database could not be opened.
pub(super) fn no_db(name: &str) -> Check {
    Check::fail(
        name,
        "embedded: the embedded database cannot be used (see `embedded database`)",
        "fix the `embedded database` check first",
    )
}

pub(super) fn timed_out(name: &str, what: &str, why: &str, fix: &str) -> Check {
    Check::fail(name, format!("{what}: {why}"), fix)
}
