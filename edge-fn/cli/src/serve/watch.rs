//! Reloading when the policies, keys or residency change on disk.
//!
//! The watcher (inotify through `notify`) watches the directories that hold the files, not
//! the files: editors save by writing a new file and renaming it over the old one, which a
//! watch on the old file would miss. Events are gathered for [`SETTLE`] before reloading, so
//! one save (several events) is one reload. The parents of the policy directories are watched
//! too, so a policy directory replaced whole (moved away and created again) is watched anew.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};

use crate::shared::bundle::BundleArgs;

/// How long events are gathered before a reload.
const SETTLE: Duration = Duration::from_millis(150);

/// Starts watching; `reload` runs on a thread of its own (which owns the watcher) after each
/// burst of changes to a file that matters.
pub(super) fn start(
    sources: &BundleArgs,
    reload: impl Fn() + Send + 'static,
) -> Result<(), String> {
    let (tx, rx) = mpsc::channel::<notify::Result<notify::Event>>();
    let mut watcher = notify::recommended_watcher(tx)
        .map_err(|e| format!("cannot watch the policy files for changes: {e}"))?;
    let files: BTreeSet<PathBuf> = sources.files().into_iter().map(absolute).collect();
    let policy_dirs: BTreeSet<PathBuf> = sources
        .policies
        .iter()
        .filter(|p| p.is_dir())
        .map(|p| absolute(p))
        .collect();
    let mut dirs: BTreeSet<PathBuf> = policy_dirs.clone();
    dirs.extend(
        files
            .iter()
            .filter_map(|f| f.parent().map(Path::to_path_buf)),
    );
    for dir in &dirs {
        watcher
            .watch(dir, RecursiveMode::NonRecursive)
            .map_err(|e| format!("cannot watch {}: {e}", dir.display()))?;
    }
    let rewatch: Vec<PathBuf> = policy_dirs.iter().cloned().collect();
    let matters = move |path: &Path| {
        files.contains(path)
            || policy_dirs.contains(path)
            || (path
                .parent()
                .is_some_and(|parent| policy_dirs.contains(parent))
                && pii_core::load::is_policy_name(path))
    };
    std::thread::Builder::new()
        .name("pii-edge-watch".into())
        .spawn(move || {
            while let Ok(first) = rx.recv() {
                let mut relevant = touches(&first, &matters);
                // Gather the rest of the burst.
                while let Ok(next) = rx.recv_timeout(SETTLE) {
                    relevant |= touches(&next, &matters);
                }
                if relevant {
                    // A policy directory created anew is another inode: watch it again.
                    for dir in &rewatch {
                        let _ = watcher.unwatch(dir);
                        let _ = watcher.watch(dir, RecursiveMode::NonRecursive);
                    }
                    reload();
                }
            }
        })
        .map_err(|e| format!("cannot start the watcher thread: {e}"))?;
    Ok(())
}

/// Whether an event is about a file that matters (an error of the watcher itself counts: a
/// reload then says what is wrong, if anything).
fn touches(event: &notify::Result<notify::Event>, matters: &impl Fn(&Path) -> bool) -> bool {
    match event {
        Ok(event) => !event.kind.is_access() && event.paths.iter().any(|p| matters(&absolute(p))),
        Err(_) => true,
    }
}

/// `path` made absolute (the watcher reports absolute paths). Not canonicalized: a file that
/// was just removed has no canonical path.
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}
