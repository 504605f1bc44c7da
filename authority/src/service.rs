//! The authority's operations, one per API endpoint, between the HTTP routes and the storage:
//! every rule comes from `renewal` (`decide`, `renewed_validity`, the proof bytes, the ID and
//! birthday checks), the records decide status and "renewed already", and the clock is the
//! authority's.
//!
//! Order of the checks in `renew` (each refusal writes nothing but its audit line, unless
//! stated):
//! 1. the typed ID number and birthday are well formed;
//! 2. the challenge exists, has not expired, and was not used by a different request;
//! 3. the certificates are the challenge's signature certificate and the same card's
//!    encryption certificate, and the card number is theirs;
//! 4. the certificate is not locked after 5 identity failures (15 minutes);
//! 5. the card's signature verifies over the proof bytes with the certificate's key — before
//!    the identity, so someone without the card learns nothing about the holder's identity;
//! 6. the identity matches the records (a failure uses the challenge and counts);
//! 7. a renewal of this original already exists → the same certificates again;
//! 8. status and window (`renewal::decide` at the authority's time);
//! 9. both certificates are signed, then recorded in one transaction that also uses the
//!    challenge; the unique constraint on the original decides a race.

use std::sync::Arc;

use renewal::api::{
    Base64Bytes, ChallengeId, ChallengeOffer, CompleteRequest, CompleteResponse, HolderProof,
    ReceiptRequest, ReceiptResponse, RenewRequest, RenewResponse, RenewalOnRecord, ResumeRequest,
    ResumeResponse, ServerInfoResponse, VerdictRequest, VerdictResponse, API_VERSION,
};
use renewal::proof::{proof_message, CHALLENGE_LENGTH};
use renewal::rules::renewed_validity;
use renewal::KeyRole;
use renewal::{
    decide, mask_holder_name, ApiError, Birthday, CardNumber, CertificateSerial, CertificateStatus,
    Challenge, CitizenCertificate, ErrorCode, NationalId, Receipt, RenewalNumber, RenewalRecord,
};
use ring::rand::SecureRandom;
use terms::hex::upper as hex;
use time::{Duration, OffsetDateTime};

use crate::audit::AuditEntry;
use crate::ca::CertificateAuthority;
use crate::clock::Clock;
use crate::error::AuthorityError;
use crate::identity::IdentityKey;
use crate::issuance;
use crate::signer::verify_pkcs1_sha256;
use crate::storage::{
    CertificateRecord, ChallengeContext, ChallengeRecord, ChallengeWrite, IssueOutcome,
    IssuedRenewal, NewCertificate, NewRenewal, RenewalRow, Storage,
};

/// Limits and lifetimes.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// How long a challenge may be used: long enough to type an ID number, a birthday and a
    /// PIN after the verdict is shown.
    pub challenge_lifetime: Duration,
    /// Identity failures in a row that lock a certificate.
    pub identity_failure_limit: i64,
    /// How long the lock lasts.
    pub identity_lock: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            challenge_lifetime: Duration::minutes(10),
            identity_failure_limit: 5,
            identity_lock: Duration::minutes(15),
        }
    }
}

/// A refusal of a request: the error code and body to answer with.
#[derive(Debug, Clone)]
pub struct Refusal(pub ApiError);

impl Refusal {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self(ApiError::new(code, message))
    }

    /// The error code.
    pub fn code(&self) -> ErrorCode {
        self.0.code
    }
}

impl From<AuthorityError> for Refusal {
    fn from(error: AuthorityError) -> Self {
        // The details go to the log, not to the client.
        tracing::error!(%error, "request failed inside the authority");
        Self::new(
            ErrorCode::Internal,
            "the authority failed; nothing was changed; try again",
        )
    }
}

impl From<sqlx::Error> for Refusal {
    fn from(error: sqlx::Error) -> Self {
        Self::from(AuthorityError::from(error))
    }
}

/// The audit line of one request, written exactly once: by the storage write that makes the
/// request's change, in the same transaction ([`Audit::write_in`],
/// [`Audit::write_in_challenge_use`]), or else when the request ends ([`Authority::audited`]).
struct Audit {
    entry: AuditEntry,
    /// Set only by the two `write_in` methods.
    written: bool,
}

impl Audit {
    /// Runs `write`, a storage write that records this line in its own transaction.
    async fn write_in<T>(
        &mut self,
        write: impl AsyncFnOnce(&AuditEntry) -> Result<T, AuthorityError>,
    ) -> Result<T, Refusal> {
        let value = write(&self.entry).await?;
        self.written = true;
        Ok(value)
    }

