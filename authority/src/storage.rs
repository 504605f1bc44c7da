//! The authority's records, in SQLite (the default: one file, WAL, `synchronous=FULL`) or
//! PostgreSQL (chosen by a `postgres://` URL), with the same schema and the same SQL.
//!
//! Why sqlx's `Any` driver rather than a storage trait with two implementations: every query
//! here is plain SQL that both databases run alike (`$n` parameters, `ON CONFLICT`,
//! `RETURNING`, integers for times, bytes for hashes and DER), so one implementation serves
//! both and the two can never drift in behaviour; only the schema files differ (types,
//! identity columns, the append-only trigger), in `migrations/sqlite` and
//! `migrations/postgres`, embedded and run at start.
//!
//! Concurrency rules the queries follow:
//! - "Once only" is the `UNIQUE` constraint on a renewal's original certificates; issuance
//!   inserts with `ON CONFLICT DO NOTHING` and looks at what is there, never checks first.
//! - A challenge is used by one conditional `UPDATE` (unused, or used by the very same
//!   request), so two requests can never both use it.
//! - An audit line is written in the same transaction as the change it records.
//!
//! Writes on SQLite go through one writer thread that commits what is queued together (the
//! `writer` module: group commit, one fsync per batch, each request in its own savepoint); reads
//! use a few connections of their own (the `readers` module) and never wait for it (WAL). On
//! PostgreSQL reads use sqlx's pool and each write is a transaction of its own.

mod readers;
mod writer;

use std::str::FromStr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use renewal::{
    Birthday, CardNumber, CertificateSerial, CertificateStatus, KeyRole, RenewalNumber, Validity,
};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::pool::PoolOptions;
use sqlx::{Any, AnyConnection, AnyPool, Connection, Executor, Row};
use time::OffsetDateTime;

use crate::audit::AuditEntry;
use crate::error::AuthorityError;
use readers::{Reader, Readers};
use writer::{BoxFuture, Writer};

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl Backend {
    /// The backend of a database URL.
    pub fn of(url: &str) -> Result<Self, AuthorityError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Backend::Postgres)
        } else {
            Err(AuthorityError::Config(
                "the database URL must start with sqlite: or postgres:".into(),
            ))
        }
    }
}

/// A certificate in the records.
#[derive(Debug, Clone)]
pub struct CertificateRecord {
    /// Row id.
    pub id: i64,
    /// Serial.
    pub serial: CertificateSerial,
    /// The holder.
    pub holder_id: i64,
    /// The card it is on.
    pub card_number: CardNumber,
    /// Signature or encryption.
    pub role: KeyRole,
    /// Valid, revoked or suspended.
    pub status: CertificateStatus,
    /// Its validity.
    pub validity: Validity,
    /// The certificate, DER.
    pub der: Vec<u8>,
    /// The renewal that issued it; `None` for an original.
    pub issued_by_renewal_id: Option<i64>,
}

/// A certificate to record.
#[derive(Debug, Clone)]
pub struct NewCertificate {
    /// Serial.
    pub serial: CertificateSerial,
    /// The holder.
    pub holder_id: i64,
    /// The card it is on.
    pub card_number: CardNumber,
    /// Signature or encryption.
    pub role: KeyRole,
    /// Status.
    pub status: CertificateStatus,
    /// Validity.
    pub validity: Validity,
    /// DER.
    pub der: Vec<u8>,
}

/// A holder in the records.
#[derive(Debug, Clone)]
pub struct HolderRecord {
    /// Row id.
    pub id: i64,
    /// Keyed hash of the national ID number.
    pub national_id_hash: Vec<u8>,
    /// Birthday.
    pub birthday: Birthday,
}

/// A renewal in the records.
#[derive(Debug, Clone)]
pub struct RenewalRow {
    /// Row id.
    pub id: i64,
    /// The renewal number.
    pub renewal_number: RenewalNumber,
    /// The holder.
    pub holder_id: i64,
    /// The card.
    pub card_number: CardNumber,
    /// The original signature certificate.
    pub original_signature_certificate_id: i64,
    /// The original encryption certificate.
    pub original_encryption_certificate_id: i64,
    /// When the renewed certificates were issued.
    pub renewed_at: OffsetDateTime,
    /// When the page reported them written; `None` until then.
    pub completed_at: Option<OffsetDateTime>,
}

/// A renewal to record with its two certificates.
#[derive(Debug, Clone)]
pub struct NewRenewal {
    /// The renewal number.
    pub renewal_number: RenewalNumber,
    /// The holder.
    pub holder_id: i64,
    /// The card.
    pub card_number: CardNumber,
    /// The original signature certificate.
    pub original_signature_certificate_id: i64,
    /// The original encryption certificate.
    pub original_encryption_certificate_id: i64,
    /// Issue time.
    pub renewed_at: OffsetDateTime,
    /// The renewed signature certificate.
    pub signature: NewCertificate,
    /// The renewed encryption certificate.
    pub encryption: NewCertificate,
}

/// A challenge in the records.
#[derive(Debug, Clone)]
pub struct ChallengeRecord {
    /// Its id (random, hex).
    pub id: String,
    /// The certificate it was offered for.
    pub certificate_id: i64,
    /// The challenge bytes.
    pub challenge: Vec<u8>,
    /// Offered at.
    pub created_at: OffsetDateTime,
    /// Refused after.
    pub expires_at: OffsetDateTime,
    /// When a request used it.
    pub used_at: Option<OffsetDateTime>,
    /// Fingerprint of that request.
    pub request_fingerprint: Option<Vec<u8>>,
}

