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
//! - Every write transaction starts with a write: SQLite then waits for the write lock
//!   (`busy_timeout`) instead of failing a read transaction that tries to upgrade.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, MutexGuard};

use renewal::{CertificateSerial, CertificateStatus, Validity};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::pool::PoolOptions;
use sqlx::{Any, AnyPool, Executor, Row};
use time::OffsetDateTime;

use crate::audit::AuditEntry;
use crate::error::AuthorityError;
use crate::issuance::CertificateRole;

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
    pub card_number: String,
    /// Signature or encryption.
    pub role: CertificateRole,
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
    pub card_number: String,
    /// Signature or encryption.
    pub role: CertificateRole,
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
    /// Birthday, `YYYY-MM-DD`.
    pub birthday: String,
}

/// A renewal in the records.
#[derive(Debug, Clone)]
pub struct RenewalRow {
    /// Row id.
    pub id: i64,
    /// The renewal number.
    pub renewal_number: String,
    /// The holder.
    pub holder_id: i64,
    /// The card.
    pub card_number: String,
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
    pub renewal_number: String,
    /// The holder.
    pub holder_id: i64,
    /// The card.
    pub card_number: String,
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

/// What happened to an attempt to record a renewal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueOutcome {
    /// Recorded: this is the renewal.
    Issued(i64),
    /// The original was renewed already (by a request that got there first): this one.
    AlreadyRenewed(i64),
    /// Another request used the challenge; nothing recorded.
    ChallengeUsed,
}

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

/// The authority's database.
#[derive(Debug, Clone)]
pub struct Storage {
    pool: AnyPool,
    backend: Backend,
    /// SQLite has one writer at a time; writers queue here instead of in SQLite's busy
    /// handler, which sleeps in growing steps and wrecks latency under load.
    sqlite_writer: Option<Arc<Mutex<()>>>,
}

