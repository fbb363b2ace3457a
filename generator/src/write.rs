//! Writing the generated tree: atomically, or comparing it (`--check`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::project::Error;

/// A difference between the generator's output and the tree on disk.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Drift {
    /// The file is missing on disk.
    Missing(String),
    /// The file's content differs.
    Differs(String),
    /// A file in a generated directory that the generator no longer writes.
    Stale(String),
}

impl std::fmt::Display for Drift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Drift::Missing(p) => write!(f, "missing: {p}"),
            Drift::Differs(p) => write!(f, "differs: {p}"),
            Drift::Stale(p) => write!(f, "stale:   {p}"),
        }
    }
}

/// Files currently in the generated directories (relative paths), at any depth.
fn existing(repo: &Path, dirs: &[String]) -> Result<BTreeSet<String>, Error> {
    fn walk(repo: &Path, rel: &str, out: &mut BTreeSet<String>) -> Result<(), Error> {
        let abs = repo.join(rel);
        let rd = std::fs::read_dir(&abs).map_err(|e| Error::io(&abs, e))?;
        for entry in rd {
            let entry = entry.map_err(|e| Error::io(&abs, e))?;
            let Some(n) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            let child = format!("{rel}/{n}");
            if entry.path().is_dir() {
                walk(repo, &child, out)?;
            } else {
                out.insert(child);
            }
        }
        Ok(())
    }
    let mut out = BTreeSet::new();
    for d in dirs {
        if repo.join(d).is_dir() {
            walk(repo, d, &mut out)?;
        }
    }
    Ok(out)
}

/// Compares the rendered files with the tree on disk.
pub fn drift(
    repo: &Path,
    files: &BTreeMap<String, String>,
    dirs: &[String],
) -> Result<Vec<Drift>, Error> {
    let mut out = Vec::new();
    for (rel, content) in files {
        let p = repo.join(rel);
        match std::fs::read(&p) {
            Ok(bytes) if bytes == content.as_bytes() => {}
            Ok(_) => out.push(Drift::Differs(rel.clone())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                out.push(Drift::Missing(rel.clone()))
            }
            Err(e) => return Err(Error::io(&p, e)),
        }
    }
    for rel in existing(repo, dirs)? {
        if !files.contains_key(&rel) {
            out.push(Drift::Stale(rel));
        }
    }
    out.sort();
    Ok(out)
}

/// Where a write may be made to fail, for tests of atomicity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultPlan {
    /// Fail after this many directories were swapped in.
    pub fail_after_swaps: Option<usize>,
}

/// Writes `files` so that each generated directory is replaced whole: the
/// new tree is staged in a temporary directory inside `repo`, then each
/// directory is swapped in by rename. If anything fails, directories already
/// swapped are restored and nothing else changes.
pub fn write_atomic(
    repo: &Path,
    files: &BTreeMap<String, String>,
    dirs: &[String],
    fault: FaultPlan,
) -> Result<(), Error> {
    let stage = tempfile::Builder::new()
        .prefix(".drgen-stage-")
        .tempdir_in(repo)
        .map_err(|e| Error::io(repo, e))?;
    for (rel, content) in files {
        let p = stage.path().join("new").join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        std::fs::write(&p, content).map_err(|e| Error::io(&p, e))?;
    }
    // Swap each owned directory: old -> stage/old/<dir>, new -> place.
    let mut swapped: Vec<(String, bool)> = Vec::new();
    let result = (|| -> Result<(), Error> {
        for d in dirs {
            if fault.fail_after_swaps == Some(swapped.len()) {
                return Err(Error::Internal(format!(
                    "injected failure before swapping {d}"
                )));
            }
            let target = repo.join(d);
            let new = stage.path().join("new").join(d);
            let old = stage.path().join("old").join(d);
            let had_old = target.exists();
            if had_old {
                if let Some(parent) = old.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
                }
                std::fs::rename(&target, &old).map_err(|e| Error::io(&target, e))?;
            }
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
            }
            if new.exists() {
                if let Err(e) = std::fs::rename(&new, &target) {
                    if had_old {
                        let _ = std::fs::rename(&old, &target);
                    }
                    return Err(Error::io(&target, e));
                }
            }
            swapped.push((d.clone(), had_old));
        }
        Ok(())
    })();
    if result.is_err() {
        for (d, had_old) in swapped.iter().rev() {
            let target = repo.join(d);
            if target.is_dir() {
                let _ = std::fs::remove_dir_all(&target);
            } else {
                let _ = std::fs::remove_file(&target);
            }
            if *had_old {
                let _ = std::fs::rename(stage.path().join("old").join(d), &target);
            }
        }
    }
    result
}

/// The directories a run manages: the generated ones plus stale ones,
/// i.e. any other directory under `modules/` and under the loaded
/// environments' folders (which hold only `env.toml` by hand).
pub fn managed_dirs(
    repo: &Path,
    generated: &[String],
    env_names: &[String],
    all_envs: bool,
) -> Result<Vec<String>, Error> {
    let mut out: BTreeSet<String> = generated.iter().cloned().collect();
    let mut parents = Vec::new();
    if all_envs {
        parents.push("modules".to_owned());
        parents.push("hcl/modules".to_owned());
    }
    parents.extend(env_names.iter().map(|e| format!("envs/{e}")));
    parents.extend(env_names.iter().map(|e| format!("hcl/envs/{e}")));
    for r in parents {
        let abs = repo.join(&r);
        if !abs.is_dir() {
            continue;
        }
        let rd = std::fs::read_dir(&abs).map_err(|e| Error::io(&abs, e))?;
        for entry in rd {
            let entry = entry.map_err(|e| Error::io(&abs, e))?;
            if entry.path().is_dir() {
                if let Some(n) = entry.file_name().to_str() {
                    out.insert(format!("{r}/{n}"));
                }
            }
        }
    }
    Ok(out.into_iter().collect())
}