/// What happened to an attempt to record a renewal whose challenge it could use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueOutcome {
    /// Recorded: this is the renewal.
    Issued(i64),
    /// The original was renewed already (by a request that got there first): this one.
    AlreadyRenewed(i64),
}

/// What a write that uses a challenge returns: `None` when another request used the challenge
/// first, and then nothing at all was written (not even the audit line).
pub type ChallengeWrite<T> = Option<T>;

/// Rows in each table, for tests that check nothing but the audit line was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableCounts {
    /// holders
    pub holders: i64,
    /// certificates
    pub certificates: i64,
    /// renewals
    pub renewals: i64,
    /// challenges
    pub challenges: i64,
    /// challenges used
    pub challenges_used: i64,
    /// identity_failures
    pub identity_failures: i64,
    /// audit_log
    pub audit_log: i64,
}

/// A challenge with everything proving its holder needs, read at once.
#[derive(Debug, Clone)]
pub struct ChallengeContext {
    /// The challenge.
    pub challenge: ChallengeRecord,
    /// The certificate it was offered for.
    pub certificate: CertificateRecord,
    /// That certificate's holder.
    pub holder: HolderRecord,
    /// Until when identity checks for that certificate are refused, if ever.
    pub locked_until: Option<OffsetDateTime>,
    /// Whether identity failures are on record for that certificate (counting or locked).
    pub identity_failures_recorded: bool,
    /// The renewal whose original that certificate is, if any.
    pub renewal_of_original: Option<RenewalRow>,
    /// The certificate with the serial asked for alongside (renew: the card's encryption
    /// certificate), if asked and recorded.
    pub alongside: Option<CertificateRecord>,
}

/// A recorded renewal with the two certificates it issued.
#[derive(Debug, Clone)]
pub struct IssuedRenewal {
    /// The renewal.
    pub renewal: RenewalRow,
    /// The renewed signature certificate.
    pub signature: CertificateRecord,
    /// The renewed encryption certificate.
    pub encryption: CertificateRecord,
    /// The validity of the original signature certificate (the receipt shows it).
    pub original_validity: Validity,
}

/// The authority's database.
#[derive(Debug, Clone)]
pub struct Storage {
    pool: AnyPool,
    backend: Backend,
    /// SQLite: the one thread that writes, committing queued writes together. PostgreSQL has
    /// concurrent writers and no such bottleneck: each write is its own transaction.
    writer: Option<Writer>,
    /// SQLite: the connections the hot reads use (see the `readers` module); PostgreSQL reads
    /// from the pool.
    readers: Option<Arc<Readers>>,
    /// When (Unix seconds, the authority's clock) expired challenges were last purged.
    last_purge: Arc<AtomicI64>,
}

/// SQLite read connections: a read takes tens of microseconds and the machine has a few
/// cores, so a few are enough to never make a request wait long for one.
const SQLITE_READERS: usize = 4;

/// How long a SQLite writer waits for the write lock before giving up.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 30_000;

/// How long an expired challenge is kept: a late request still hears "expired" (not
/// "unknown"), and a retry of a request that used it is told the same as before.
const CHALLENGE_RETENTION_SECONDS: i64 = 24 * 60 * 60;
/// Expired challenges are purged at most this often, by the next challenge offered.
const CHALLENGE_PURGE_INTERVAL_SECONDS: i64 = 60 * 60;

