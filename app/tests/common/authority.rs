//! A test double of the renewal authority: the HTTP API's answers (`renewal::api`), made by
//! `renewal`'s own rules over in-memory records and a fixed clock, with renewed certificates
//! issued by the test CA. It is not the authority service (that is the `authority` crate); it
//! exists so the flow can be tested end to end without a server.

use std::cell::RefCell;
use std::rc::Rc;

use app::flow::{AuthorityError, AuthorityPort};
use renewal::api::{
    ApiError, ChallengeId, ChallengeOffer, CompleteRequest, CompleteResponse, ErrorCode,
    ReceiptRequest, ReceiptResponse, RenewRequest, RenewResponse, RenewalOnRecord, ResumeRequest,
    ResumeResponse, ServerInfoResponse, VerdictRequest, VerdictResponse, API_VERSION,
};
use renewal::rules::renewed_validity;
use renewal::{
    decide, mask_holder_name, proof, Birthday, CardNumber, CertificateStatus, Challenge,
    CitizenCertificate, NationalId, Receipt, RenewalNumber, RenewalRecord, Verdict,
};
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use sha2::Sha256;
use time::{Duration, OffsetDateTime};

use super::{certificate, original_certificates, Role, BIRTHDAY, CARD_NUMBER, NATIONAL_ID};

/// One renewal the double issued.
#[derive(Debug, Clone)]
pub struct IssuedRenewal {
    pub number: RenewalNumber,
    pub response: RenewResponse,
    pub old_validity: renewal::Validity,
    pub signature_serial: renewal::CertificateSerial,
    pub encryption_serial: renewal::CertificateSerial,
    pub challenge_id: ChallengeId,
    pub completed: bool,
    pub renewed_at: OffsetDateTime,
}

#[derive(Debug)]
pub struct State {
    pub now: OffsetDateTime,
    pub status: CertificateStatus,
    pub card_number: CardNumber,
    pub national_id: NationalId,
    pub birthday: Birthday,
    pub signature: CitizenCertificate,
    pub encryption: CitizenCertificate,
    pub challenges: Vec<(ChallengeId, Challenge, OffsetDateTime)>,
    /// Challenges a resume used (a renewal's challenge stays usable for asking again).
    pub used_challenges: Vec<ChallengeId>,
    pub renewals: Vec<IssuedRenewal>,
    /// Every call, by path name, in order.
    pub calls: Vec<&'static str>,
    /// Makes the next call of this name fail as if the network were down.
    pub unreachable_once: Option<&'static str>,
}

/// The double; clones share one state, so a test keeps a handle while the flow owns another.
#[derive(Debug, Clone)]
pub struct AuthorityDouble(pub Rc<RefCell<State>>);

fn refuse(code: ErrorCode, message: &str) -> AuthorityError {
    AuthorityError::Refused(ApiError::new(code, message))
}

impl AuthorityDouble {
    /// The holder of the test card, with its original certificates, at `now`.
    pub fn new(now: OffsetDateTime, status: CertificateStatus) -> Self {
        let originals = original_certificates();
        let state = State {
            now,
            status,
            card_number: CardNumber::parse(CARD_NUMBER).unwrap(),
            national_id: NationalId::parse(NATIONAL_ID).unwrap(),
            birthday: Birthday::parse(BIRTHDAY).unwrap(),
            signature: CitizenCertificate::from_der(&originals.signature).unwrap(),
            encryption: CitizenCertificate::from_der(&originals.encryption).unwrap(),
            challenges: Vec::new(),
            used_challenges: Vec::new(),
            renewals: Vec::new(),
            calls: Vec::new(),
            unreachable_once: None,
        };
        Self(Rc::new(RefCell::new(state)))
    }