    /// Runs `write`, a storage write that uses the request's challenge and records this line
    /// in the same transaction. Another request having used the challenge first (then nothing
    /// was written) is refused as `challenge_used`; the line is written when the request ends.
    async fn write_in_challenge_use<T>(
        &mut self,
        write: impl AsyncFnOnce(&AuditEntry) -> Result<ChallengeWrite<T>, AuthorityError>,
    ) -> Result<T, Refusal> {
        let value = write(&self.entry).await?.ok_or_else(challenge_used)?;
        self.written = true;
        Ok(value)
    }

    /// Uses the request's challenge (answered from records, nothing else changes), recording
    /// this line in the same transaction.
    async fn use_challenge(
        &mut self,
        storage: &Storage,
        challenge_id: &str,
        fingerprint: &[u8],
        now: OffsetDateTime,
    ) -> Result<(), Refusal> {
        self.write_in_challenge_use(async |entry| {
            storage
                .use_challenge(challenge_id, fingerprint, now, entry)
                .await
        })
        .await
    }
}

/// The renewal authority: records, CA, identity key and clock. Cheap to clone.
#[derive(Clone)]
pub struct Authority {
    inner: Arc<Inner>,
}

struct Inner {
    storage: Storage,
    ca: CertificateAuthority,
    identity_key: IdentityKey,
    clock: Clock,
    settings: Settings,
    /// One permit per core for RSA signing: more signing threads than cores only take turns
    /// on them, and crowd out the threads that serve requests and write the records.
    signing_slots: Arc<tokio::sync::Semaphore>,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority")
            .field("backend", &self.inner.storage.backend())
            .field("clock", &self.inner.clock)
            .finish_non_exhaustive()
    }
}