impl Storage {
    /// Connects to `url` (creating a SQLite file if missing) and brings the schema up to date.
    pub async fn connect(url: &str) -> Result<Self, AuthorityError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of(url)?;
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                let separator = if url.contains('?') { '&' } else { '?' };
                format!("{url}{separator}mode=rwc")
            }
            Backend::Sqlite | Backend::Postgres => url.to_owned(),
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool_options: PoolOptions<Any> = AnyPoolOptions::new()
            .acquire_timeout(Duration::from_secs(30))
            // A local file does not go stale, and a test is a round trip to the connection's
            // thread on every read; a server connection may have been dropped.
            .test_before_acquire(backend == Backend::Postgres)
            .max_connections(match backend {
                // Migrations and inspection only: the writer and the readers have their own.
                Backend::Sqlite => 2,
                Backend::Postgres => 16,
            });
        let pool_options = match backend {
            Backend::Sqlite => pool_options.after_connect(|connection, _| {
                Box::pin(async move {
                    connection.execute(SQLITE_PRAGMAS.as_str()).await?;
                    Ok(())
                })
            }),
            Backend::Postgres => pool_options,
        };
        let pool = pool_options.connect_with(options.clone()).await?;
        let (writer, readers) = match backend {
            Backend::Sqlite => {
                sqlx::migrate!("migrations/sqlite").run(&pool).await?;
                let connect = || async {
                    let mut connection = AnyConnection::connect_with(&options).await?;
                    connection.execute(SQLITE_PRAGMAS.as_str()).await?;
                    Ok::<_, AuthorityError>(connection)
                };
                let writer = Writer::spawn(connect().await?)?;
                let mut readers = Vec::with_capacity(SQLITE_READERS);
                for _ in 0..SQLITE_READERS {
                    readers.push(connect().await?);
                }
                (Some(writer), Some(Arc::new(Readers::new(readers))))
            }
            Backend::Postgres => {
                sqlx::migrate!("migrations/postgres").run(&pool).await?;
                (None, None)
            }
        };
        Ok(Self {
            pool,
            backend,
            writer,
            readers,
            last_purge: Arc::new(AtomicI64::new(i64::MIN)),
        })
    }

    /// Runs `unit` as a write: on SQLite in the writer's next batch, on PostgreSQL in a
    /// transaction of its own. Its result once it is durable; on failure nothing of it is.
    async fn write<T, F>(&self, unit: F) -> Result<T, AuthorityError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<T, AuthorityError>>
            + Send
            + 'static,
    {
        match &self.writer {
            Some(writer) => writer.write(unit).await,
            None => {
                let mut transaction = self.pool.begin().await?;
                let value = unit(&mut transaction).await?;
                transaction.commit().await?;
                Ok(value)
            }
        }
    }

    /// A connection for one read: SQLite's own read connections, or PostgreSQL's pool.
    async fn reader(&self) -> Result<ReadConnection<'_>, AuthorityError> {
        Ok(match &self.readers {
            Some(readers) => ReadConnection::Own(readers.get().await?),
            None => ReadConnection::Pooled(self.pool.acquire().await?),
        })
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes every connection (a restart in tests; the end of `serve`), after the writes
    /// already queued are committed.
    pub async fn close(&self) {
        if let Some(writer) = &self.writer {
            writer.close().await;
        }
        if let Some(readers) = &self.readers {
            readers.close().await;
        }
        self.pool.close().await;
    }

    // --- holders and certificates ---

    /// Records a holder (or updates the birthday of the one with this ID hash); its id.
    pub async fn upsert_holder(
        &self,
        national_id_hash: &[u8],
        birthday: Birthday,
        now: OffsetDateTime,
    ) -> Result<i64, AuthorityError> {
        let (national_id_hash, birthday) = (national_id_hash.to_vec(), birthday.normalized());
        self.write(move |connection| {
            Box::pin(async move {
                let row = sqlx::query(
                    "INSERT INTO holders (national_id_hash, birthday, created_at) \
                     VALUES ($1, $2, $3) \
                     ON CONFLICT (national_id_hash) DO UPDATE SET birthday = excluded.birthday \
                     RETURNING id",
                )
                .bind(national_id_hash)
                .bind(birthday)
                .bind(now.unix_timestamp())
                .fetch_one(&mut *connection)
                .await?;
                Ok(row.try_get("id")?)
            })
        })
        .await
    }

    /// Records an original certificate; its id.
    pub async fn insert_certificate(
        &self,
        certificate: &NewCertificate,
        now: OffsetDateTime,
    ) -> Result<i64, AuthorityError> {
        let certificate = certificate.clone();
        self.write(move |connection| {
            Box::pin(async move { insert_certificate(connection, &certificate, None, now).await })
        })
        .await
    }

    /// Records many original certificates together (demo data, the bench).
    pub async fn insert_certificates(
        &self,
        certificates: &[NewCertificate],
        now: OffsetDateTime,
    ) -> Result<Vec<i64>, AuthorityError> {
        let certificates = certificates.to_vec();
        self.write(move |connection| {
            Box::pin(async move {
                let mut ids = Vec::with_capacity(certificates.len());
                for certificate in &certificates {
                    ids.push(insert_certificate(connection, certificate, None, now).await?);
                }
                Ok(ids)
            })
        })
        .await
    }

    /// Changes a certificate's status (revocation and suspension are the operator's; the demo
    /// and tests set them).
    pub async fn set_status(
        &self,
        serial: &CertificateSerial,
        status: CertificateStatus,
    ) -> Result<(), AuthorityError> {
        let serial = serial.to_hex();
        self.write(move |connection| {
            Box::pin(async move {
                sqlx::query("UPDATE certificates SET status = $1 WHERE serial = $2")
                    .bind(status_name(status))
                    .bind(serial)
                    .execute(&mut *connection)
                    .await?;
                Ok(())
            })
        })
        .await
    }

    /// The certificate with this serial.
    pub async fn certificate_by_serial(
        &self,
        serial: &CertificateSerial,
    ) -> Result<Option<CertificateRecord>, AuthorityError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "SELECT {} FROM certificates c WHERE c.serial = $1",
                columns("c", CERTIFICATE_FIELDS)
            )
        });
        let row = sqlx::query(SQL.as_str())
            .bind(serial.to_hex())
            .fetch_optional(&mut *self.reader().await?)
            .await?;
        row.map(|row| Columns::new(&row, "c").certificate())
            .transpose()
    }

    /// The certificate with this serial and the renewal concerning it: the one that issued it,
    /// or else the one it is an original of.
    pub async fn certificate_with_renewal(
        &self,
        serial: &CertificateSerial,
    ) -> Result<Option<(CertificateRecord, Option<RenewalRow>)>, AuthorityError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "SELECT {}, {} FROM certificates c \
                 LEFT JOIN renewals r ON r.id = COALESCE(c.issued_by_renewal_id, \
                    (SELECT o.id FROM renewals o WHERE o.original_signature_certificate_id = c.id \
                     OR o.original_encryption_certificate_id = c.id LIMIT 1)) \
                 WHERE c.serial = $1",
                columns("c", CERTIFICATE_FIELDS),
                columns("r", RENEWAL_FIELDS)
            )
        });
        let row = sqlx::query(SQL.as_str())
            .bind(serial.to_hex())
            .fetch_optional(&mut *self.reader().await?)
            .await?;
        row.map(|row| {
            Ok((
                Columns::new(&row, "c").certificate()?,
                Columns::new(&row, "r").optional(Columns::renewal)?,
            ))
        })
        .transpose()
    }

    /// The original signature certificate of the card's renewal that is issued but not
    /// completed, with that renewal, if any.
    pub async fn interrupted_renewal_of_card(
        &self,
        card_number: &CardNumber,
    ) -> Result<Option<(CertificateRecord, RenewalRow)>, AuthorityError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "SELECT {}, {} FROM renewals r \
                 JOIN certificates c ON c.id = r.original_signature_certificate_id \
                 WHERE r.card_number = $1 AND r.completed_at IS NULL \
                 ORDER BY r.id DESC LIMIT 1",
                columns("c", CERTIFICATE_FIELDS),
                columns("r", RENEWAL_FIELDS)
            )
        });
        let row = sqlx::query(SQL.as_str())
            .bind(card_number.as_str().to_owned())
            .fetch_optional(&mut *self.reader().await?)
            .await?;
        row.map(|row| {
            Ok((
                Columns::new(&row, "c").certificate()?,
                Columns::new(&row, "r").renewal()?,
            ))
        })
        .transpose()
    }

    // --- renewals ---

    /// The renewal with this number and its two certificates, if any.
    pub async fn issued_renewal_by_number(
        &self,
        renewal_number: &RenewalNumber,
    ) -> Result<Option<IssuedRenewal>, AuthorityError> {
        static SQL: LazyLock<String> =
            LazyLock::new(|| issued_renewal_query("r.renewal_number = $1"));
        let row = sqlx::query(SQL.as_str())
            .bind(renewal_number.as_str().to_owned())
            .fetch_optional(&mut *self.reader().await?)
            .await?;
        row.map(|row| issued_renewal_from_row(&row)).transpose()
    }

    /// The renewal with this id and its two certificates.
    pub async fn issued_renewal_by_id(&self, id: i64) -> Result<IssuedRenewal, AuthorityError> {
        static SQL: LazyLock<String> = LazyLock::new(|| issued_renewal_query("r.id = $1"));
        let row = sqlx::query(SQL.as_str())
            .bind(id)
            .fetch_one(&mut *self.reader().await?)
            .await?;
        issued_renewal_from_row(&row)
    }

    /// Uses the challenge and records the renewal with its two certificates, together with its
    /// audit line. The unique constraint on the originals decides a race: the loser records
    /// nothing but its use of the challenge and its audit line, and is told which renewal won.
    ///
    /// `clear_identity_failures`: the original's identity failures are to be forgotten (the
    /// holder proved who they are); false when none were on record as the request read them,
    /// which saves a statement. A failure recorded since then stays counted: that can only
    /// make a lock stricter, never lift one.
    pub async fn issue_renewal(
        &self,
        challenge_id: &str,
        request_fingerprint: &[u8],
        renewal: &NewRenewal,
        clear_identity_failures: bool,
        audit: &AuditEntry,
    ) -> Result<ChallengeWrite<IssueOutcome>, AuthorityError> {
        let (challenge_id, request_fingerprint) =
            (challenge_id.to_owned(), request_fingerprint.to_vec());
        let (renewal, audit) = (renewal.clone(), audit.clone());
        self.write(move |connection| {
            Box::pin(async move {
                issue_renewal(
                    connection,
                    &challenge_id,
                    &request_fingerprint,
                    &renewal,
                    clear_identity_failures,
                    audit,
                )
                .await
            })
        })
        .await
    }

    /// Records a renewal done and completed elsewhere (history imported with the holders,
    /// the demo's "already renewed" card), with its two certificates; its id.
    pub async fn insert_completed_renewal(
        &self,
        renewal: &NewRenewal,
        completed_at: OffsetDateTime,
    ) -> Result<i64, AuthorityError> {
        let renewal = renewal.clone();
        self.write(move |connection| {
            Box::pin(async move {
                let row = sqlx::query(
                    "INSERT INTO renewals (renewal_number, holder_id, card_number, \
                     original_signature_certificate_id, original_encryption_certificate_id, \
                     renewed_at, completed_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                )
                .bind(renewal.renewal_number.as_str().to_owned())
                .bind(renewal.holder_id)
                .bind(renewal.card_number.as_str().to_owned())
                .bind(renewal.original_signature_certificate_id)
                .bind(renewal.original_encryption_certificate_id)
                .bind(renewal.renewed_at.unix_timestamp())
                .bind(completed_at.unix_timestamp())
                .fetch_one(&mut *connection)
                .await?;
                let renewal_id: i64 = row.try_get("id")?;
                insert_renewed_pair(connection, &renewal, renewal_id).await?;
                Ok(renewal_id)
            })
        })
        .await
    }

    /// Marks a renewal completed (the first time only), with the audit line; when it was
    /// completed.
    pub async fn complete_renewal(
        &self,
        renewal_id: i64,
        now: OffsetDateTime,
        audit: &AuditEntry,
    ) -> Result<OffsetDateTime, AuthorityError> {
        let audit = audit.clone();
        self.write(move |connection| {
            Box::pin(async move {
                let row = sqlx::query(
                    "UPDATE renewals SET completed_at = COALESCE(completed_at, $1) WHERE id = $2 \
                     RETURNING completed_at",
                )
                .bind(now.unix_timestamp())
                .bind(renewal_id)
                .fetch_one(&mut *connection)
                .await?;
                insert_audit(connection, &audit).await?;
                instant(row.try_get("completed_at")?)
            })
        })
        .await
    }

    // --- challenges ---

    /// Records an offered challenge with its audit line; now and then also purges the
    /// challenges that expired long enough ago.
    pub async fn insert_challenge(
        &self,
        challenge: &ChallengeRecord,
        audit: &AuditEntry,
    ) -> Result<(), AuthorityError> {
        let purge_before = self.purge_due(challenge.created_at);
        let (challenge, audit) = (challenge.clone(), audit.clone());
        self.write(move |connection| {
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO challenges (id, certificate_id, challenge, created_at, \
                     expires_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(challenge.id)
                .bind(challenge.certificate_id)
                .bind(challenge.challenge)
                .bind(challenge.created_at.unix_timestamp())
                .bind(challenge.expires_at.unix_timestamp())
                .execute(&mut *connection)
                .await?;
                insert_audit(connection, &audit).await?;
                if let Some(before) = purge_before {
                    let purged = sqlx::query("DELETE FROM challenges WHERE expires_at < $1")
                        .bind(before)
                        .execute(&mut *connection)
                        .await?
                        .rows_affected();
                    tracing::debug!(purged, "expired challenges purged");
                }
                Ok(())
            })
        })
        .await
    }

    /// The expiry before which challenges are to be purged now, if a purge is due (at most one
    /// per interval, whoever claims it first).
    fn purge_due(&self, now: OffsetDateTime) -> Option<i64> {
        let now = now.unix_timestamp();
        let last = self.last_purge.load(Ordering::Relaxed);
        // A clock set back (tests) makes a purge due as well as one gone forward.
        let due = last.checked_sub(now).is_none_or(|gap| {
            gap.unsigned_abs() >= CHALLENGE_PURGE_INTERVAL_SECONDS.unsigned_abs()
        });
        (due && self
            .last_purge
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok())
        .then(|| now.saturating_sub(CHALLENGE_RETENTION_SECONDS))
    }

    /// The challenge with this id and what proving its holder needs, if there is one; with
    /// the certificate whose serial is `alongside`, if any (one query for all of it).
    pub async fn challenge_context(
        &self,
        id: &str,
        alongside: Option<&CertificateSerial>,
    ) -> Result<Option<ChallengeContext>, AuthorityError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "SELECT {}, {}, h.id AS h_id, h.national_id_hash AS h_national_id_hash, \
                 h.birthday AS h_birthday, f.locked_until AS f_locked_until, \
                 f.certificate_id AS f_certificate_id, {}, {} \
                 FROM challenges ch \
                 JOIN certificates c ON c.id = ch.certificate_id \
                 JOIN holders h ON h.id = c.holder_id \
                 LEFT JOIN identity_failures f ON f.certificate_id = c.id \
                 LEFT JOIN renewals r ON r.original_signature_certificate_id = c.id \
                    OR r.original_encryption_certificate_id = c.id \
                 LEFT JOIN certificates a ON a.serial = $2 \
                 WHERE ch.id = $1",
                columns("ch", CHALLENGE_FIELDS),
                columns("c", CERTIFICATE_FIELDS),
                columns("r", RENEWAL_FIELDS),
                columns("a", CERTIFICATE_FIELDS)
            )
        });
        let row = sqlx::query(SQL.as_str())
            .bind(id.to_owned())
            .bind(alongside.map(CertificateSerial::to_hex))
            .fetch_optional(&mut *self.reader().await?)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let holder = Columns::new(&row, "h");
        let failures = Columns::new(&row, "f");
        Ok(Some(ChallengeContext {
            challenge: Columns::new(&row, "ch").challenge()?,
            certificate: Columns::new(&row, "c").certificate()?,
            holder: HolderRecord {
                id: holder.get("id")?,
                national_id_hash: holder.get("national_id_hash")?,
                birthday: holder.parse("birthday", Birthday::parse)?,
            },
            locked_until: optional_instant(failures.get("locked_until")?)?,
            identity_failures_recorded: failures.get::<Option<i64>>("certificate_id")?.is_some(),
            renewal_of_original: Columns::new(&row, "r").optional(Columns::renewal)?,
            alongside: Columns::new(&row, "a").optional(Columns::certificate)?,
        }))
    }

    /// Uses a challenge without issuing (resume, a renewal on record), with the audit line.
    pub async fn use_challenge(
        &self,
        challenge_id: &str,
        request_fingerprint: &[u8],
        now: OffsetDateTime,
        audit: &AuditEntry,
    ) -> Result<ChallengeWrite<()>, AuthorityError> {
        let (challenge_id, request_fingerprint) =
            (challenge_id.to_owned(), request_fingerprint.to_vec());
        let audit = audit.clone();
        self.write(move |connection| {
            Box::pin(async move {
                if !use_challenge(connection, &challenge_id, &request_fingerprint, now).await? {
                    return Ok(None);
                }
                insert_audit(connection, &audit).await?;
                Ok(Some(()))
            })
        })
        .await
    }

    // --- identity failures ---

    /// Counts an identity failure (using the challenge, with the audit line). At `limit`
    /// failures in a row the certificate is locked until `locked_until` and the count starts
    /// again.
    #[allow(clippy::too_many_arguments)] // one transaction, every value it writes
    pub async fn record_identity_failure(
        &self,
        challenge_id: &str,
        request_fingerprint: &[u8],
        certificate_id: i64,
        limit: i64,
        now: OffsetDateTime,
        locked_until: OffsetDateTime,
        audit: &AuditEntry,
    ) -> Result<ChallengeWrite<()>, AuthorityError> {
        let (challenge_id, request_fingerprint) =
            (challenge_id.to_owned(), request_fingerprint.to_vec());
        let audit = audit.clone();
        self.write(move |connection| {
            Box::pin(async move {
                if !use_challenge(connection, &challenge_id, &request_fingerprint, now).await? {
                    return Ok(None);
                }
                sqlx::query(
                    "INSERT INTO identity_failures (certificate_id, failures, locked_until) \
                     VALUES ($1, 1, NULL) \
                     ON CONFLICT (certificate_id) DO UPDATE SET \
                     failures = CASE WHEN identity_failures.failures + 1 >= $2 THEN 0 \
                                ELSE identity_failures.failures + 1 END, \
                     locked_until = CASE WHEN identity_failures.failures + 1 >= $2 THEN $3 \
                                    ELSE identity_failures.locked_until END",
                )
                .bind(certificate_id)
                .bind(limit)
                .bind(locked_until.unix_timestamp())
                .execute(&mut *connection)
                .await?;
                insert_audit(connection, &audit).await?;
                Ok(Some(()))
            })
        })
        .await
    }

    // --- audit ---

    /// Appends an audit line on its own.
    pub async fn audit(&self, entry: &AuditEntry) -> Result<(), AuthorityError> {
        let entry = entry.clone();
        self.write(move |connection| {
            Box::pin(async move { insert_audit(connection, &entry).await })
        })
        .await
    }

    /// The audit lines, oldest first (tests, inspection).
    pub async fn audit_lines(&self) -> Result<Vec<AuditEntry>, AuthorityError> {
        let rows = sqlx::query(
            "SELECT at, action, outcome, client, certificate_serial, renewal_number, detail \
             FROM audit_log ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AuditEntry {
                    at: instant(row.try_get("at")?)?,
                    action: row.try_get("action")?,
                    outcome: row.try_get("outcome")?,
                    client: row.try_get("client")?,
                    certificate_serial: row.try_get("certificate_serial")?,
                    renewal_number: row.try_get("renewal_number")?,
                    detail: row.try_get("detail")?,
                })
            })
            .collect()
    }

    /// Rows per table.
    pub async fn counts(&self) -> Result<TableCounts, AuthorityError> {
        let count = |sql: &'static str| async move {
            let row = sqlx::query(sql).fetch_one(&self.pool).await?;
            Ok::<i64, AuthorityError>(row.try_get("n")?)
        };
        Ok(TableCounts {
            holders: count("SELECT COUNT(*) AS n FROM holders").await?,
            certificates: count("SELECT COUNT(*) AS n FROM certificates").await?,
            renewals: count("SELECT COUNT(*) AS n FROM renewals").await?,
            challenges: count("SELECT COUNT(*) AS n FROM challenges").await?,
            challenges_used: count(
                "SELECT COUNT(*) AS n FROM challenges WHERE used_at IS NOT NULL",
            )
            .await?,
            identity_failures: count("SELECT COUNT(*) AS n FROM identity_failures").await?,
            audit_log: count("SELECT COUNT(*) AS n FROM audit_log").await?,
        })
    }
}

