//! Files in the data directory: secrets are written owner-only (mode 0600), atomically (a
//! temporary file renamed into place), so a crash never leaves half a key.

use std::fs;
use std::io::Write;
use std::path::Path;

use crate::error::AuthorityError;

/// Reads a whole file.
pub fn read(path: &Path) -> Result<Vec<u8>, AuthorityError> {
    fs::read(path).map_err(|error| AuthorityError::file(path, error))
}

/// Writes a secret: readable and writable by the owner only.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), AuthorityError> {
    write(path, bytes, 0o600)
}

/// Writes a file anyone may read (certificates, demo card files).
pub fn write_public(path: &Path, bytes: &[u8]) -> Result<(), AuthorityError> {
    write(path, bytes, 0o644)
}

/// Creates a directory and its parents.
pub fn create_dir(path: &Path) -> Result<(), AuthorityError> {
    fs::create_dir_all(path).map_err(|error| AuthorityError::file(path, error))
}

fn write(path: &Path, bytes: &[u8], mode: u32) -> Result<(), AuthorityError> {
    let file_error = |error| AuthorityError::file(path, error);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(file_error)?;
    }
    let temporary = path.with_extension("partial");
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(&temporary).map_err(file_error)?;
    file.write_all(bytes).map_err(file_error)?;
    file.sync_all().map_err(file_error)?;
    drop(file);
    fs::rename(&temporary, path).map_err(file_error)
}
