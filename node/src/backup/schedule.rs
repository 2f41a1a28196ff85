//! Backups the node makes on its own: `[backup] dir, every_hours, keep,
//! passphrase_file`. Each is a whole backup (see the module above) named
//! `passport-<short id>-<seconds since 1970>.age`, written beside its final name
//! and renamed when complete; after each, only the `keep` newest such files stay.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use age::secrecy::SecretString;
use passport_protocol::Timestamp;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::{BackupError, BackupSummary, EXTENSION};
use crate::node::{Node, system_now};

/// The `[backup]` section of `config.toml`. Every field says its default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackupSettings {
    /// The folder scheduled backups go to (another disk, a synced folder). Default:
    /// none, meaning no scheduled backups.
    pub dir: Option<PathBuf>,
    /// Hours between backups; the first is made when the node starts. Default 24.
    pub every_hours: u64,
    /// Backups kept in `dir`; older ones are deleted. Default 7.
    pub keep: usize,
    /// A file (0600) whose first line is the backups' passphrase; required with
    /// `dir`. Default: none.
    pub passphrase_file: Option<PathBuf>,
}

impl Default for BackupSettings {
    fn default() -> Self {
        Self {
            dir: None,
            every_hours: 24,
            keep: 7,
            passphrase_file: None,
        }
    }
}

impl BackupSettings {
    /// Checks the settings hang together (read with the config file).
    pub fn check(&self) -> Result<(), String> {
        if self.dir.is_none() {
            return Ok(());
        }
        if self.passphrase_file.is_none() {
            return Err(
                "`dir` is set but `passphrase_file` is not: name a file (0600) holding the backups' passphrase".into(),
            );
        }
        if self.every_hours == 0 {
            return Err("`every_hours` must be at least 1".into());
        }
        if self.keep == 0 {
            return Err("`keep` must be at least 1".into());
        }
        Ok(())
    }

    /// The passphrase, from the first line of `passphrase_file`.
    fn passphrase(&self) -> Result<SecretString, BackupError> {
        let Some(path) = &self.passphrase_file else {
            return Err(BackupError::Io {
                action: "read",
                path: PathBuf::from("[backup] passphrase_file"),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "not set"),
            });
        };
        let text =
            Zeroizing::new(
                std::fs::read_to_string(path).map_err(|source| BackupError::Io {
                    action: "read",
                    path: path.clone(),
                    source,
                })?,
            );
        let line = text.lines().next().unwrap_or_default();
        if line.is_empty() {
            return Err(BackupError::Io {
                action: "read",
                path: path.clone(),
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "its first line is empty",
                ),
            });
        }
        Ok(SecretString::from(line.to_string()))
    }
}

/// The name of the backup of `node` made at `at`.
fn file_name(node: &Node, at: Timestamp) -> String {
    format!("passport-{}-{}.{EXTENSION}", short(node), at.as_secs())
}

fn short(node: &Node) -> String {
    node.id().fmt_short().to_string().replace(['…', '.'], "")
}

/// Makes one scheduled backup of `node` into `settings.dir`, then deletes all but
/// the `keep` newest of this passport's backups there.
pub fn back_up_now(
    node: &Node,
    settings: &BackupSettings,
    config: Option<String>,
    now: Timestamp,
) -> Result<(PathBuf, BackupSummary), BackupError> {
    let Some(dir) = &settings.dir else {
        return Err(BackupError::Io {
            action: "write to",
            path: PathBuf::from("[backup] dir"),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "not set"),
        });
    };
    crate::home::create_private_dir(dir)?;
    let path = dir.join(file_name(node, now));
    let summary = node.backup_to_file(settings.passphrase()?, None, config, now, &path)?;
    prune(dir, &format!("passport-{}-", short(node)), settings.keep)?;
    Ok((path, summary))
}

/// Deletes all but the `keep` newest `<prefix><seconds>.age` files in `dir`.
fn prune(dir: &Path, prefix: &str, keep: usize) -> Result<(), BackupError> {
    let entries = std::fs::read_dir(dir).map_err(|source| BackupError::Io {
        action: "list",
        path: dir.to_owned(),
        source,
    })?;
    let mut made: Vec<(u64, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let secs = name
                .strip_prefix(prefix)?
                .strip_suffix(&format!(".{EXTENSION}"))?
                .parse()
                .ok()?;
            Some((secs, entry.path()))
        })
        .collect();
    made.sort_unstable_by_key(|(secs, _)| std::cmp::Reverse(*secs));
    for (_, old) in made.into_iter().skip(keep) {
        std::fs::remove_file(&old).map_err(|source| BackupError::Io {
            action: "delete",
            path: old,
            source,
        })?;
    }
    Ok(())
}

/// Backs `node` up every `settings.every_hours`, the first time at once. A failed
/// backup is logged and tried again at the next tick; it never stops the node.
pub async fn run(node: Node, settings: BackupSettings, config_path: Option<PathBuf>) {
    if settings.dir.is_none() {
        return;
    }
    let every = Duration::from_secs(settings.every_hours.saturating_mul(3600).max(1));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let (node, settings, config_path) = (node.clone(), settings.clone(), config_path.clone());
        let made = tokio::task::spawn_blocking(move || {
            let config = config_path.and_then(|path| std::fs::read_to_string(path).ok());
            back_up_now(&node, &settings, config, system_now())
        })
        .await;
        match made {
            Ok(Ok((path, summary))) => tracing::info!(
                path = %path.display(),
                records = summary.records,
                "scheduled backup made"
            ),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "the scheduled backup failed; trying again at the next one")
            }
            Err(_) => return,
        }
    }
}