/// How long a SQLite writer waits for the write lock before giving up.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 30_000;

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
            .max_connections(match backend {
                // One writer at a time anyway; a few more connections for readers.
                Backend::Sqlite => 8,
                Backend::Postgres => 16,
            });
        let pool_options = match backend {
            Backend::Sqlite => pool_options.after_connect(|connection, _| {
                Box::pin(async move {
                    // WAL: readers never wait for the writer. FULL: a committed renewal
                    // survives a power cut, not only a crash.
                    connection
                        .execute(
                            format!(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS};"
                            )
                            .as_str(),
                        )
                        .await?;
                    Ok(())
                })
            }),
            Backend::Postgres => pool_options,
        };
        let pool = pool_options.connect_with(options).await?;
        match backend {
            Backend::Sqlite => sqlx::migrate!("migrations/sqlite").run(&pool).await?,
            Backend::Postgres => sqlx::migrate!("migrations/postgres").run(&pool).await?,
        }
        let sqlite_writer = match backend {
            Backend::Sqlite => Some(Arc::new(Mutex::new(()))),
            Backend::Postgres => None,
        };
        Ok(Self {
            pool,
            backend,
            sqlite_writer,
        })
    }

    /// Waits for this process's turn to write (SQLite only).
    async fn writer(&self) -> Option<MutexGuard<'_, ()>> {
        match &self.sqlite_writer {
            Some(lock) => Some(lock.lock().await),
            None => None,
        }
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes every connection (a restart in tests; the end of `serve`).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    // --- holders and certificates ---

    /// Records a holder (or updates the birthday of the one with this ID hash); its id.
    pub async fn upsert_holder(
        &self,
        national_id_hash: &[u8],
        birthday: &str,
        now: OffsetDateTime,
    ) -> Result<i64, AuthorityError> {
        let _writer = self.writer().await;
        let row = sqlx::query(
            "INSERT INTO holders (national_id_hash, birthday, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (national_id_hash) DO UPDATE SET birthday = excluded.birthday \
             RETURNING id",
        )
        .bind(national_id_hash.to_vec())
        .bind(birthday.to_owned())
        .bind(now.unix_timestamp())
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("id")?)
    }

    /// The holder with this id.
    pub async fn holder(&self, id: i64) -> Result<HolderRecord, AuthorityError> {
        let row = sqlx::query("SELECT id, national_id_hash, birthday FROM holders WHERE id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        Ok(HolderRecord {
            id: row.try_get("id")?,
            national_id_hash: row.try_get("national_id_hash")?,
            birthday: row.try_get("birthday")?,
        })
    }

    /// Records an original certificate; its id.
    pub async fn insert_certificate(
        &self,
        certificate: &NewCertificate,
        now: OffsetDateTime,
    ) -> Result<i64, AuthorityError> {
        let _writer = self.writer().await;
        let mut connection = self.pool.acquire().await?;
        insert_certificate(&mut connection, certificate, None, now).await
    }

    /// Records many original certificates in one transaction (demo data, the bench).
    pub async fn insert_certificates(
        &self,
        certificates: &[NewCertificate],
        now: OffsetDateTime,
    ) -> Result<Vec<i64>, AuthorityError> {
        let _writer = self.writer().await;
        let mut transaction = self.pool.begin().await?;
        let mut ids = Vec::with_capacity(certificates.len());
        for certificate in certificates {
            ids.push(insert_certificate(&mut transaction, certificate, None, now).await?);
        }
        transaction.commit().await?;
        Ok(ids)
    }

    /// Changes a certificate's status (revocation and suspension are the operator's; the demo
    /// and tests set them).
    pub async fn set_status(
        &self,
        serial: &CertificateSerial,
        status: CertificateStatus,
    ) -> Result<(), AuthorityError> {
        let _writer = self.writer().await;
        sqlx::query("UPDATE certificates SET status = $1 WHERE serial = $2")
            .bind(status_name(status))
            .bind(serial.to_hex())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The certificate with this serial.
    pub async fn certificate_by_serial(
        &self,
        serial: &CertificateSerial,
    ) -> Result<Option<CertificateRecord>, AuthorityError> {
        let row = sqlx::query(&format!("{CERTIFICATE_COLUMNS} WHERE serial = $1"))
            .bind(serial.to_hex())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| certificate_from_row(&row)).transpose()
    }

    /// The certificate with this id.
    pub async fn certificate_by_id(&self, id: i64) -> Result<CertificateRecord, AuthorityError> {
        let row = sqlx::query(&format!("{CERTIFICATE_COLUMNS} WHERE id = $1"))
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        certificate_from_row(&row)
    }

    /// The certificates a renewal issued (signature and encryption).
    pub async fn renewed_certificates(
        &self,
        renewal_id: i64,
    ) -> Result<Vec<CertificateRecord>, AuthorityError> {
        let rows = sqlx::query(&format!(
            "{CERTIFICATE_COLUMNS} WHERE issued_by_renewal_id = $1 ORDER BY role"
        ))
        .bind(renewal_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(certificate_from_row).collect()
    }

    // --- renewals ---

    /// The renewal whose original is this certificate, if any.
    pub async fn renewal_of_original(
        &self,
        certificate_id: i64,
    ) -> Result<Option<RenewalRow>, AuthorityError> {
        let row = sqlx::query(&format!(
            "{RENEWAL_COLUMNS} WHERE original_signature_certificate_id = $1 \
             OR original_encryption_certificate_id = $1"
        ))
        .bind(certificate_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| renewal_from_row(&row)).transpose()
    }

    /// The renewal with this id.
    pub async fn renewal_by_id(&self, id: i64) -> Result<RenewalRow, AuthorityError> {
        let row = sqlx::query(&format!("{RENEWAL_COLUMNS} WHERE id = $1"))
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        renewal_from_row(&row)
    }

    /// The renewal with this number, if any.
    pub async fn renewal_by_number(
        &self,
        renewal_number: &str,
    ) -> Result<Option<RenewalRow>, AuthorityError> {
        let row = sqlx::query(&format!("{RENEWAL_COLUMNS} WHERE renewal_number = $1"))
            .bind(renewal_number.to_owned())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| renewal_from_row(&row)).transpose()
    }

    /// Uses the challenge and records the renewal with its two certificates, in one
    /// transaction with its audit line. The unique constraint on the originals decides a race:
    /// the loser records nothing but its use of the challenge and its audit line, and is told
    /// which renewal won.
    pub async fn issue_renewal(
        &self,
        challenge_id: &str,
        request_fingerprint: &[u8],
        renewal: &NewRenewal,
        audit: &AuditEntry,
    ) -> Result<IssueOutcome, AuthorityError> {
        let _writer = self.writer().await;
        let mut transaction = self.pool.begin().await?;
        if !use_challenge(
            &mut transaction,
            challenge_id,
            request_fingerprint,
            renewal.renewed_at,
        )
        .await?
        {
            return Ok(IssueOutcome::ChallengeUsed);
        }
        let inserted = sqlx::query(
            "INSERT INTO renewals (renewal_number, holder_id, card_number, \
             original_signature_certificate_id, original_encryption_certificate_id, renewed_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(renewal.renewal_number.clone())
        .bind(renewal.holder_id)
        .bind(renewal.card_number.clone())
        .bind(renewal.original_signature_certificate_id)
        .bind(renewal.original_encryption_certificate_id)
        .bind(renewal.renewed_at.unix_timestamp())
        .fetch_optional(&mut *transaction)
        .await?;
        let outcome = match inserted {
            Some(row) => {
                let renewal_id: i64 = row.try_get("id")?;
                for certificate in [&renewal.signature, &renewal.encryption] {
                    insert_certificate(
                        &mut transaction,
                        certificate,
                        Some(renewal_id),
                        renewal.renewed_at,
                    )
                    .await?;
                }
                sqlx::query("DELETE FROM identity_failures WHERE certificate_id = $1")
                    .bind(renewal.original_signature_certificate_id)
                    .execute(&mut *transaction)
                    .await?;
                let mut line = audit.clone();
                line.renewal_number = Some(renewal.renewal_number.clone());
                insert_audit(&mut transaction, &line).await?;
                IssueOutcome::Issued(renewal_id)
            }
            None => {
                let existing = sqlx::query(
                    "SELECT id FROM renewals WHERE original_signature_certificate_id = $1 \
                     OR original_encryption_certificate_id = $2",
                )
                .bind(renewal.original_signature_certificate_id)
                .bind(renewal.original_encryption_certificate_id)
                .fetch_optional(&mut *transaction)
                .await?;
                let Some(existing) = existing else {
                    // Only a renewal-number collision gets here (48 random bits a day).
                    return Err(AuthorityError::Inconsistent(
                        "a renewal insert conflicted with no renewal of these originals".into(),
                    ));
                };
                let renewal_id: i64 = existing.try_get("id")?;
                let number: String =
                    sqlx::query("SELECT renewal_number FROM renewals WHERE id = $1")
                        .bind(renewal_id)
                        .fetch_one(&mut *transaction)
                        .await?
                        .try_get("renewal_number")?;
                let mut line = audit.clone();
                line.renewal_number = Some(number);
                line.detail = format!(
                    "{}; renewed already, same certificates returned",
                    line.detail
                );
                insert_audit(&mut transaction, &line).await?;
                IssueOutcome::AlreadyRenewed(renewal_id)
            }
        };
        transaction.commit().await?;
        Ok(outcome)
    }

    /// Records a renewal done and completed elsewhere (history imported with the holders,
    /// the demo's "already renewed" card), with its two certificates; its id.
    pub async fn insert_completed_renewal(
        &self,
        renewal: &NewRenewal,
        completed_at: OffsetDateTime,
    ) -> Result<i64, AuthorityError> {
        let _writer = self.writer().await;
        let mut transaction = self.pool.begin().await?;
        let row = sqlx::query(
            "INSERT INTO renewals (renewal_number, holder_id, card_number, \
             original_signature_certificate_id, original_encryption_certificate_id, renewed_at, \
             completed_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(renewal.renewal_number.clone())
        .bind(renewal.holder_id)
        .bind(renewal.card_number.clone())
        .bind(renewal.original_signature_certificate_id)
        .bind(renewal.original_encryption_certificate_id)
        .bind(renewal.renewed_at.unix_timestamp())
        .bind(completed_at.unix_timestamp())
        .fetch_one(&mut *transaction)
        .await?;
        let renewal_id: i64 = row.try_get("id")?;
        for certificate in [&renewal.signature, &renewal.encryption] {
            insert_certificate(
                &mut transaction,
                certificate,
                Some(renewal_id),
                renewal.renewed_at,
            )
            .await?;
        }
        transaction.commit().await?;
        Ok(renewal_id)
    }

    /// Marks a renewal completed (the first time only); when it was completed.
    pub async fn complete_renewal(
        &self,
        renewal_id: i64,
        now: OffsetDateTime,
        audit: &AuditEntry,
    ) -> Result<OffsetDateTime, AuthorityError> {
        let _writer = self.writer().await;
        let mut transaction = self.pool.begin().await?;
        let row = sqlx::query(
            "UPDATE renewals SET completed_at = COALESCE(completed_at, $1) WHERE id = $2 \
             RETURNING completed_at",
        )
        .bind(now.unix_timestamp())
        .bind(renewal_id)
        .fetch_one(&mut *transaction)
        .await?;
        insert_audit(&mut transaction, audit).await?;
        transaction.commit().await?;
        instant(row.try_get("completed_at")?)
    }

    // --- challenges ---

    /// Records an offered challenge with its audit line.
    pub async fn insert_challenge(
        &self,
        challenge: &ChallengeRecord,
        audit: &AuditEntry,
    ) -> Result<(), AuthorityError> {
        let _writer = self.writer().await;
        let mut transaction = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO challenges (id, certificate_id, challenge, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(challenge.id.clone())
        .bind(challenge.certificate_id)
        .bind(challenge.challenge.clone())
        .bind(challenge.created_at.unix_timestamp())
        .bind(challenge.expires_at.unix_timestamp())
        .execute(&mut *transaction)
        .await?;
        insert_audit(&mut transaction, audit).await?;
        transaction.commit().await?;
        Ok(())
    }

    /// The challenge with this id, if any.
    pub async fn challenge(&self, id: &str) -> Result<Option<ChallengeRecord>, AuthorityError> {
        let row = sqlx::query(
            "SELECT id, certificate_id, challenge, created_at, expires_at, used_at, \
             request_fingerprint FROM challenges WHERE id = $1",
        )
        .bind(id.to_owned())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(ChallengeRecord {
                id: row.try_get("id")?,
                certificate_id: row.try_get("certificate_id")?,
                challenge: row.try_get("challenge")?,
                created_at: instant(row.try_get("created_at")?)?,
                expires_at: instant(row.try_get("expires_at")?)?,
                used_at: row
                    .try_get::<Option<i64>, _>("used_at")?
                    .map(instant)
                    .transpose()?,
                request_fingerprint: row.try_get("request_fingerprint")?,
            })
        })
        .transpose()
    }

    /// Uses a challenge without issuing (resume), with the audit line; false when another
    /// request used it.
    pub async fn use_challenge(
        &self,
        challenge_id: &str,
        request_fingerprint: &[u8],
        now: OffsetDateTime,
        audit: &AuditEntry,
    ) -> Result<bool, AuthorityError> {
        let _writer = self.writer().await;
        let mut transaction = self.pool.begin().await?;
        if !use_challenge(&mut transaction, challenge_id, request_fingerprint, now).await? {
            return Ok(false);
        }
        insert_audit(&mut transaction, audit).await?;
        transaction.commit().await?;
        Ok(true)
    }

    // --- identity failures ---

    /// Until when identity checks for this certificate are refused, if they are.
    pub async fn identity_locked_until(
        &self,
        certificate_id: i64,
    ) -> Result<Option<OffsetDateTime>, AuthorityError> {
        let row =
            sqlx::query("SELECT locked_until FROM identity_failures WHERE certificate_id = $1")
                .bind(certificate_id)
                .fetch_optional(&self.pool)
                .await?;
        match row {
            None => Ok(None),
            Some(row) => row
                .try_get::<Option<i64>, _>("locked_until")?
                .map(instant)
                .transpose(),
        }
    }

    /// Counts an identity failure (using the challenge, with the audit line). At `limit`
    /// failures in a row the certificate is locked until `locked_until` and the count starts
    /// again. False when another request used the challenge (nothing counted).
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
    ) -> Result<bool, AuthorityError> {
        let _writer = self.writer().await;
        let mut transaction = self.pool.begin().await?;
        if !use_challenge(&mut transaction, challenge_id, request_fingerprint, now).await? {
            return Ok(false);
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
        .execute(&mut *transaction)
        .await?;
        insert_audit(&mut transaction, audit).await?;
        transaction.commit().await?;
        Ok(true)
    }

    // --- audit ---

    /// Appends an audit line on its own.
    pub async fn audit(&self, entry: &AuditEntry) -> Result<(), AuthorityError> {
        let _writer = self.writer().await;
        let mut connection = self.pool.acquire().await?;
        insert_audit(&mut connection, entry).await
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
            Ok::<i64, AuthorityError>(row.try_get(0)?)
        };
        Ok(TableCounts {
            holders: count("SELECT COUNT(*) FROM holders").await?,
            certificates: count("SELECT COUNT(*) FROM certificates").await?,
            renewals: count("SELECT COUNT(*) FROM renewals").await?,
            challenges: count("SELECT COUNT(*) FROM challenges").await?,
            challenges_used: count("SELECT COUNT(*) FROM challenges WHERE used_at IS NOT NULL")
                .await?,
            identity_failures: count("SELECT COUNT(*) FROM identity_failures").await?,
            audit_log: count("SELECT COUNT(*) FROM audit_log").await?,
        })
    }
}