impl Authority {
    /// An authority over these records, CA, key and clock.
    pub fn new(
        storage: Storage,
        ca: CertificateAuthority,
        identity_key: IdentityKey,
        clock: Clock,
        settings: Settings,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                storage,
                ca,
                identity_key,
                clock,
                settings,
                signing_slots: Arc::new(tokio::sync::Semaphore::new(
                    std::thread::available_parallelism()
                        .map_or(2, usize::from)
                        .max(2),
                )),
            }),
        }
    }

    /// The records.
    pub fn storage(&self) -> &Storage {
        &self.inner.storage
    }

    /// The CA.
    pub fn ca(&self) -> &CertificateAuthority {
        &self.inner.ca
    }

    /// The identity key.
    pub fn identity_key(&self) -> &IdentityKey {
        &self.inner.identity_key
    }

    /// The authority's time now.
    pub fn now(&self) -> OffsetDateTime {
        self.inner.clock.now()
    }

    /// Runs one request's `step` with its audit line `entry`, then writes the line unless the
    /// step's own write did (refused: with the refusal's code and message).
    async fn audited<T>(
        &self,
        entry: AuditEntry,
        step: impl AsyncFnOnce(&mut Audit) -> Result<T, Refusal>,
    ) -> Result<T, ApiError> {
        let mut audit = Audit {
            entry,
            written: false,
        };
        let result = step(&mut audit).await;
        if !audit.written {
            let entry = match &result {
                Ok(_) => audit.entry,
                Err(refusal) => {
                    let detail = if audit.entry.detail.is_empty() {
                        refusal.0.message.clone()
                    } else {
                        format!("{}; {}", audit.entry.detail, refusal.0.message)
                    };
                    audit.entry.refused(refusal.code()).detail(detail)
                }
            };
            if let Err(error) = self.inner.storage.audit(&entry).await {
                tracing::error!(%error, action = %entry.action, "the audit line could not be written");
                if result.is_ok() {
                    return Err(Refusal::from(error).0);
                }
            }
        }
        result.map_err(|refusal| refusal.0)
    }

    /// Answers a request whose body was refused before it was read (malformed, too large),
    /// with its audit line.
    pub async fn refuse_request(
        &self,
        action: &str,
        client: Option<String>,
        refusal: ApiError,
    ) -> ApiError {
        let entry = AuditEntry::new(action, self.now(), client);
        match self
            .audited(entry, async |_| Err::<(), _>(Refusal(refusal)))
            .await
        {
            Err(error) => error,
            Ok(()) => ApiError::new(ErrorCode::Internal, "unreachable"),
        }
    }

    /// `GET server-info`: the authority's time and CA certificates. Not audited: it reads no
    /// records and concerns no one.
    pub fn server_info(&self) -> ServerInfoResponse {
        ServerInfoResponse {
            api_version: API_VERSION,
            server_time: self.now(),
            ca_certificates: vec![Base64Bytes(self.inner.ca.certificate_der().to_vec())],
        }
    }

    // --- verdict ---

    /// `POST verdict`: the verdict for a card's signature certificate, with a challenge when
    /// it is eligible or when the records show it in a renewal (to resume).
    pub async fn verdict(
        &self,
        request: &VerdictRequest,
        client: Option<String>,
    ) -> Result<VerdictResponse, ApiError> {
        let now = self.now();
        let entry = AuditEntry::new("verdict", now, client);
        self.audited(entry, async |audit| {
            self.verdict_inner(request, now, audit).await
        })
        .await
    }

    async fn verdict_inner(
        &self,
        request: &VerdictRequest,
        now: OffsetDateTime,
        audit: &mut Audit,
    ) -> Result<VerdictResponse, Refusal> {
        let (record, renewal, certificate_on_record) =
            match self.recorded_certificate(request, audit).await {
                Ok((record, renewal)) => (record, renewal, None),
                // Not a certificate on record, but the card has a renewal whose write was
                // interrupted: its slot holds a torn copy. The verdict and challenge are the
                // original's, and the card proves possession of that key to resume.
                Err(refusal) => {
                    let interrupted = match &request.card_number {
                        Some(card) => self.inner.storage.interrupted_renewal_of_card(card).await?,
                        None => None,
                    };
                    let Some((record, renewal)) = interrupted else {
                        return Err(refusal);
                    };
                    audit.entry.certificate_serial = Some(record.serial.to_hex());
                    let on_record = record.der.clone().into();
                    (record, Some(renewal), Some(on_record))
                }
            };
        let renewal_record = if renewal.is_some() {
            RenewalRecord::Renewed
        } else {
            RenewalRecord::NotRenewed
        };
        let verdict = decide(&record.validity, record.status, renewal_record, now);
        audit.entry.detail = format!("verdict {}", verdict.kind());
        if certificate_on_record.is_some() {
            audit
                .entry
                .detail
                .push_str("; for the original on record (the card's copy is torn)");
        }
        if let Some(renewal) = &renewal {
            audit.entry.renewal_number = Some(renewal.renewal_number.to_string());
        }
        let challenge = if verdict.is_eligible() || renewal.is_some() {
            let offer = self.new_challenge(now)?;
            let stored = ChallengeRecord {
                id: offer.challenge_id.0.clone(),
                certificate_id: record.id,
                challenge: offer.challenge.as_bytes().to_vec(),
                created_at: now,
                expires_at: offer.expires_at,
                used_at: None,
                request_fingerprint: None,
            };
            audit.entry.detail.push_str("; challenge offered");
            let storage = &self.inner.storage;
            audit
                .write_in(async |entry| storage.insert_challenge(&stored, entry).await)
                .await?;
            Some(offer)
        } else {
            None
        };
        Ok(VerdictResponse {
            server_time: now,
            certificate_serial: record.serial,
            verdict,
            challenge,
            certificate_on_record,
            renewal_on_record: renewal.map(|renewal| match renewal.completed_at {
                Some(_) => RenewalOnRecord::Completed,
                None => RenewalOnRecord::Issued,
            }),
        })
    }

    /// The signature certificate asked about, with its record and renewal; refused when it is
    /// not one of this CA's citizen signature certificates on record, byte for byte.
    async fn recorded_certificate(
        &self,
        request: &VerdictRequest,
        audit: &mut Audit,
    ) -> Result<(CertificateRecord, Option<RenewalRow>), Refusal> {
        let certificate = CitizenCertificate::from_der(&request.certificate.0)
            .map_err(|error| Refusal::new(ErrorCode::MalformedCertificate, error.to_string()))?;
        audit.entry.certificate_serial = Some(certificate.serial().to_hex());
        certificate
            .holder()
            .map_err(|error| Refusal::new(ErrorCode::NotCitizenCertificate, error.to_string()))?;
        if certificate.key_role() != Some(KeyRole::Signature) {
            return Err(Refusal::new(
                ErrorCode::NotCitizenCertificate,
                "a verdict is asked for the card's signature certificate",
            ));
        }
        if !self.inner.ca.issued(&certificate) {
            return Err(Refusal::new(
                ErrorCode::UnknownIssuer,
                "the certificate was not issued by this authority's CA",
            ));
        }
        let found = self
            .inner
            .storage
            .certificate_with_renewal(certificate.serial())
            .await?
            .filter(|(record, _)| record.der == certificate.der())
            .ok_or_else(|| {
                Refusal::new(
                    ErrorCode::UnknownCertificate,
                    "the authority has no record of this certificate",
                )
            })?;
        Ok(found)
    }

    fn new_challenge(&self, now: OffsetDateTime) -> Result<ChallengeOffer, AuthorityError> {
        let random = self.inner.ca.random();
        let mut bytes = [0u8; CHALLENGE_LENGTH];
        random
            .fill(&mut bytes)
            .map_err(|_| AuthorityError::Random)?;
        let mut id = [0u8; 16];
        random.fill(&mut id).map_err(|_| AuthorityError::Random)?;
        Ok(ChallengeOffer {
            challenge_id: ChallengeId(hex(&id)),
            challenge: Challenge::new(bytes),
            expires_at: now + self.inner.settings.challenge_lifetime,
        })
    }

    // --- renew ---

    /// `POST renew`: checks and issues both renewed certificates, or returns the ones already
    /// issued for this original.
    pub async fn renew(
        &self,
        request: &RenewRequest,
        client: Option<String>,
    ) -> Result<RenewResponse, ApiError> {
        let now = self.now();
        let entry = AuditEntry::new("renew", now, client)
            .certificate(&request.signature_certificate_serial);
        self.audited(entry, async |audit| {
            self.renew_inner(request, now, audit).await
        })
        .await
    }

    async fn renew_inner(
        &self,
        request: &RenewRequest,
        now: OffsetDateTime,
        audit: &mut Audit,
    ) -> Result<RenewResponse, Refusal> {
        let Proven {
            context,
            parsed_certificate,
            encryption,
            fingerprint,
        } = self
            .prove_holder(
                &HolderClaim {
                    challenge_id: &request.challenge_id,
                    signature_certificate_serial: &request.signature_certificate_serial,
                    card_number: &request.card_number,
                    on_card: OnCard::EncryptionCertificate(&request.encryption_certificate_serial),
                    proof: &request.proof,
                },
                now,
                audit,
            )
            .await?;
        let signature = context.certificate;
        let encryption = encryption.ok_or_else(|| {
            AuthorityError::Inconsistent("renew proved the holder without the pair".into())
        })?;

        if let Some(existing) = context.renewal_of_original {
            // Renewed already (an earlier request, a retry): the same certificates, never new.
            audit.entry.renewal_number = Some(existing.renewal_number.to_string());
            audit.entry.detail = "renewed already; same certificates returned".into();
            audit
                .use_challenge(
                    &self.inner.storage,
                    &context.challenge.id,
                    &fingerprint,
                    now,
                )
                .await?;
            let issued = self.inner.storage.issued_renewal_by_id(existing.id).await?;
            return Ok(renew_response(issued));
        }

        let renewal_record = if signature.issued_by_renewal_id.is_some() {
            RenewalRecord::Renewed
        } else {
            RenewalRecord::NotRenewed
        };
        let status = worst_status(signature.status, encryption.status);
        let verdict = decide(&signature.validity, status, renewal_record, now);
        if let Some(refusal) = ApiError::from_verdict(&verdict) {
            return Err(Refusal(refusal));
        }

        let new_renewal = self
            .sign_renewal(parsed_certificate, &signature, encryption, now)
            .await?;
        audit.entry.detail = "issued".into();
        let storage = &self.inner.storage;
        let outcome = audit
            .write_in_challenge_use(async |entry| {
                storage
                    .issue_renewal(
                        &context.challenge.id,
                        &fingerprint,
                        &new_renewal,
                        context.identity_failures_recorded,
                        entry,
                    )
                    .await
            })
            .await?;
        match outcome {
            IssueOutcome::Issued(_) => {
                tracing::info!(
                    renewal = %new_renewal.renewal_number,
                    serial = %signature.serial,
                    "renewed"
                );
                // What was just recorded, without reading it back.
                Ok(RenewResponse {
                    renewal_number: new_renewal.renewal_number,
                    renewed_validity: new_renewal.signature.validity,
                    signature_certificate: Base64Bytes(new_renewal.signature.der),
                    encryption_certificate: Base64Bytes(new_renewal.encryption.der),
                })
            }
            IssueOutcome::AlreadyRenewed(id) => {
                Ok(renew_response(storage.issued_renewal_by_id(id).await?))
            }
        }
    }

    /// Proves that the request comes from the card's holder, the steps renew and resume
    /// share, in this order: the challenge is usable and was offered for the named
    /// certificate; the card's other certificates go with it and the card number is its;
    /// the certificate is not locked; the card's signature verifies (before the identity, so
    /// that someone without the card learns nothing about the holder); the identity matches
    /// (a mismatch uses the challenge and counts towards the lock).
    async fn prove_holder(
        &self,
        claim: &HolderClaim<'_>,
        now: OffsetDateTime,
        audit: &mut Audit,
    ) -> Result<Proven, Refusal> {
        let (national_id, birthday) = claim.proof.identity().map_err(Refusal)?;
        let fingerprint = claim.fingerprint(&self.inner.identity_key, &national_id, birthday);
        let alongside = match claim.on_card {
            OnCard::EncryptionCertificate(serial) => Some(serial),
            OnCard::Certificates(_) => None,
        };
        let mut context = self
            .inner
            .storage
            .challenge_context(&claim.challenge_id.0, alongside)
            .await?
            .ok_or_else(|| Refusal::new(ErrorCode::ChallengeUnknown, "no such challenge"))?;
        let challenge = &context.challenge;
        if now > challenge.expires_at {
            return Err(Refusal::new(
                ErrorCode::ChallengeExpired,
                "the challenge expired; ask for the verdict again",
            ));
        }
        if challenge.used_at.is_some()
            && challenge.request_fingerprint.as_deref() != Some(fingerprint.as_slice())
        {
            return Err(challenge_used());
        }
        let certificate = &context.certificate;
        if &certificate.serial != claim.signature_certificate_serial {
            return Err(Refusal::new(
                ErrorCode::ChallengeUnknown,
                "the challenge was offered for another certificate",
            ));
        }
        let encryption = match claim.on_card {
            OnCard::EncryptionCertificate(_) => {
                let encryption = context.alongside.take().ok_or_else(|| {
                    Refusal::new(
                        ErrorCode::UnknownCertificate,
                        "the authority has no record of the encryption certificate",
                    )
                })?;
                let same_card = certificate.role == KeyRole::Signature
                    && encryption.role == KeyRole::Encryption
                    && encryption.card_number == certificate.card_number
                    && encryption.holder_id == certificate.holder_id
                    && encryption.issued_by_renewal_id == certificate.issued_by_renewal_id;
                if !same_card {
                    return Err(Refusal::new(
                        ErrorCode::CertificatesNotSameCard,
                        "the signature and encryption certificates are not one card's pair",
                    ));
                }
                check_card_number(claim.card_number, certificate)?;
                Some(encryption)
            }
            OnCard::Certificates(serials) => {
                check_card_number(claim.card_number, certificate)?;
                // A serial on record for another card means certificates of two cards; one on
                // record for none may be read from a copy torn by the interrupted write that
                // the resume is for, and is no reason to refuse.
                for serial in serials {
                    let on_card = self.inner.storage.certificate_by_serial(serial).await?;
                    if on_card.is_some_and(|record| record.card_number != certificate.card_number) {
                        return Err(Refusal::new(
                            ErrorCode::CertificatesNotSameCard,
                            format!("certificate {serial} is not one of this card's"),
                        ));
                    }
                }
                None
            }
        };
        if let Some(until) = context.locked_until {
            if now < until {
                return Err(Refusal::new(
                    ErrorCode::RateLimited,
                    format!(
                        "too many identity failures for this certificate; try again after {}",
                        rfc3339(until)
                    ),
                ));
            }
        }
        let parsed_certificate =
            CitizenCertificate::from_der(&certificate.der).map_err(|error| {
                AuthorityError::Inconsistent(format!("stored certificate: {error}"))
            })?;
        check_proof(
            challenge,
            certificate,
            &parsed_certificate,
            &national_id,
            birthday,
            &claim.proof.card_signature.0,
        )?;
        let identity = TypedIdentity {
            national_id: &national_id,
            birthday,
            fingerprint: &fingerprint,
        };
        self.check_identity(&context, &identity, now, audit).await?;
        Ok(Proven {
            context,
            parsed_certificate,
            encryption,
            fingerprint,
        })
    }

    /// The typed identity against the holder's record; a mismatch uses the challenge and
    /// counts towards the lock, in one transaction with its audit line.
    async fn check_identity(
        &self,
        context: &ChallengeContext,
        identity: &TypedIdentity<'_>,
        now: OffsetDateTime,
        audit: &mut Audit,
    ) -> Result<(), Refusal> {
        if self.inner.identity_key.matches(
            identity.national_id,
            identity.birthday,
            &context.holder.national_id_hash,
            context.holder.birthday,
        ) {
            return Ok(());
        }
        let refusal = Refusal::new(
            ErrorCode::IdentityMismatch,
            "the ID number and birthday do not match the holder of this certificate",
        );
        let (settings, storage) = (&self.inner.settings, &self.inner.storage);
        audit
            .write_in_challenge_use(async |entry| {
                let entry = entry
                    .clone()
                    .refused(ErrorCode::IdentityMismatch)
                    .detail(refusal.0.message.clone());
                storage
                    .record_identity_failure(
                        &context.challenge.id,
                        identity.fingerprint,
                        context.certificate.id,
                        settings.identity_failure_limit,
                        now,
                        now + settings.identity_lock,
                        &entry,
                    )
                    .await
            })
            .await?;
        tracing::warn!(serial = %context.certificate.serial, "identity mismatch");
        Err(refusal)
    }

    /// Builds and signs both renewed certificates, off the async workers (RSA signing takes
    /// milliseconds and would stall every request on that worker), each on its own blocking
    /// thread so that the two signatures of one renewal run on two cores at once.
    async fn sign_renewal(
        &self,
        parsed_signature: CitizenCertificate,
        signature: &CertificateRecord,
        encryption: CertificateRecord,
        now: OffsetDateTime,
    ) -> Result<NewRenewal, Refusal> {
        // Both slots at once: two requests holding one each would wait for each other.
        let mut signature_slot = Arc::clone(&self.inner.signing_slots)
            .acquire_many_owned(2)
            .await
            .map_err(|_| AuthorityError::Signing)?;
        let encryption_slot = signature_slot.split(1).ok_or(AuthorityError::Signing)?;
        let signed = {
            let (authority, original) = (self.clone(), signature.clone());
            tokio::task::spawn_blocking(move || {
                let _slot = signature_slot;
                renew_certificate(&authority.inner.ca, &original, &parsed_signature)
            })
        };
        let encrypted = {
            let (authority, original) = (self.clone(), encryption.clone());
            tokio::task::spawn_blocking(move || {
                let _slot = encryption_slot;
                // Parsed here, off the async workers, and only here.
                let parsed = CitizenCertificate::from_der(&original.der).map_err(|error| {
                    AuthorityError::Inconsistent(format!("stored certificate: {error}"))
                })?;
                renew_certificate(&authority.inner.ca, &original, &parsed)
            })
        };
        let (signed, encrypted) = tokio::join!(signed, encrypted);
        let joined = |result: Result<Result<NewCertificate, AuthorityError>, _>| {
            result.map_err(|error: tokio::task::JoinError| {
                tracing::error!(%error, "the signing task failed");
                AuthorityError::Signing
            })?
        };
        Ok(NewRenewal {
            renewal_number: new_renewal_number(self.inner.ca.random(), now)?,
            holder_id: signature.holder_id,
            card_number: signature.card_number.clone(),
            original_signature_certificate_id: signature.id,
            original_encryption_certificate_id: encryption.id,
            renewed_at: now,
            signature: joined(signed)?,
            encryption: joined(encrypted)?,
        })
    }

    // --- complete, receipt ---

    /// `POST complete`: the page wrote and read back both certificates.
    pub async fn complete(
        &self,
        request: &CompleteRequest,
        client: Option<String>,
    ) -> Result<CompleteResponse, ApiError> {
        let now = self.now();
        let entry = AuditEntry::new("complete", now, client).renewal(&request.renewal_number);
        self.audited(entry, async |audit| {
            self.complete_inner(request, now, audit).await
        })
        .await
    }

    async fn complete_inner(
        &self,
        request: &CompleteRequest,
        now: OffsetDateTime,
        audit: &mut Audit,
    ) -> Result<CompleteResponse, Refusal> {
        let issued = self
            .inner
            .storage
            .issued_renewal_by_number(&request.renewal_number)
            .await?
            .ok_or_else(renewal_unknown)?;
        audit.entry.certificate_serial = Some(issued.signature.serial.to_hex());
        if request.signature_certificate_serial != issued.signature.serial
            || request.encryption_certificate_serial != issued.encryption.serial
        {
            return Err(Refusal::new(
                ErrorCode::WrittenCertificatesMismatch,
                "the certificates read back from the card are not the ones issued",
            ));
        }
        audit.entry.detail = "written and read back".into();
        let storage = &self.inner.storage;
        let completed_at = audit
            .write_in(async |entry| {
                storage
                    .complete_renewal(issued.renewal.id, now, entry)
                    .await
            })
            .await?;
        tracing::info!(renewal = %issued.renewal.renewal_number, %completed_at, "completed");
        Ok(CompleteResponse {
            receipt: receipt(&issued)?,
        })
    }

    /// `POST receipt`: the receipt of a completed renewal, for its card.
    pub async fn receipt(
        &self,
        request: &ReceiptRequest,
        client: Option<String>,
    ) -> Result<ReceiptResponse, ApiError> {
        let now = self.now();
        let entry = AuditEntry::new("receipt", now, client).renewal(&request.renewal_number);
        self.audited(entry, async |_| {
            let issued = self
                .inner
                .storage
                .issued_renewal_by_number(&request.renewal_number)
                .await?
                // Another card's renewal is "unknown": numbers are not to be probed.
                .filter(|issued| issued.renewal.card_number == request.card_number)
                .ok_or_else(renewal_unknown)?;
            if issued.renewal.completed_at.is_none() {
                return Err(Refusal::new(
                    ErrorCode::RenewalNotCompleted,
                    "the renewal is not completed: write the certificates, then complete",
                ));
            }
            Ok(ReceiptResponse {
                receipt: receipt(&issued)?,
            })
        })
        .await
    }

    // --- resume ---

    /// `POST resume`: after an interrupted write, the card proves possession again and gets
    /// what was issued (or the receipt, or "nothing pending").
    pub async fn resume(
        &self,
        request: &ResumeRequest,
        client: Option<String>,
    ) -> Result<ResumeResponse, ApiError> {
        let now = self.now();
        let entry = AuditEntry::new("resume", now, client)
            .certificate(&request.signature_certificate_serial);
        self.audited(entry, async |audit| {
            self.resume_inner(request, now, audit).await
        })
        .await
    }

    async fn resume_inner(
        &self,
        request: &ResumeRequest,
        now: OffsetDateTime,
        audit: &mut Audit,
    ) -> Result<ResumeResponse, Refusal> {
        let Proven {
            context,
            fingerprint,
            ..
        } = self
            .prove_holder(
                &HolderClaim {
                    challenge_id: &request.challenge_id,
                    signature_certificate_serial: &request.signature_certificate_serial,
                    card_number: &request.card_number,
                    on_card: OnCard::Certificates(&request.certificate_serials),
                    proof: &request.proof,
                },
                now,
                audit,
            )
            .await?;

        // The renewal concerning the card: the one that issued its certificate (renewed, then
        // written), or else the one of which it holds the original (the write is pending).
        let renewal_id = context.certificate.issued_by_renewal_id.or(context
            .renewal_of_original
            .as_ref()
            .map(|renewal| renewal.id));
        let issued = match renewal_id {
            Some(id) => Some(self.inner.storage.issued_renewal_by_id(id).await?),
            None => None,
        };
        audit.entry.detail = match &issued {
            None => "nothing pending".into(),
            Some(issued) if issued.renewal.completed_at.is_some() => "completed already".into(),
            Some(_) => "write pending; issued certificates returned".into(),
        };
        if let Some(issued) = &issued {
            audit.entry.renewal_number = Some(issued.renewal.renewal_number.to_string());
        }
        audit
            .use_challenge(
                &self.inner.storage,
                &context.challenge.id,
                &fingerprint,
                now,
            )
            .await?;
        Ok(match issued {
            None => ResumeResponse::NothingPending,
            Some(issued) if issued.renewal.completed_at.is_some() => ResumeResponse::Completed {
                receipt: receipt(&issued)?,
            },
            Some(issued) => ResumeResponse::WritePending {
                renewal: renew_response(issued),
            },
        })
    }
}