/// A read connection (see [`Storage::reader`]).
enum ReadConnection<'s> {
    Own(Reader<'s>),
    Pooled(sqlx::pool::PoolConnection<Any>),
}

impl std::ops::Deref for ReadConnection<'_> {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match self {
            ReadConnection::Own(connection) => connection,
            ReadConnection::Pooled(connection) => connection,
        }
    }
}

impl std::ops::DerefMut for ReadConnection<'_> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            ReadConnection::Own(connection) => connection,
            ReadConnection::Pooled(connection) => connection,
        }
    }
}

/// Every connection's settings. WAL: readers never wait for the writer. FULL: a committed
/// renewal survives a power cut, not only a crash. temp_store MEMORY: the writer's per-request
/// savepoints keep their undo pages in memory; by default they spill to a temporary file
/// that is created, written and deleted in every batch (it holds nothing a commit needs).
static SQLITE_PRAGMAS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
         PRAGMA temp_store = MEMORY; PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS};"
    )
});

/// Each table's columns. Queries select them as `<alias>_<column>` (joins repeat names), and
/// [`Columns`] reads them back by those names.
const CERTIFICATE_FIELDS: &[&str] = &[
    "id",
    "serial",
    "holder_id",
    "card_number",
    "role",
    "status",
    "not_before",
    "not_after",
    "der",
    "issued_by_renewal_id",
];
const RENEWAL_FIELDS: &[&str] = &[
    "id",
    "renewal_number",
    "holder_id",
    "card_number",
    "original_signature_certificate_id",
    "original_encryption_certificate_id",
    "renewed_at",
    "completed_at",
];
const CHALLENGE_FIELDS: &[&str] = &[
    "id",
    "certificate_id",
    "challenge",
    "created_at",
    "expires_at",
    "used_at",
    "request_fingerprint",
];