const CERTIFICATE_COLUMNS: &str = "SELECT id, serial, holder_id, card_number, role, status, \
     not_before, not_after, der, issued_by_renewal_id FROM certificates";
const RENEWAL_COLUMNS: &str = "SELECT id, renewal_number, holder_id, card_number, \
     original_signature_certificate_id, original_encryption_certificate_id, renewed_at, \
     completed_at FROM renewals";

/// Marks the challenge used by this request, unless another request used it; the same
/// request again (a retry) may use it again.
async fn use_challenge(
    connection: &mut sqlx::AnyConnection,
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
    connection: &mut sqlx::AnyConnection,
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
    .bind(certificate.card_number.clone())
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

async fn insert_audit(
    connection: &mut sqlx::AnyConnection,
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

fn certificate_from_row(row: &AnyRow) -> Result<CertificateRecord, AuthorityError> {
    let serial: String = row.try_get("serial")?;
    let role: String = row.try_get("role")?;
    let status: String = row.try_get("status")?;
    Ok(CertificateRecord {
        id: row.try_get("id")?,
        serial: CertificateSerial::from_hex(&serial)
            .map_err(|error| AuthorityError::Inconsistent(error.to_string()))?,
        holder_id: row.try_get("holder_id")?,
        card_number: row.try_get("card_number")?,
        role: CertificateRole::parse(&role)
            .ok_or_else(|| AuthorityError::Inconsistent(format!("certificate role {role:?}")))?,
        status: parse_status(&status)?,
        validity: Validity {
            not_before: instant(row.try_get("not_before")?)?,
            not_after: instant(row.try_get("not_after")?)?,
        },
        der: row.try_get("der")?,
        issued_by_renewal_id: row.try_get("issued_by_renewal_id")?,
    })
}

fn renewal_from_row(row: &AnyRow) -> Result<RenewalRow, AuthorityError> {
    Ok(RenewalRow {
        id: row.try_get("id")?,
        renewal_number: row.try_get("renewal_number")?,
        holder_id: row.try_get("holder_id")?,
        card_number: row.try_get("card_number")?,
        original_signature_certificate_id: row.try_get("original_signature_certificate_id")?,
        original_encryption_certificate_id: row.try_get("original_encryption_certificate_id")?,
        renewed_at: instant(row.try_get("renewed_at")?)?,
        completed_at: row
            .try_get::<Option<i64>, _>("completed_at")?
            .map(instant)
            .transpose()?,
    })
}

fn status_name(status: CertificateStatus) -> &'static str {
    match status {
        CertificateStatus::Valid => "valid",
        CertificateStatus::Revoked => "revoked",
        CertificateStatus::Suspended => "suspended",
    }
}

fn parse_status(text: &str) -> Result<CertificateStatus, AuthorityError> {
    match text {
        "valid" => Ok(CertificateStatus::Valid),
        "revoked" => Ok(CertificateStatus::Revoked),
        "suspended" => Ok(CertificateStatus::Suspended),
        other => Err(AuthorityError::Inconsistent(format!(
            "certificate status {other:?}"
        ))),
    }
}

fn instant(unix_seconds: i64) -> Result<OffsetDateTime, AuthorityError> {
    OffsetDateTime::from_unix_timestamp(unix_seconds)
        .map_err(|error| AuthorityError::Inconsistent(format!("stored time: {error}")))
}
