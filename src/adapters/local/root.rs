//! The storage root that every local order file must stay inside: its rules (inside the
//! root after symlinks and `..` are resolved, a regular readable file, a relative path
//! taken from the current directory or from the root) and how a file is named in a queue
//! message (`storage/orders.csv`).

use std::fs::File;
use std::path::{Component, Path, PathBuf};

/// Why a submitted path is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("the storage root {0} does not exist or is not a directory")]
    RootMissing(String),
    #[error("filePath is empty")]
    Empty,
    #[error("filePath contains a NUL byte")]
    Nul,
    #[error("{0}: no such file")]
    NotFound(String),
    #[error("{path}: outside the storage root {root}")]
    Outside { path: String, root: String },
    #[error("{0}: not a regular file")]
    NotRegular(String),
    #[error("{path}: cannot be read: {why}")]
    Unreadable { path: String, why: String },
}

/// The directory order files must live in.
#[derive(Debug, Clone)]
pub struct StorageRoot {
    /// As configured (used to write paths into messages).
    configured: PathBuf,
    /// Canonical (symlinks and `..` resolved).
    canonical: PathBuf,
}

impl StorageRoot {
    /// The storage root at `root`, which must be an existing directory.
    ///
    /// # Errors
    /// [`PathError::RootMissing`] when `root` is not an existing directory.
    pub fn open(root: &Path) -> Result<Self, PathError> {
        let canonical = root
            .canonicalize()
            .ok()
            .filter(|p| p.is_dir())
            .ok_or_else(|| PathError::RootMissing(root.display().to_string()))?;
        Ok(Self {
            configured: root.to_owned(),
            canonical,
        })
    }

    /// Resolves a submitted path to a canonical regular file inside the root. A relative
    /// path is taken from the current directory (the Go oms-service's requests name
    /// files that way: `storage/orders.csv`), or, when nothing is there, from the root
    /// itself.
    ///
    /// # Errors
    /// Every [`PathError`] but `RootMissing`.
    pub fn resolve(&self, file_path: &str) -> Result<PathBuf, PathError> {
        if file_path.trim().is_empty() {
            return Err(PathError::Empty);
        }
        if file_path.contains('\0') {
            return Err(PathError::Nul);
        }
        let given = Path::new(file_path);
        let mut candidates = vec![given.to_owned()];
        if given.is_relative() {
            candidates.push(self.canonical.join(given));
        }
        let existing: Vec<PathBuf> = candidates
            .iter()
            .filter_map(|p| p.canonicalize().ok())
            .collect();
        if existing.is_empty() {
            return Err(PathError::NotFound(file_path.to_owned()));
        }
        let found = existing
            .into_iter()
            .find(|p| p.starts_with(&self.canonical))
            .ok_or_else(|| PathError::Outside {
                path: file_path.to_owned(),
                root: self.configured.display().to_string(),
            })?;
        let meta = std::fs::metadata(&found).map_err(|e| PathError::Unreadable {
            path: file_path.to_owned(),
            why: e.to_string(),
        })?;
        if !meta.is_file() {
            return Err(PathError::NotRegular(file_path.to_owned()));
        }
        File::open(&found).map_err(|e| PathError::Unreadable {
            path: file_path.to_owned(),
            why: e.to_string(),
        })?;
        Ok(found)
    }

    /// How a resolved file is named in a queue message: the configured root joined
    /// with the file's place inside it (`storage/orders.csv`).
    pub fn message_path(&self, resolved: &Path) -> String {
        let rel = resolved.strip_prefix(&self.canonical).unwrap_or(resolved);
        let joined = self.configured.join(rel);
        let clean: PathBuf = joined
            .components()
            .filter(|c| !matches!(c, Component::CurDir))
            .collect();
        clean.display().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_must_stay_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("storage");
        std::fs::create_dir(&root).unwrap();
        std::fs::write(root.join("a.csv"), "x").unwrap();
        std::fs::write(dir.path().join("secret.csv"), "x").unwrap();
        std::fs::create_dir(root.join("sub")).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(dir.path().join("secret.csv"), root.join("link.csv")).unwrap();
        let r = StorageRoot::open(&root).unwrap();

        let ok = r.resolve(root.join("a.csv").to_str().unwrap()).unwrap();
        assert!(ok.ends_with("a.csv"));
        assert_eq!(r.resolve("a.csv").unwrap(), ok, "relative to the root");
        let up = format!("{}/../secret.csv", root.display());
        assert!(matches!(r.resolve(&up), Err(PathError::Outside { .. })));
        assert!(matches!(
            r.resolve(dir.path().join("secret.csv").to_str().unwrap()),
            Err(PathError::Outside { .. })
        ));
        #[cfg(unix)]
        assert!(matches!(
            r.resolve("link.csv"),
            Err(PathError::Outside { .. })
        ));
        assert!(matches!(r.resolve("sub"), Err(PathError::NotRegular(_))));
        assert!(matches!(r.resolve("nope.csv"), Err(PathError::NotFound(_))));
        assert_eq!(r.resolve("a\0.csv"), Err(PathError::Nul));
        assert_eq!(r.resolve(" "), Err(PathError::Empty));
        assert!(StorageRoot::open(&dir.path().join("missing")).is_err());
    }

    #[test]
    fn message_paths_use_the_configured_root() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("o.csv"), "x").unwrap();
        let r = StorageRoot::open(dir.path()).unwrap();
        let p = r.resolve("o.csv").unwrap();
        assert_eq!(
            r.message_path(&p),
            dir.path().join("o.csv").display().to_string()
        );
    }
}
