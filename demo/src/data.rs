//! The data directory: the authority's database, CA and identity key, and the demo cards'
//! state files, made on first start by the demo setup of `authority-tools` (what its
//! `init-demo` does) and reused afterwards.

use std::path::{Path, PathBuf};

use authority::config::default_database_url;
use authority_tools::demo::{CARDS_DIR, INDEX_FILE};

use crate::error::DemoError;

/// What [`prepare`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prepared {
    /// Made the demo data (first start, or `--fresh`).
    Created,
    /// Found it from an earlier start.
    Reused,
}

/// The cards' directory inside a data directory.
pub fn cards_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(CARDS_DIR)
}

/// The database URL of a data directory (the authority's default SQLite file).
pub fn database_url(data_dir: &Path) -> String {
    default_database_url(data_dir)
}

/// Makes the demo data in `data_dir` unless it is there already; with `fresh`, wipes an
/// earlier one first. Only a directory that holds demo data (or nothing) is ever wiped.
pub async fn prepare(data_dir: &Path, fresh: bool) -> Result<Prepared, DemoError> {
    let index = cards_dir(data_dir).join(INDEX_FILE);
    let refuse = |reason: &str| DemoError::DataDir {
        path: data_dir.to_path_buf(),
        reason: reason.to_string(),
    };
    if fresh && data_dir.exists() {
        if !index.is_file() && !is_empty(data_dir)? {
            return Err(refuse(
                "--fresh wipes only a demo data directory, and this one holds other files",
            ));
        }
        remove_dir(data_dir)?;
    }
    if index.is_file() {
        return Ok(Prepared::Reused);
    }
    if data_dir.exists() && !is_empty(data_dir)? {
        return Err(refuse(
            "it holds files but no demo cards (cards/index.json); choose another directory",
        ));
    }
    // Made beside it and renamed into place, so an interrupted first start leaves nothing
    // half made under the real name.
    let name = data_dir
        .file_name()
        .ok_or_else(|| refuse("name a directory (not `.` or `/`)"))?;
    let mut staging_name = name.to_os_string();
    staging_name.push(".initialising");
    let staging = data_dir.with_file_name(staging_name);
    if staging.exists() {
        remove_dir(&staging)?;
    }
    tracing::info!(
        data_dir = %data_dir.display(),
        "first start: making the demo CA, holders and cards (a few seconds)"
    );
    authority_tools::demo::init_demo(&staging, &database_url(&staging)).await?;
    if data_dir.exists() {
        remove_dir(data_dir)?;
    }
    std::fs::rename(&staging, data_dir).map_err(|error| DemoError::file(data_dir, error))?;
    Ok(Prepared::Created)
}

fn is_empty(dir: &Path) -> Result<bool, DemoError> {
    let mut entries = std::fs::read_dir(dir).map_err(|error| DemoError::file(dir, error))?;
    Ok(entries.next().is_none())
}

fn remove_dir(dir: &Path) -> Result<(), DemoError> {
    std::fs::remove_dir_all(dir).map_err(|error| DemoError::file(dir, error))
}
