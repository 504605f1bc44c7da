//! Group commit for SQLite: one thread owns the only write connection, and every write is a
//! *unit* (a closure running some SQL) sent to it over a channel.
//!
//! Why: with `synchronous=FULL` every commit waits for an fsync (milliseconds), and SQLite has
//! one writer at a time, so one commit per request caps the whole service at a few hundred
//! writes a second however many cores it has. The writer instead takes everything queued,
//! runs each unit in its own `SAVEPOINT` inside one transaction, commits once (one fsync for
//! the batch), and only then answers each unit's waiter — nobody hears "done" before their
//! data is durable.
//!
//! A unit that fails rolls back to its savepoint only and gets its own error; the others in the
//! batch are unaffected. If the batch itself fails (the commit, or a savepoint statement — e.g.
//! SQLite rolled the whole transaction back after an I/O error), nothing in it is recorded and
//! every waiter is told so.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use sqlx::{AnyConnection, Connection, Executor};
use tokio::sync::{mpsc, oneshot};

use crate::error::AuthorityError;

/// A boxed future borrowing the write connection for `'c`.
pub type BoxFuture<'c, T> = Pin<Box<dyn Future<Output = T> + Send + 'c>>;

/// Units waiting at most; a full queue makes senders wait (back-pressure) instead of growing.
const QUEUE_CAPACITY: usize = 1024;
/// Units in one transaction at most, so that one batch's waiters are not kept waiting behind
/// an unbounded amount of work.
const MAX_BATCH: usize = 256;

/// The sending side: cheap to clone, one per [`super::Storage`] clone.
#[derive(Debug, Clone)]
pub(super) struct Writer {
    queue: mpsc::Sender<Message>,
}

enum Message {
    Unit(Box<dyn Job>),
    /// Finish what is queued before this, close the connection, then acknowledge.
    Close(oneshot::Sender<()>),
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Message::Unit(_) => f.write_str("Unit"),
            Message::Close(_) => f.write_str("Close"),
        }
    }
}

impl Writer {
    /// Starts the writer on `connection` (already configured: WAL, `synchronous=FULL`).
    ///
    /// It runs on a thread of its own rather than as a task among the requests': every batch
    /// waits on it, statement by statement, and on a busy machine a task would queue behind
    /// whatever the workers are running (the bench's clients sign on them) at every step,
    /// while a thread that mostly sleeps is scheduled as soon as it wakes.
    ///
    /// Its runtime has no I/O or timer driver: it only waits on channels (the queue, and the
    /// answers of SQLite's connection thread), and without a driver it sleeps on a futex,
    /// woken by one system call, instead of in `epoll` behind an event fd (two more per
    /// statement).
    pub(super) fn spawn(connection: AnyConnection) -> Result<Self, AuthorityError> {
        let (queue, receiver) = mpsc::channel(QUEUE_CAPACITY);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .map_err(AuthorityError::WriterStart)?;
        std::thread::Builder::new()
            .name("authority-writer".into())
            .spawn(move || runtime.block_on(run(connection, receiver)))
            .map_err(AuthorityError::WriterStart)?;
        Ok(Self { queue })
    }

    /// Runs `unit` in the next batch; its result once the batch is durable.
    pub(super) async fn write<T, F>(&self, unit: F) -> Result<T, AuthorityError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<T, AuthorityError>>
            + Send
            + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(Unit {
            work: Some(unit),
            result: None,
            reply,
        });
        self.queue
            .send(Message::Unit(job))
            .await
            .map_err(|_| AuthorityError::WriterStopped)?;
        // A dropped reply means the writer stopped before the unit's batch was decided.
        answer.await.map_err(|_| AuthorityError::WriterStopped)?
    }

    /// Lets the units already queued finish, then closes the write connection. Later writes
    /// fail with [`AuthorityError::WriterStopped`].
    pub(super) async fn close(&self) {
        let (ack, closed) = oneshot::channel();
        if self.queue.send(Message::Close(ack)).await.is_ok() {
            // An error here means the writer had stopped already: closed all the same.
            let _ = closed.await;
        }
    }
}

/// One queued unit, its result kept until the batch is decided.
trait Job: Send {
    /// Runs the unit's statements; whether they stand (false: roll back to its savepoint).
    fn run<'c>(&'c mut self, connection: &'c mut AnyConnection) -> BoxFuture<'c, bool>;
    /// Answers the waiter: its own result if the batch committed (or its own error), else the
    /// batch's failure.
    fn answer(self: Box<Self>, batch: Result<(), Arc<sqlx::Error>>);
}

