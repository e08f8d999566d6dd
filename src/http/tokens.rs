//! The tokens file on disk (`OMS_API_TOKENS_FILE`): reading it, writing it whole
//! (`oms token add | rm`: under a lock, through a temporary file renamed over it, so a
//! reader sees the old file or the new one, never half of one), and the live copy
//! `oms serve` holds ([`LiveTokens`]): read again on SIGHUP and when the file changes;
//! a file that cannot be read or parsed keeps the last good list, and the log says why.
//! What the file means is [`crate::domain::access`]'s.

use crate::domain::access::TokenList;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

/// How often [`LiveTokens::watch`] looks whether the file changed.
pub const POLL: Duration = Duration::from_secs(1);

/// Reads and parses the file.
///
/// # Errors
/// A message naming the file: it cannot be read, or what is wrong in it.
pub fn read(path: &Path) -> Result<TokenList, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the tokens file {}: {e}", path.display()))?;
    TokenList::parse(&text).map_err(|e| format!("tokens file {}: {e}", path.display()))
}

/// Reads the file, or an empty list when it does not exist yet.
///
/// # Errors
/// As [`read`], but for a missing file.
pub fn read_or_empty(path: &Path) -> Result<TokenList, String> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(TokenList::default()),
        _ => read(path),
    }
}

/// Changes the file under an exclusive lock (`FILE.lock` beside it), so two `oms
/// token` commands at once both take effect: reads it (empty when missing), lets
/// `change` edit the list, and writes the result through a temporary file renamed over
/// the old one (its permissions kept; a new file is readable by its owner only).
///
/// # Errors
/// A message naming the file: it cannot be read, locked, parsed or written, or what
/// `change` refused.
pub fn update<T>(
    path: &Path,
    change: impl FnOnce(&mut TokenList) -> Result<T, String>,
) -> Result<T, String> {
    let shown = path.display();
    let lock_path = sidecar(path, "lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| format!("cannot open {}: {e}", lock_path.display()))?;
    lock.lock()
        .map_err(|e| format!("cannot lock {}: {e}", lock_path.display()))?;
    let mut list = read_or_empty(path)?;
    let out = change(&mut list)?;
    let tmp = sidecar(path, &format!("tmp.{}", std::process::id()));
    let written = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        let mode = std::fs::metadata(path).map(|m| m.permissions());
        match mode {
            Ok(p) => f.set_permissions(p)?,
            Err(_) => owner_only(&f)?,
        }
        f.write_all(list.render().as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("cannot write the tokens file {shown}: {e}"));
    }
    drop(lock);
    Ok(out)
}

/// `FILE.<ext>` beside `path`.
fn sidecar(path: &Path, ext: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{ext}"));
    path.with_file_name(name)
}

#[cfg(unix)]
fn owner_only(f: &std::fs::File) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    f.set_permissions(std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn owner_only(_: &std::fs::File) -> std::io::Result<()> {
    Ok(())
}

/// What tells a changed file: its size, modification time and (on Unix) inode, so a
/// file renamed over it is seen even within one clock tick.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fingerprint {
    len: u64,
    modified: Option<SystemTime>,
    inode: u64,
}

fn fingerprint(path: &Path) -> Option<Fingerprint> {
    let m = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&m);
    #[cfg(not(unix))]
    let inode = 0;
    Some(Fingerprint {
        len: m.len(),
        modified: m.modified().ok(),
        inode,
    })
}

/// The tokens `oms serve` goes by: the last good reading of the file. A request takes
/// the list in force when it arrives ([`LiveTokens::current`]); a reload swaps in a new
/// list without waiting for, or failing, requests in flight.
#[derive(Debug)]
pub struct LiveTokens {
    path: PathBuf,
    current: RwLock<Arc<TokenList>>,
    seen: Mutex<Option<Fingerprint>>,
}

impl LiveTokens {
    /// Reads the file a first time.
    ///
    /// # Errors
    /// As [`read`]: there is no last good list to keep yet.
    pub fn open(path: &Path) -> Result<Arc<Self>, String> {
        let seen = fingerprint(path);
        let list = read(path)?;
        Ok(Arc::new(Self {
            path: path.to_owned(),
            current: RwLock::new(Arc::new(list)),
            seen: Mutex::new(seen),
        }))
    }

