//! SQLite's read connections, kept by us rather than in sqlx's pool.
//!
//! Why: sqlx 0.8's pool tests every connection given back to it with a `ping`, which on SQLite
//! is one more round trip to the connection's thread (two thread wake-ups) and a spawned task
//! per read — as much as the read itself. A SQLite connection needs no such test: it lives on
//! its own thread and runs one command after another, so a read abandoned by a dropped request
//! is finished (or stopped) there before the next one starts; nothing is left half-way. Only
//! reads come here (the writer has its own connection), so there is no transaction to roll
//! back either.

use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::{AnyConnection, Connection};
use tokio::sync::{MappedMutexGuard, Mutex, MutexGuard};

use crate::error::AuthorityError;

/// A fixed set of read connections, each used by one request at a time.
#[derive(Debug)]
pub(super) struct Readers {
    /// `None` once closed.
    connections: Vec<Mutex<Option<AnyConnection>>>,
    /// Where the next search for a free connection starts, so that waiting is spread.
    next: AtomicUsize,
}

/// A read connection held for one request.
pub(super) type Reader<'r> = MappedMutexGuard<'r, AnyConnection>;

impl Readers {
    /// Over these (configured) connections.
    pub(super) fn new(connections: Vec<AnyConnection>) -> Self {
        Self {
            connections: connections
                .into_iter()
                .map(|connection| Mutex::new(Some(connection)))
                .collect(),
            next: AtomicUsize::new(0),
        }
    }

    /// A free connection, or the next one to become free.
    pub(super) async fn get(&self) -> Result<Reader<'_>, AuthorityError> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let count = self.connections.len();
        let mut ring = self
            .connections
            .iter()
            .cycle()
            .skip(start % count.max(1))
            .take(count);
        let first = ring.next().ok_or(AuthorityError::ReadersClosed)?;
        let guard = match first.try_lock() {
            Ok(guard) => guard,
            Err(_) => match ring.find_map(|slot| slot.try_lock().ok()) {
                Some(guard) => guard,
                // All busy: queue on one (fairly: tokio's mutex is first come, first served).
                None => first.lock().await,
            },
        };
        MutexGuard::try_map(guard, Option::as_mut).map_err(|_| AuthorityError::ReadersClosed)
    }

    /// Closes every connection once its current read is done; later reads fail.
    pub(super) async fn close(&self) {
        for slot in &self.connections {
            if let Some(connection) = slot.lock().await.take() {
                if let Err(error) = connection.close().await {
                    tracing::warn!(%error, "closing a read connection");
                }
            }
        }
    }
}