    pub fn state(&self) -> std::cell::Ref<'_, State> {
        self.0.borrow()
    }

    pub fn calls(&self, name: &str) -> usize {
        self.0.borrow().calls.iter().filter(|c| **c == name).count()
    }

    fn call(&self, name: &'static str) -> Result<(), AuthorityError> {
        let mut state = self.0.borrow_mut();
        state.calls.push(name);
        if state.unreachable_once == Some(name) {
            state.unreachable_once = None;
            return Err(AuthorityError::Unreachable(
                "connection reset (test)".into(),
            ));
        }
        Ok(())
    }

    fn receipt_of(state: &State, renewal: &IssuedRenewal) -> Receipt {
        Receipt {
            renewal_number: renewal.number.clone(),
            holder_name_masked: mask_holder_name(state.signature.holder_name().unwrap_or("")),
            card_number: state.card_number.clone(),
            signature_certificate_serial: renewal.signature_serial.clone(),
            encryption_certificate_serial: renewal.encryption_serial.clone(),
            old_validity: renewal.old_validity,
            new_validity: renewal.response.renewed_validity,
            renewed_at: renewal.renewed_at,
        }
    }

    /// The typed identity is the record's, and the card signed the proof over `challenge` and
    /// the serial of the signature certificate it holds (the original or the renewed one: the
    /// key is the same).
    fn check_holder(
        state: &State,
        challenge: &Challenge,
        serial: &renewal::CertificateSerial,
        (national_id, birthday): (&NationalId, Birthday),
        card_signature: &[u8],
    ) -> Result<(), AuthorityError> {
        if *national_id != state.national_id || birthday != state.birthday {
            return Err(refuse(ErrorCode::IdentityMismatch, "identity"));
        }
        let message = proof::proof_message(challenge, serial, &state.national_id, state.birthday);
        let spki = state.signature.subject_public_key_info_der().unwrap();
        let key = rsa::PublicKey::from_public_key_der(&spki).unwrap();
        let verified = Signature::try_from(card_signature)
            .ok()
            .is_some_and(|signature| {
                VerifyingKey::<Sha256>::new(key)
                    .verify(&message, &signature)
                    .is_ok()
            });
        if !verified {
            return Err(refuse(ErrorCode::ProofOfPossessionFailed, "signature"));
        }
        Ok(())
    }

    /// The offered challenge `id`, unexpired, used by nothing yet.
    fn usable_challenge(state: &State, id: &ChallengeId) -> Result<Challenge, AuthorityError> {
        let Some((_, challenge, expires_at)) =
            state.challenges.iter().find(|(known, _, _)| known == id)
        else {
            return Err(refuse(ErrorCode::ChallengeUnknown, "unknown challenge"));
        };
        if state.now > *expires_at {
            return Err(refuse(ErrorCode::ChallengeExpired, "challenge expired"));
        }
        if state.used_challenges.contains(id) {
            return Err(refuse(ErrorCode::ChallengeUsed, "challenge used"));
        }
        Ok(challenge.clone())
    }

    fn verdict_now(state: &State) -> Verdict {
        let record = if state.renewals.is_empty() {
            RenewalRecord::NotRenewed
        } else {
            RenewalRecord::Renewed
        };
        decide(&state.signature.validity(), state.status, record, state.now)
    }
}

impl AuthorityPort for AuthorityDouble {
    async fn server_info(&mut self) -> Result<ServerInfoResponse, AuthorityError> {
        self.call("server_info")?;
        Ok(ServerInfoResponse {
            api_version: API_VERSION,
            server_time: self.0.borrow().now,
            ca_certificates: Vec::new(),
        })
    }

    async fn verdict(
        &mut self,
        request: &VerdictRequest,
    ) -> Result<VerdictResponse, AuthorityError> {
        self.call("verdict")?;
        let mut state = self.0.borrow_mut();
        // A copy damaged by an interrupted write: the card's renewal on record answers for it.
        let known = |certificate: &CitizenCertificate| {
            certificate.der() == state.signature.der()
                || state
                    .renewals
                    .iter()
                    .any(|r| r.response.signature_certificate.0 == certificate.der())
        };
        let parsed = CitizenCertificate::from_der(&request.certificate.0);
        let pending_for_card = request.card_number.as_ref() == Some(&state.card_number)
            && state.renewals.last().is_some_and(|r| !r.completed);
        let (certificate, certificate_on_record) = match parsed {
            Ok(certificate) if known(&certificate) => (certificate, None),
            _ if pending_for_card => (
                state.signature.clone(),
                Some(state.signature.der().to_vec().into()),
            ),
            Ok(_) => return Err(refuse(ErrorCode::UnknownCertificate, "no such certificate")),
            Err(e) => return Err(refuse(ErrorCode::MalformedCertificate, &e.to_string())),
        };
        let renewed_serials: Vec<_> = state
            .renewals
            .iter()
            .map(|r| r.signature_serial.clone())
            .collect();
        let verdict = if certificate.serial() == state.signature.serial() {
            Self::verdict_now(&state)
        } else if renewed_serials.contains(certificate.serial()) {
            decide(
                &certificate.validity(),
                state.status,
                RenewalRecord::Renewed,
                state.now,
            )
        } else {
            return Err(refuse(ErrorCode::UnknownCertificate, "no such certificate"));
        };
        // Eligible: a challenge to renew with; a renewal on record: one to resume with.
        let challenge = if verdict.is_eligible() || !state.renewals.is_empty() {
            let index = u8::try_from(state.challenges.len()).unwrap_or(u8::MAX);
            let id = ChallengeId(format!("C{index}"));
            let bytes = Challenge::new([index.wrapping_add(0x42); 32]);
            let expires_at = state.now + Duration::minutes(10);
            state
                .challenges
                .push((id.clone(), bytes.clone(), expires_at));
            Some(ChallengeOffer {
                challenge_id: id,
                challenge: bytes,
                expires_at,
            })
        } else {
            None
        };
        Ok(VerdictResponse {
            server_time: state.now,
            certificate_serial: certificate.serial().clone(),
            verdict,
            challenge,
            certificate_on_record,
            renewal_on_record: state.renewals.last().map(|renewal| {
                if renewal.completed {
                    RenewalOnRecord::Completed
                } else {
                    RenewalOnRecord::Issued
                }
            }),
        })
    }