    /// The file's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The list in force.
    #[must_use]
    pub fn current(&self) -> Arc<TokenList> {
        match self.current.read() {
            Ok(g) => Arc::clone(&g),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Reads the file again (`trigger` says why, for the log): a good file replaces the
    /// list; otherwise the last good one stays and a warning says why.
    pub fn reload(&self, trigger: &str) -> Result<usize, String> {
        let print = fingerprint(&self.path);
        if let Ok(mut s) = self.seen.lock() {
            *s = print;
        }
        match read(&self.path) {
            Ok(list) => {
                let n = list.tokens().len();
                match self.current.write() {
                    Ok(mut g) => *g = Arc::new(list),
                    Err(poisoned) => *poisoned.into_inner() = Arc::new(list),
                }
                tracing::info!(
                    file = %self.path.display(),
                    tokens = n,
                    trigger,
                    "API tokens reloaded"
                );
                Ok(n)
            }
            Err(why) => {
                tracing::warn!(
                    file = %self.path.display(),
                    trigger,
                    error = %why,
                    "API tokens not reloaded: keeping the last good list"
                );
                Err(why)
            }
        }
    }

    /// Whether the file looks different from the last reading.
    fn changed(&self) -> bool {
        let now = fingerprint(&self.path);
        self.seen.lock().map_or(true, |s| *s != now)
    }

    /// Reloads on every SIGHUP and whenever the file changes (looked at every
    /// [`POLL`]), until the task is aborted. The SIGHUP handler is in place when this
    /// returns.
    ///
    /// # Errors
    /// When the SIGHUP handler cannot be installed.
    pub fn watch(self: Arc<Self>) -> std::io::Result<tokio::task::JoinHandle<()>> {
        let mut hangups = Hangups::install()?;
        Ok(tokio::spawn(async move {
            let mut tick = tokio::time::interval(POLL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = hangups.next() => {
                        let _ = self.reload("SIGHUP");
                    }
                    _ = tick.tick() => {
                        if self.changed() {
                            let _ = self.reload("file changed");
                        }
                    }
                }
            }
        }))
    }
}

/// SIGHUP, as a stream (never on other platforms).
pub struct Hangups {
    #[cfg(unix)]
    inner: tokio::signal::unix::Signal,
}

impl Hangups {
    /// Installs the handler: from now on SIGHUP no longer ends the process.
    ///
    /// # Errors
    /// When the handler cannot be installed.
    pub fn install() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                inner: signal(SignalKind::hangup())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    /// The next SIGHUP.
    pub async fn next(&mut self) {
        #[cfg(unix)]
        {
            if self.inner.recv().await.is_none() {
                std::future::pending::<()>().await;
            }
        }
        #[cfg(not(unix))]
        std::future::pending::<()>().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::access::{NamedToken, SellerScope, TokenHash};

    fn named(name: &str, secret: &str) -> NamedToken {
        NamedToken {
            name: name.into(),
            hash: TokenHash::of(secret),
            scope: SellerScope::from_texts(&["7"]).unwrap(),
            added: None,
        }
    }

    #[test]
    fn updates_create_and_change_the_file_and_a_bad_file_keeps_the_last_list() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.toml");
        update(&path, |l| {
            l.add(named("a", "ta")).map_err(|e| e.to_string())
        })
        .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let live = LiveTokens::open(&path).unwrap();
        assert!(live.current().identify(&TokenHash::of("ta")).is_some());
        assert!(!live.changed());

        update(&path, |l| {
            l.add(named("b", "tb")).map_err(|e| e.to_string())
        })
        .unwrap();
        assert!(live.changed());
        assert_eq!(live.reload("test"), Ok(2));
        let e = update(&path, |l| {
            l.add(named("b", "tc")).map_err(|e| e.to_string())
        });
        assert!(e.unwrap_err().contains("two tokens"));

        std::fs::write(&path, "[[token]\n").unwrap();
        assert!(live.reload("test").unwrap_err().contains("line 1"));
        assert_eq!(live.current().tokens().len(), 2, "the last good list stays");
        std::fs::remove_file(&path).unwrap();
        assert!(live.reload("test").is_err());
        assert_eq!(live.current().tokens().len(), 2);
        assert!(read(&path).unwrap_err().contains("tokens.toml"));
        assert_eq!(read_or_empty(&path).unwrap().tokens().len(), 0);
    }
}