/// `a.x AS a_x, a.y AS a_y, …`
fn columns(alias: &str, fields: &[&str]) -> String {
    fields
        .iter()
        .map(|field| format!("{alias}.{field} AS {alias}_{field}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One table's columns in a row, by name (`<alias>_<column>`, see [`columns`]), read into the
/// domain's types once, here: a stored value that does not parse is an inconsistency.
struct Columns<'r> {
    row: &'r AnyRow,
    alias: &'static str,
}

impl<'r> Columns<'r> {
    fn new(row: &'r AnyRow, alias: &'static str) -> Self {
        Self { row, alias }
    }

    fn name(&self, column: &str) -> String {
        format!("{}_{column}", self.alias)
    }

    fn get<T>(&self, column: &str) -> Result<T, AuthorityError>
    where
        T: for<'a> sqlx::Decode<'a, Any> + sqlx::Type<Any>,
    {
        Ok(self.row.try_get(self.name(column).as_str())?)
    }

    /// A text column read with `parse`.
    fn parse<T, E: std::fmt::Display>(
        &self,
        column: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<T, AuthorityError> {
        let text: String = self.get(column)?;
        parse(&text).map_err(|error| {
            AuthorityError::Inconsistent(format!("stored {}: {text:?}: {error}", self.name(column)))
        })
    }

    fn instant(&self, column: &str) -> Result<OffsetDateTime, AuthorityError> {
        instant(self.get(column)?)
    }

    /// `read` of an outer-joined table; `None` when the join found no row (its id is NULL).
    fn optional<T>(
        &self,
        read: impl FnOnce(&Self) -> Result<T, AuthorityError>,
    ) -> Result<Option<T>, AuthorityError> {
        match self.get::<Option<i64>>("id")? {
            Some(_) => read(self).map(Some),
            None => Ok(None),
        }
    }

    /// [`CERTIFICATE_FIELDS`].
    fn certificate(&self) -> Result<CertificateRecord, AuthorityError> {
        Ok(CertificateRecord {
            id: self.get("id")?,
            serial: self.parse("serial", CertificateSerial::from_hex)?,
            holder_id: self.get("holder_id")?,
            card_number: self.parse("card_number", CardNumber::parse)?,
            role: self.parse("role", |text| {
                KeyRole::parse(text).ok_or("not a certificate role")
            })?,
            status: self.parse("status", parse_status)?,
            validity: Validity {
                not_before: self.instant("not_before")?,
                not_after: self.instant("not_after")?,
            },
            der: self.get("der")?,
            issued_by_renewal_id: self.get("issued_by_renewal_id")?,
        })
    }

    /// [`RENEWAL_FIELDS`].
    fn renewal(&self) -> Result<RenewalRow, AuthorityError> {
        Ok(RenewalRow {
            id: self.get("id")?,
            renewal_number: self.parse("renewal_number", RenewalNumber::parse)?,
            holder_id: self.get("holder_id")?,
            card_number: self.parse("card_number", CardNumber::parse)?,
            original_signature_certificate_id: self.get("original_signature_certificate_id")?,
            original_encryption_certificate_id: self.get("original_encryption_certificate_id")?,
            renewed_at: self.instant("renewed_at")?,
            completed_at: optional_instant(self.get("completed_at")?)?,
        })
    }

    /// [`CHALLENGE_FIELDS`].
    fn challenge(&self) -> Result<ChallengeRecord, AuthorityError> {
        Ok(ChallengeRecord {
            id: self.get("id")?,
            certificate_id: self.get("certificate_id")?,
            challenge: self.get("challenge")?,
            created_at: self.instant("created_at")?,
            expires_at: self.instant("expires_at")?,
            used_at: optional_instant(self.get("used_at")?)?,
            request_fingerprint: self.get("request_fingerprint")?,
        })
    }
}

/// A renewal, its two certificates and its original's validity, for the renewal `condition`
/// picks. Outer joins for the certificates: a renewal lacking one is reported, not hidden.
fn issued_renewal_query(condition: &str) -> String {
    format!(
        "SELECT {}, {}, {}, o.not_before AS o_not_before, o.not_after AS o_not_after \
         FROM renewals r \
         LEFT JOIN certificates s ON s.issued_by_renewal_id = r.id AND s.role = 'signature' \
         LEFT JOIN certificates e ON e.issued_by_renewal_id = r.id AND e.role = 'encryption' \
         JOIN certificates o ON o.id = r.original_signature_certificate_id \
         WHERE {condition}",
        columns("r", RENEWAL_FIELDS),
        columns("s", CERTIFICATE_FIELDS),
        columns("e", CERTIFICATE_FIELDS)
    )
}

fn issued_renewal_from_row(row: &AnyRow) -> Result<IssuedRenewal, AuthorityError> {
    let renewal = Columns::new(row, "r").renewal()?;
    let certificate = |alias: &'static str, role: KeyRole| {
        Columns::new(row, alias)
            .optional(Columns::certificate)?
            .ok_or_else(|| {
                AuthorityError::Inconsistent(format!(
                    "renewal {} lacks its {} certificate",
                    renewal.renewal_number,
                    role.as_str()
                ))
            })
    };
    let original = Columns::new(row, "o");
    Ok(IssuedRenewal {
        signature: certificate("s", KeyRole::Signature)?,
        encryption: certificate("e", KeyRole::Encryption)?,
        original_validity: Validity {
            not_before: original.instant("not_before")?,
            not_after: original.instant("not_after")?,
        },
        renewal,
    })
}

/// The body of [`Storage::issue_renewal`], run inside its transaction.
async fn issue_renewal(
    connection: &mut AnyConnection,
    challenge_id: &str,
    request_fingerprint: &[u8],
    renewal: &NewRenewal,
    clear_identity_failures: bool,
    mut audit: AuditEntry,
) -> Result<ChallengeWrite<IssueOutcome>, AuthorityError> {
    if !use_challenge(
        connection,
        challenge_id,
        request_fingerprint,
        renewal.renewed_at,
    )
    .await?
    {
        return Ok(None);
    }
    let inserted = sqlx::query(
        "INSERT INTO renewals (renewal_number, holder_id, card_number, \
         original_signature_certificate_id, original_encryption_certificate_id, renewed_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(renewal.renewal_number.as_str().to_owned())
    .bind(renewal.holder_id)
    .bind(renewal.card_number.as_str().to_owned())
    .bind(renewal.original_signature_certificate_id)
    .bind(renewal.original_encryption_certificate_id)
    .bind(renewal.renewed_at.unix_timestamp())
    .fetch_optional(&mut *connection)
    .await?;
    if let Some(row) = inserted {
        let renewal_id: i64 = row.try_get("id")?;
        insert_renewed_pair(connection, renewal, renewal_id).await?;
        if clear_identity_failures {
            sqlx::query("DELETE FROM identity_failures WHERE certificate_id = $1")
                .bind(renewal.original_signature_certificate_id)
                .execute(&mut *connection)
                .await?;
        }
        audit.renewal_number = Some(renewal.renewal_number.to_string());
        insert_audit(connection, &audit).await?;
        return Ok(Some(IssueOutcome::Issued(renewal_id)));
    }
    let existing = sqlx::query(
        "SELECT id, renewal_number FROM renewals WHERE original_signature_certificate_id = $1 \
         OR original_encryption_certificate_id = $2",
    )
    .bind(renewal.original_signature_certificate_id)
    .bind(renewal.original_encryption_certificate_id)
    .fetch_optional(&mut *connection)
    .await?;
    let Some(existing) = existing else {
        // Only a renewal-number collision gets here (48 random bits a day).
        return Err(AuthorityError::Inconsistent(
            "a renewal insert conflicted with no renewal of these originals".into(),
        ));
    };
    let renewal_id: i64 = existing.try_get("id")?;
    audit.renewal_number = Some(existing.try_get("renewal_number")?);
    audit.detail = format!(
        "{}; renewed already, same certificates returned",
        audit.detail
    );
    insert_audit(connection, &audit).await?;
    Ok(Some(IssueOutcome::AlreadyRenewed(renewal_id)))
}

/// Marks the challenge used by this request, unless another request used it; the same
/// request again (a retry) may use it again.
async fn use_challenge(
    connection: &mut AnyConnection,
    challenge_id: &str,
    request_fingerprint: &[u8],
    now: OffsetDateTime,
) -> Result<bool, AuthorityError> {
    let result = sqlx::query(
        "UPDATE challenges SET used_at = COALESCE(used_at, $1), request_fingerprint = $2 \
         WHERE id = $3 AND (used_at IS NULL OR request_fingerprint = $2)",
    )
    .bind(now.unix_timestamp())
    .bind(request_fingerprint.to_vec())
    .bind(challenge_id.to_owned())
    .execute(&mut *connection)
    .await?;
    Ok(result.rows_affected() == 1)
}

async fn insert_certificate(
    connection: &mut AnyConnection,
    certificate: &NewCertificate,
    issued_by_renewal_id: Option<i64>,
    now: OffsetDateTime,
) -> Result<i64, AuthorityError> {
    let row = sqlx::query(
        "INSERT INTO certificates (serial, holder_id, card_number, role, status, not_before, \
         not_after, der, issued_by_renewal_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(certificate.serial.to_hex())
    .bind(certificate.holder_id)
    .bind(certificate.card_number.as_str().to_owned())
    .bind(certificate.role.as_str())
    .bind(status_name(certificate.status))
    .bind(certificate.validity.not_before.unix_timestamp())
    .bind(certificate.validity.not_after.unix_timestamp())
    .bind(certificate.der.clone())
    .bind(issued_by_renewal_id)
    .bind(now.unix_timestamp())
    .fetch_one(&mut *connection)
    .await?;
    Ok(row.try_get("id")?)
}

/// Records the two certificates a renewal issued, in one statement (one round trip).
async fn insert_renewed_pair(
    connection: &mut AnyConnection,
    renewal: &NewRenewal,
    renewal_id: i64,
) -> Result<(), AuthorityError> {
    let mut query = sqlx::query(
        "INSERT INTO certificates (serial, holder_id, card_number, role, status, not_before, \
         not_after, der, issued_by_renewal_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10), \
         ($11, $12, $13, $14, $15, $16, $17, $18, $19, $20)",
    );
    for certificate in [&renewal.signature, &renewal.encryption] {
        query = query
            .bind(certificate.serial.to_hex())
            .bind(certificate.holder_id)
            .bind(certificate.card_number.as_str().to_owned())
            .bind(certificate.role.as_str())
            .bind(status_name(certificate.status))
            .bind(certificate.validity.not_before.unix_timestamp())
            .bind(certificate.validity.not_after.unix_timestamp())
            .bind(certificate.der.clone())
            .bind(renewal_id)
            .bind(renewal.renewed_at.unix_timestamp());
    }
    query.execute(&mut *connection).await?;
    Ok(())
}

async fn insert_audit(
    connection: &mut AnyConnection,
    entry: &AuditEntry,
) -> Result<(), AuthorityError> {
    sqlx::query(
        "INSERT INTO audit_log (at, action, outcome, client, certificate_serial, renewal_number, \
         detail) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(entry.at.unix_timestamp())
    .bind(entry.action.clone())
    .bind(entry.outcome.clone())
    .bind(entry.client.clone())
    .bind(entry.certificate_serial.clone())
    .bind(entry.renewal_number.clone())
    .bind(entry.detail.clone())
    .execute(&mut *connection)
    .await?;
    Ok(())
}

fn status_name(status: CertificateStatus) -> &'static str {
    match status {
        CertificateStatus::Valid => "valid",
        CertificateStatus::Revoked => "revoked",
        CertificateStatus::Suspended => "suspended",
    }
}

fn parse_status(text: &str) -> Result<CertificateStatus, &'static str> {
    match text {
        "valid" => Ok(CertificateStatus::Valid),
        "revoked" => Ok(CertificateStatus::Revoked),
        "suspended" => Ok(CertificateStatus::Suspended),
        _ => Err("not a certificate status"),
    }
}

fn instant(unix_seconds: i64) -> Result<OffsetDateTime, AuthorityError> {
    OffsetDateTime::from_unix_timestamp(unix_seconds)
        .map_err(|error| AuthorityError::Inconsistent(format!("stored time: {error}")))
}

fn optional_instant(unix_seconds: Option<i64>) -> Result<Option<OffsetDateTime>, AuthorityError> {
    unix_seconds.map(instant).transpose()
}