/// What a request offers to prove that it comes from the card's holder (renew and resume).
struct HolderClaim<'r> {
    challenge_id: &'r ChallengeId,
    signature_certificate_serial: &'r CertificateSerial,
    card_number: &'r CardNumber,
    on_card: OnCard<'r>,
    /// The typed identity and the card's signature.
    proof: &'r HolderProof,
}

impl HolderClaim<'_> {
    /// The whole request's keyed fingerprint: the same request again is a retry. The parts
    /// are in each request's own order, as before renew and resume shared this step.
    fn fingerprint(
        &self,
        key: &IdentityKey,
        national_id: &NationalId,
        birthday: Birthday,
    ) -> Vec<u8> {
        let birthday = birthday.normalized();
        let kind: &[u8] = match self.on_card {
            OnCard::EncryptionCertificate(_) => b"renew",
            OnCard::Certificates(_) => b"resume",
        };
        let mut parts: Vec<&[u8]> = vec![
            kind,
            self.challenge_id.0.as_bytes(),
            national_id.as_str().as_bytes(),
            birthday.as_bytes(),
            &self.proof.card_signature.0,
            self.signature_certificate_serial.as_bytes(),
        ];
        match self.on_card {
            OnCard::EncryptionCertificate(serial) => {
                parts.extend([serial.as_bytes(), self.card_number.as_str().as_bytes()]);
            }
            OnCard::Certificates(serials) => {
                parts.push(self.card_number.as_str().as_bytes());
                parts.extend(serials.iter().map(CertificateSerial::as_bytes));
            }
        }
        key.fingerprint(&parts)
    }
}

