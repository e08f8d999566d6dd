//! The embedded database check: the data dir is writable, the schema opens, the
//! journal is in WAL mode. The adapter does the looking ([`Db::inspect`]); this turns
//! its facts and failures into a [`Check`] with a fix, and hands the open database to
//! the checks of the embedded ports.

use super::{CHECK_TIMEOUT, Check, bounded};
use crate::adapters::embedded::{Db, InspectError, Inspection};
use crate::config::Config;
use std::future::Future;
use std::path::Path;

const NAME: &str = "embedded database";

const DATA_DIR_FIX: &str = "point --data-dir / OMS_DATA_DIR at a directory on a local \
                            disk that this user can write";

/// The check of the embedded database in the configured data dir, and the database
/// when it can be used.
pub(super) async fn embedded_database(config: &Config) -> (Check, Option<Db>) {
    let (dir, owned) = (&config.data_dir, config.data_dir.clone());
    match bounded(
        CHECK_TIMEOUT,
        move || async move { Db::inspect(&owned).await },
    )
    .await
    {
        Ok(Ok(found)) => match verdict(&found, dir) {
            Ok(detail) => (Check::pass(NAME, detail), Some(found.db)),
            Err((detail, fix)) => (Check::fail(NAME, detail, fix), None),
        },
        Ok(Err(e)) => (Check::fail(NAME, e.to_string(), fix(&e, dir)), None),
        Err(why) => (
            Check::fail(
                NAME,
                format!("{}: {why}", dir.display()),
                "another process may hold the database locked for long: let it finish \
                 (or stop it) and run `oms doctor` again",
            ),
            None,
        ),
    }
}

/// The detail of a usable database, or what is wrong and its fix (a journal not in
/// WAL mode).
fn verdict(found: &Inspection, dir: &Path) -> Result<String, (String, String)> {
    let path = found.db.path().display();
    if !found.is_wal() {
        return Err((
            format!(
                "{path}: journal_mode is {}, not wal: several oms processes cannot share it \
                 safely",
                found.journal_mode
            ),
            format!(
                "the file system of {} does not support WAL (network file systems do not): \
                 {DATA_DIR_FIX}",
                dir.display()
            ),
        ));
    }
    Ok(format!(
        "{path}: schema ready ({} tables), journal_mode=wal, {}, data dir writable{}",
        found.tables,
        bytes(found.size),
        if found.created { " (created now)" } else { "" }
    ))
}

/// What to do about `e`.
fn fix(e: &InspectError, dir: &Path) -> String {
    let shown = dir.display();
    let permissions =
        format!("check the permissions of {shown} and the files in it, or {DATA_DIR_FIX}");
    match e {
        InspectError::NotADirectory(_) => format!("{shown} is a file: {DATA_DIR_FIX}"),
        InspectError::CannotCreate { .. } => {
            format!("create it (`mkdir -p {shown}`) as a user who may, or {DATA_DIR_FIX}")
        }
        InspectError::NotWritable { .. } => {
            format!("give this user write permission (`chmod u+rwx {shown}`), or {DATA_DIR_FIX}")
        }
        InspectError::Open { source, .. } if source.is_busy() => {
            "another process holds the database locked: let it finish (or stop it) and run \
             `oms doctor` again"
                .to_owned()
        }
        InspectError::Open { source, .. } if source.is_not_a_database() => format!(
            "the file {shown}/oms.db is not a usable SQLite database: move it away (oms \
             creates a new one) or restore it from a backup"
        ),
        InspectError::Open { .. } | InspectError::Read { .. } => permissions,
    }
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

/// The check of an embedded port: runs `ask` on the database, with the time limit of
/// a check, and turns its answer into a passed check with `pass`. An error or no answer
/// in time is a failed check naming a lock held by another process as the likely
/// cause; no database (its own check failed) is [`no_db`].
pub(super) async fn embedded_port<T, E, Fut>(
    name: &str,
    db: Option<Db>,
    ask: impl FnOnce(Db) -> Fut + Send + 'static,
    pass: impl FnOnce(T) -> Check,
) -> Check
where
    T: Send + 'static,
    E: std::fmt::Display + Send + 'static,
    Fut: Future<Output = Result<T, E>>,
{
    let Some(db) = db else {
        return no_db(name);
    };
    match bounded(CHECK_TIMEOUT, move || ask(db)).await {
        Ok(Ok(answer)) => pass(answer),
        Ok(Err(e)) => Check::fail(
            name,
            format!("embedded: {e}"),
            "another process may hold the database locked: run `oms doctor` again",
        ),
        Err(why) => timed_out(
            name,
            "embedded",
            &why,
            "another process holds the database locked: run `oms doctor` again",
        ),
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

/// The check of `what` that gave no answer within its time limit (`why`).
pub(super) fn timed_out(name: &str, what: &str, why: &str, fix: &str) -> Check {
    Check::fail(name, format!("{what}: {why}"), fix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_damaged_database_file_gets_its_own_fix() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("oms.db"), vec![b'x'; 4096]).unwrap();
        let e = Db::inspect(dir.path()).await.unwrap_err();
        let fix = fix(&e, dir.path());
        assert!(fix.contains("not a usable SQLite database"), "{e}: {fix}");
        assert!(e.to_string().starts_with(&dir.path().display().to_string()));
    }

    #[test]
    fn sizes_are_shown_in_the_largest_unit() {
        assert_eq!(bytes(12), "12 bytes");
        assert_eq!(bytes(4096), "4.0 KiB");
        assert_eq!(bytes(3 * 1024 * 1024 / 2), "1.5 MiB");
    }
}