    async fn renew(&mut self, request: &RenewRequest) -> Result<RenewResponse, AuthorityError> {
        self.call("renew")?;
        let (national_id, birthday) = request.proof.identity().map_err(AuthorityError::Refused)?;
        let mut state = self.0.borrow_mut();
        // Idempotent: the same challenge asked again gets the same certificates.
        if let Some(done) = state
            .renewals
            .iter()
            .find(|r| r.challenge_id == request.challenge_id)
        {
            return Ok(done.response.clone());
        }
        let challenge = Self::usable_challenge(&state, &request.challenge_id)?;
        if request.signature_certificate_serial != *state.signature.serial()
            || request.encryption_certificate_serial != *state.encryption.serial()
        {
            return Err(refuse(ErrorCode::CertificatesNotSameCard, "serials"));
        }
        if request.card_number != state.card_number {
            return Err(refuse(ErrorCode::InvalidCardNumber, "card number"));
        }
        Self::check_holder(
            &state,
            &challenge,
            state.signature.serial(),
            (&national_id, birthday),
            &request.proof.card_signature.0,
        )?;
        let verdict = Self::verdict_now(&state);
        if let Some(refusal) = ApiError::from_verdict(&verdict) {
            return Err(AuthorityError::Refused(refusal));
        }
        let old_validity = state.signature.validity();
        let renewed = renewed_validity(&old_validity).unwrap();
        let issue = |role: Role, old: &CitizenCertificate, serial: &[u8]| {
            let spki = old
                .x509()
                .tbs_certificate()
                .subject_public_key_info()
                .clone();
            certificate(role, spki, serial, renewed.not_before, renewed.not_after)
        };
        let signature_der = issue(Role::Signature, &state.signature, &[0x20, 0x01]);
        let encryption_der = issue(Role::Encryption, &state.encryption, &[0x20, 0x02]);
        let signature_serial = CitizenCertificate::from_der(&signature_der)
            .unwrap()
            .serial()
            .clone();
        let encryption_serial = CitizenCertificate::from_der(&encryption_der)
            .unwrap()
            .serial()
            .clone();
        let number =
            RenewalNumber::parse(&format!("R20240101-{:06}", state.renewals.len() + 1)).unwrap();
        let response = RenewResponse {
            renewal_number: number.clone(),
            signature_certificate: signature_der.into(),
            encryption_certificate: encryption_der.into(),
            renewed_validity: renewed,
        };
        let now = state.now;
        state.renewals.push(IssuedRenewal {
            number,
            response: response.clone(),
            old_validity,
            signature_serial,
            encryption_serial,
            challenge_id: request.challenge_id.clone(),
            completed: false,
            renewed_at: now,
        });
        Ok(response)
    }

    async fn complete(
        &mut self,
        request: &CompleteRequest,
    ) -> Result<CompleteResponse, AuthorityError> {
        self.call("complete")?;
        let mut state = self.0.borrow_mut();
        let Some(index) = state
            .renewals
            .iter()
            .position(|r| r.number == request.renewal_number)
        else {
            return Err(refuse(ErrorCode::RenewalUnknown, "no such renewal"));
        };
        let renewal = &state.renewals[index];
        if renewal.signature_serial != request.signature_certificate_serial
            || renewal.encryption_serial != request.encryption_certificate_serial
        {
            return Err(refuse(ErrorCode::WrittenCertificatesMismatch, "serials"));
        }
        state.renewals[index].completed = true;
        let receipt = Self::receipt_of(&state, &state.renewals[index]);
        Ok(CompleteResponse { receipt })
    }

    async fn resume(&mut self, request: &ResumeRequest) -> Result<ResumeResponse, AuthorityError> {
        self.call("resume")?;
        let (national_id, birthday) = request.proof.identity().map_err(AuthorityError::Refused)?;
        let mut state = self.0.borrow_mut();
        let challenge = Self::usable_challenge(&state, &request.challenge_id)?;
        if request.card_number != state.card_number {
            return Err(refuse(ErrorCode::InvalidCardNumber, "card number"));
        }
        Self::check_holder(
            &state,
            &challenge,
            &request.signature_certificate_serial,
            (&national_id, birthday),
            &request.proof.card_signature.0,
        )?;
        state.used_challenges.push(request.challenge_id.clone());
        Ok(match state.renewals.last() {
            None => ResumeResponse::NothingPending,
            Some(renewal) if renewal.completed => ResumeResponse::Completed {
                receipt: Self::receipt_of(&state, renewal),
            },
            Some(renewal) => ResumeResponse::WritePending {
                renewal: renewal.response.clone(),
            },
        })
    }

    async fn receipt(
        &mut self,
        request: &ReceiptRequest,
    ) -> Result<ReceiptResponse, AuthorityError> {
        self.call("receipt")?;
        let state = self.0.borrow();
        let renewal = state
            .renewals
            .iter()
            .find(|r| {
                r.number == request.renewal_number && request.card_number == state.card_number
            })
            .ok_or_else(|| refuse(ErrorCode::RenewalUnknown, "no such renewal"))?;
        if !renewal.completed {
            return Err(refuse(ErrorCode::RenewalNotCompleted, "not completed"));
        }
        Ok(ReceiptResponse {
            receipt: Self::receipt_of(&state, renewal),
        })
    }
}