/// The identity a request typed, checked for form, with the request's fingerprint.
struct TypedIdentity<'r> {
    national_id: &'r NationalId,
    birthday: Birthday,
    fingerprint: &'r [u8],
}

/// The card's other certificates, as the request names them.
#[derive(Clone, Copy)]
enum OnCard<'r> {
    /// renew: the encryption certificate, which must be the signature certificate's pair.
    EncryptionCertificate(&'r CertificateSerial),
    /// resume: every certificate the page read from the card, all of which must be its.
    Certificates(&'r [CertificateSerial]),
}

/// What proving the holder established.
struct Proven {
    /// The challenge, its certificate, holder, lock and renewal, as read.
    context: ChallengeContext,
    /// The challenged certificate, parsed once for the proof and the renewal.
    parsed_certificate: CitizenCertificate,
    /// renew: the pair's encryption certificate.
    encryption: Option<CertificateRecord>,
    /// The request's fingerprint ([`HolderClaim::fingerprint`]), for using the challenge.
    fingerprint: Vec<u8>,
}

/// The answer to renew for a recorded renewal.
fn renew_response(issued: IssuedRenewal) -> RenewResponse {
    RenewResponse {
        renewal_number: issued.renewal.renewal_number,
        renewed_validity: issued.signature.validity,
        signature_certificate: Base64Bytes(issued.signature.der),
        encryption_certificate: Base64Bytes(issued.encryption.der),
    }
}

/// The receipt of a recorded renewal.
fn receipt(issued: &IssuedRenewal) -> Result<Receipt, AuthorityError> {
    let parsed = CitizenCertificate::from_der(&issued.signature.der)
        .map_err(|error| AuthorityError::Inconsistent(error.to_string()))?;
    Ok(Receipt {
        renewal_number: issued.renewal.renewal_number.clone(),
        holder_name_masked: mask_holder_name(parsed.holder_name().unwrap_or_default()),
        card_number: issued.renewal.card_number.clone(),
        signature_certificate_serial: issued.signature.serial.clone(),
        encryption_certificate_serial: issued.encryption.serial.clone(),
        old_validity: issued.original_validity,
        new_validity: issued.signature.validity,
        renewed_at: issued.renewal.renewed_at,
    })
}

/// One renewed certificate for `original` (`parsed` is its DER, read), signed by the CA
/// (blocking: RSA signing).
fn renew_certificate(
    ca: &CertificateAuthority,
    original: &CertificateRecord,
    parsed: &CitizenCertificate,
) -> Result<NewCertificate, AuthorityError> {
    let validity = renewed_validity(&original.validity)
        .ok_or_else(|| AuthorityError::Inconsistent("renewed validity out of range".into()))?;
    let issued = issuance::renew(ca, parsed, validity)?;
    Ok(NewCertificate {
        serial: issued.serial,
        holder_id: original.holder_id,
        card_number: original.card_number.clone(),
        role: original.role,
        status: CertificateStatus::Valid,
        validity,
        der: issued.der,
    })
}

/// The card's signature over the proof bytes, verified with the certificate's key.
fn check_proof(
    challenge: &ChallengeRecord,
    certificate: &CertificateRecord,
    parsed: &CitizenCertificate,
    national_id: &NationalId,
    birthday: Birthday,
    card_signature: &[u8],
) -> Result<(), Refusal> {
    let key = parsed.rsa_public_key().ok_or_else(|| {
        AuthorityError::Inconsistent("a stored certificate has no RSA key".into())
    })?;
    let challenge_bytes = Challenge::from_slice(&challenge.challenge)
        .map_err(|error| AuthorityError::Inconsistent(error.to_string()))?;
    let message = proof_message(&challenge_bytes, &certificate.serial, national_id, birthday);
    if verify_pkcs1_sha256(&key.modulus, &key.exponent, &message, card_signature) {
        Ok(())
    } else {
        Err(Refusal::new(
            ErrorCode::ProofOfPossessionFailed,
            "the card's signature does not verify with the certificate's key",
        ))
    }
}

fn check_card_number(
    card_number: &CardNumber,
    certificate: &CertificateRecord,
) -> Result<(), Refusal> {
    if *card_number == certificate.card_number {
        Ok(())
    } else {
        Err(Refusal::new(
            ErrorCode::InvalidCardNumber,
            "the card number is not this certificate's card",
        ))
    }
}

fn worst_status(a: CertificateStatus, b: CertificateStatus) -> CertificateStatus {
    use CertificateStatus::*;
    match (a, b) {
        (Revoked, _) | (_, Revoked) => Revoked,
        (Suspended, _) | (_, Suspended) => Suspended,
        (Valid, Valid) => Valid,
    }
}

fn challenge_used() -> Refusal {
    Refusal::new(
        ErrorCode::ChallengeUsed,
        "the challenge was used by another request; ask for the verdict again",
    )
}

fn renewal_unknown() -> Refusal {
    Refusal::new(ErrorCode::RenewalUnknown, "no such renewal")
}

/// `R<Taiwan date>-<12 hex digits>`: the date helps a counter clerk, the random part keeps
/// numbers unguessable (the receipt also needs the card number).
fn new_renewal_number(
    random: &ring::rand::SystemRandom,
    now: OffsetDateTime,
) -> Result<RenewalNumber, AuthorityError> {
    let mut suffix = [0u8; 6];
    random
        .fill(&mut suffix)
        .map_err(|_| AuthorityError::Random)?;
    let date = renewal::calendar::taiwan_date(now)
        .ok_or_else(|| AuthorityError::Inconsistent("the clock is out of range".into()))?;
    let number = format!(
        "R{:04}{:02}{:02}-{}",
        date.year(),
        u8::from(date.month()),
        date.day(),
        hex(&suffix)
    );
    RenewalNumber::parse(&number).map_err(|error| AuthorityError::Inconsistent(error.to_string()))
}

fn rfc3339(instant: OffsetDateTime) -> String {
    instant
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| instant.to_string())
}