struct Unit<F, T> {
    work: Option<F>,
    result: Option<Result<T, AuthorityError>>,
    reply: oneshot::Sender<Result<T, AuthorityError>>,
}

impl<F, T> Job for Unit<F, T>
where
    T: Send,
    F: for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<T, AuthorityError>> + Send,
{
    fn run<'c>(&'c mut self, connection: &'c mut AnyConnection) -> BoxFuture<'c, bool> {
        Box::pin(async move {
            let result = match self.work.take() {
                Some(work) => work(connection).await,
                None => Err(AuthorityError::Inconsistent(
                    "a write unit was run twice".into(),
                )),
            };
            let stands = result.is_ok();
            self.result = Some(result);
            stands
        })
    }

    fn answer(self: Box<Self>, batch: Result<(), Arc<sqlx::Error>>) {
        let result = match (self.result, batch) {
            // The unit's own failure is the more precise answer, batch or not.
            (Some(Err(error)), _) => Err(error),
            (Some(Ok(value)), Ok(())) => Ok(value),
            (_, Err(failure)) => Err(AuthorityError::Commit(failure)),
            (None, Ok(())) => Err(AuthorityError::Inconsistent(
                "a write unit was answered without running".into(),
            )),
        };
        // The waiter may have gone (its client hung up); what it wrote stands all the same.
        let _ = self.reply.send(result);
    }
}

async fn run(mut connection: AnyConnection, mut queue: mpsc::Receiver<Message>) {
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = queue.recv().await {
        let mut close = None;
        match first {
            Message::Unit(job) => batch.push(job),
            Message::Close(ack) => close = Some(ack),
        }
        // Everything that queued up during the last commit goes into this one.
        while close.is_none() && batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(Message::Unit(job)) => batch.push(job),
                Ok(Message::Close(ack)) => close = Some(ack),
                Err(_) => break,
            }
        }
        if !batch.is_empty() {
            commit(&mut connection, &mut batch).await;
        }
        if let Some(ack) = close {
            // Units sent after the close are dropped unanswered: their waiters hear
            // `WriterStopped`, and nothing of theirs was written.
            queue.close();
            if let Err(error) = connection.close().await {
                tracing::warn!(%error, "closing the write connection");
            }
            let _ = ack.send(());
            return;
        }
    }
    // Every sender is gone: the storage was dropped without `close`.
    if let Err(error) = connection.close().await {
        tracing::warn!(%error, "closing the write connection");
    }
}

/// Runs `batch` in one transaction, one savepoint per unit, and answers every unit.
async fn commit(connection: &mut AnyConnection, batch: &mut Vec<Box<dyn Job>>) {
    let started = std::time::Instant::now();
    let outcome = async {
        let mut previous = None;
        for job in batch.iter_mut() {
            connection.execute(before_unit(previous)).await?;
            previous = Some(job.run(connection).await);
        }
        connection.execute(after_last_unit(previous)).await?;
        Ok::<(), sqlx::Error>(())
    }
    .await;
    let outcome = match outcome {
        Ok(()) => Ok(()),
        Err(error) => {
            tracing::error!(%error, units = batch.len(), "a batch of writes failed");
            // SQLite may have rolled back already; then this fails, harmlessly.
            if let Err(error) = connection.execute("ROLLBACK").await {
                tracing::debug!(%error, "rolling back the failed batch");
            }
            Err(Arc::new(error))
        }
    };
    tracing::debug!(
        units = batch.len(),
        micros = started.elapsed().as_micros(),
        "batch committed"
    );
    for job in batch.drain(..) {
        job.answer(outcome.clone());
    }
}

// Each statement is a round trip to the connection's thread, so what runs between two units
// goes in one. `previous`: whether the unit before stood (`None`: there is none).

/// Ends the previous unit (releasing or undoing it) and opens a savepoint for the next; the
/// first one begins the transaction. IMMEDIATE: take the write lock at once (waiting out
/// another process's writer under `busy_timeout`) rather than fail on upgrading later.
fn before_unit(previous: Option<bool>) -> &'static str {
    match previous {
        None => "BEGIN IMMEDIATE; SAVEPOINT unit",
        Some(true) => "RELEASE unit; SAVEPOINT unit",
        Some(false) => "ROLLBACK TO unit; RELEASE unit; SAVEPOINT unit",
    }
}

/// Ends the last unit and commits the batch.
fn after_last_unit(previous: Option<bool>) -> &'static str {
    match previous {
        None => "BEGIN IMMEDIATE; COMMIT",
        Some(true) => "RELEASE unit; COMMIT",
        Some(false) => "ROLLBACK TO unit; RELEASE unit; COMMIT",
    }
}
