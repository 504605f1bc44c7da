//! Test fixtures: keys and MOICA-profile certificates made once per test binary, a virtual
//! citizen card in a simulated reader, a chooser standing in for the browser's, and an
//! authority double (see `authority.rs`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    dead_code,
    unreachable_pub
)]

pub mod real_authority;

use std::str::FromStr;
use std::sync::OnceLock;
use std::time::Duration;

use app::flow::{ChooseError, ReaderChooser};
use card::pin::Pin;
use card::virtual_card::{CardCertificates, SharedVirtualCard, VirtualCard};
use ccid::sim::{SimReader, SimReaderConfig, SimTransport};
use ccid::{ControlSetup, TransportError, UsbDeviceInfo, UsbTransport};
use der::asn1::{Any, SetOfVec, UtcTime};
use der::{Encode, Tag};
use renewal::certificate::oid;
use rsa::pkcs1v15::SigningKey;
use rsa::PrivateKey;
use sha2::Sha256;
use spki::{SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef};
use time::macros::datetime;
use time::OffsetDateTime;
use x509_cert::attr::Attribute;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::ext::pkix::{KeyUsage, KeyUsages, SubjectDirectoryAttributes};
use x509_cert::ext::{Extension, ToExtension};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity as X509Validity};
use x509_cert::TbsCertificate;

pub const CARD_NUMBER: &str = "TP03000000001234";
/// The card's PIN: the holder's ROC birthday 60/01/01 as yymmdd, the initial PIN.
pub const PIN: &str = "600101";
pub const WRONG_PIN: &str = "A00000";
pub const HOLDER: &str = "王小明";
pub const HOLDER_SERIAL: &str = "1234567890123456";
pub const NATIONAL_ID: &str = "A123456789";
/// ROC 60/01/01 = 1971-01-01.
pub const BIRTHDAY: &str = "0600101";

/// The original certificates' validity: a real second-generation term, 5 years.
pub const NOT_BEFORE: OffsetDateTime = datetime!(2019-01-12 02:47:35 UTC);
pub const NOT_AFTER: OffsetDateTime = datetime!(2024-01-12 15:59:59 UTC);
/// Inside the window (it opens 2023-11-13 15:59:59 UTC).
pub const ELIGIBLE_TIME: OffsetDateTime = datetime!(2024-01-01 00:00:00 UTC);
pub const TOO_EARLY_TIME: OffsetDateTime = datetime!(2023-10-01 00:00:00 UTC);
pub const TOO_LATE_TIME: OffsetDateTime = datetime!(2027-02-01 00:00:00 UTC);

pub struct Keys {
    pub ca: PrivateKey,
    pub encryption: PrivateKey,
    pub signature: PrivateKey,
}

/// RSA-2048 keys, made once per test binary (key generation is slow).
pub fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let key = || PrivateKey::new(&mut getrandom::SysRng, 2048).unwrap();
        Keys {
            ca: key(),
            encryption: key(),
            signature: key(),
        }
    })
}

pub fn issuer_name() -> Name {
    Name::from_str("C=TW,O=行政院,OU=內政部憑證管理中心").unwrap()
}

pub fn holder_name() -> Name {
    Name::from_str(&format!("C=TW,CN={HOLDER},serialNumber={HOLDER_SERIAL}")).unwrap()
}

/// Which of the card's two certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Signature,
    Encryption,
}

/// The MOICA end-entity profile: key usage by role, citizen type and last 4 ID digits in the
/// subject directory attributes.
struct MoicaProfile {
    subject: Name,
    role: Role,
    id_last_four: String,
}

impl BuilderProfile for MoicaProfile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        issuer_name()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        _spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        let subject = tbs.subject();
        let mut extensions = Vec::new();
        let usage = match self.role {
            Role::Signature => KeyUsages::DigitalSignature | KeyUsages::NonRepudiation,
            Role::Encryption => KeyUsages::KeyEncipherment | KeyUsages::DataEncipherment,
        };
        extensions.push((&KeyUsage(usage)).to_extension(subject, &extensions)?);
        let attribute = |oid, value: Any| Attribute {
            oid,
            values: SetOfVec::try_from(vec![value]).unwrap(),
        };
        let directory = SubjectDirectoryAttributes(vec![
            attribute(
                oid::MOICA_CERTIFICATE_TYPE,
                Any::encode_from(&oid::CITIZEN_CERTIFICATE).unwrap(),
            ),
            attribute(
                oid::MOICA_ID_LAST_FOUR,
                Any::new(Tag::Utf8String, self.id_last_four.as_bytes()).unwrap(),
            ),
        ]);
        extensions.push((&directory).to_extension(subject, &extensions)?);
        Ok(extensions)
    }
}

fn x509_time(instant: OffsetDateTime) -> Time {
    let seconds = u64::try_from(instant.unix_timestamp()).unwrap();
    UtcTime::from_unix_duration(Duration::from_secs(seconds))
        .unwrap()
        .into()
}

/// A certificate in the MOICA profile for `spki`, signed by the test CA.
pub fn certificate(
    role: Role,
    spki: SubjectPublicKeyInfoOwned,
    serial: &[u8],
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> Vec<u8> {
    let profile = MoicaProfile {
        subject: holder_name(),
        role,
        id_last_four: NATIONAL_ID[6..].to_owned(),
    };
    let validity = X509Validity::new(x509_time(not_before), x509_time(not_after));
    let builder =
        CertificateBuilder::new(profile, SerialNumber::new(serial).unwrap(), validity, spki)
            .unwrap();
    let signer = SigningKey::<Sha256>::new(keys().ca.clone());
    builder
        .build::<_, rsa::pkcs1v15::Signature>(&signer)
        .unwrap()
        .to_der()
        .unwrap()
}

pub fn spki_of(key: &PrivateKey) -> SubjectPublicKeyInfoOwned {
    SubjectPublicKeyInfoOwned::from_key(key.as_public_key()).unwrap()
}

/// The card's two original certificates (serials 0x1001 signature, 0x1002 encryption).
pub struct CardCertificatesDer {
    pub signature: Vec<u8>,
    pub encryption: Vec<u8>,
}

pub fn original_certificates() -> &'static CardCertificatesDer {
    static CERTIFICATES: OnceLock<CardCertificatesDer> = OnceLock::new();
    CERTIFICATES.get_or_init(|| CardCertificatesDer {
        signature: certificate(
            Role::Signature,
            spki_of(&keys().signature),
            &[0x10, 0x01],
            NOT_BEFORE,
            NOT_AFTER,
        ),
        encryption: certificate(
            Role::Encryption,
            spki_of(&keys().encryption),
            &[0x10, 0x02],
            NOT_BEFORE,
            NOT_AFTER,
        ),
    })
}

/// A first-generation virtual card with the original certificates, shared so a test can look
/// at it while the reader holds it.
pub fn virtual_card() -> SharedVirtualCard {
    SharedVirtualCard::new(unshared_virtual_card())
}

/// The same card, not yet shared (to change it first).
pub fn unshared_virtual_card() -> VirtualCard {
    let certificates = original_certificates();
    VirtualCard::new(
        CARD_NUMBER,
        &Pin::new(PIN).unwrap(),
        &keys().encryption,
        &keys().signature,
        &CardCertificates {
            root_ca: None,
            issuing_ca: None,
            encryption: Some(&certificates.encryption),
            signature: Some(&certificates.signature),
        },
    )
    .unwrap()
}

/// The certificate in `slot` of `card`.
pub fn slot_certificate(
    card: &SharedVirtualCard,
    slot: card::files::Slot,
) -> renewal::CitizenCertificate {
    let bytes = card.borrow().slot_bytes(slot).to_vec();
    let length = card::files::der_length(&bytes).unwrap();
    renewal::CitizenCertificate::from_der(&bytes[..length]).unwrap()
}

/// The term of the certificate in `slot` of `card`, or `None` when the slot holds none.
pub fn slot_term(
    card: &SharedVirtualCard,
    slot: card::files::Slot,
) -> Option<renewal::rules::Term> {
    let bytes = card.borrow().slot_bytes(slot).to_vec();
    let length = card::files::der_length(&bytes).ok()?;
    let certificate = renewal::CitizenCertificate::from_der(bytes.get(..length)?).ok()?;
    Some(renewal::rules::classify_term(&certificate.validity()))
}

/// A simulated reader of `config` holding `card`.
pub fn reader_with(config: SimReaderConfig, card: &SharedVirtualCard) -> SimReader {
    let reader = SimReader::new(config);
    reader.insert(Box::new(card.clone()));
    reader
}

/// Where the chooser's page runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    /// An ordinary tab: WebUSB refuses interfaces of the smart-card class 0x0B.
    Ordinary,
    /// An Isolated Web App or kiosk with `usb-unrestricted`.
    Unrestricted,
}

/// What a test does around the USB transfers of a [`HookedTransport`]: an `Err` fails the
/// transfer as the platform would, before it reaches the reader.
pub trait TransferHook {
    /// Before `claimInterface`.
    fn claim(&mut self) -> Result<(), TransportError> {
        Ok(())
    }
    /// Before each control, bulk or interrupt transfer.
    fn before(&mut self) -> Result<(), TransportError> {
        Ok(())
    }
    /// After each control, bulk or interrupt transfer reached the reader.
    fn after(&mut self) {}
}

/// The simulated reader's transport with a test's [`TransferHook`] around every transfer.
pub struct HookedTransport<H> {
    pub inner: SimTransport,
    pub hook: H,
}

impl<H: TransferHook> UsbTransport for HookedTransport<H> {
    fn device_info(&self) -> UsbDeviceInfo {
        self.inner.device_info()
    }

    async fn claim_interface(
        &mut self,
        interface: u8,
        alternate: u8,
    ) -> Result<(), TransportError> {
        self.hook.claim()?;
        self.inner.claim_interface(interface, alternate).await
    }

    async fn control_in(
        &mut self,
        setup: ControlSetup,
        length: u16,
    ) -> Result<Vec<u8>, TransportError> {
        self.hook.before()?;
        let answer = self.inner.control_in(setup, length).await;
        self.hook.after();
        answer
    }

    async fn control_out(
        &mut self,
        setup: ControlSetup,
        data: &[u8],
    ) -> Result<(), TransportError> {
        self.hook.before()?;
        let answer = self.inner.control_out(setup, data).await;
        self.hook.after();
        answer
    }

    async fn bulk_out(&mut self, endpoint: u8, data: &[u8]) -> Result<(), TransportError> {
        self.hook.before()?;
        let answer = self.inner.bulk_out(endpoint, data).await;
        self.hook.after();
        answer
    }

    async fn bulk_in(
        &mut self,
        endpoint: u8,
        max_length: usize,
        timeout: Duration,
    ) -> Result<Vec<u8>, TransportError> {
        self.hook.before()?;
        let answer = self.inner.bulk_in(endpoint, max_length, timeout).await;
        self.hook.after();
        answer
    }

    async fn interrupt_in(
        &mut self,
        endpoint: u8,
        max_length: usize,
        timeout: Duration,
    ) -> Result<Vec<u8>, TransportError> {
        self.hook.before()?;
        let answer = self.inner.interrupt_in(endpoint, max_length, timeout).await;
        self.hook.after();
        answer
    }
}

/// The browser's side of WebUSB: `claimInterface` on a smart-card-class interface in an
/// ordinary tab is refused the way Chromium does (`SecurityError`, which a WebUSB transport
/// reports as `AccessDenied`), or the platform refuses it (another driver holds the reader).
pub struct BrowserLike {
    protected: bool,
    claim_error: Option<TransportError>,
}

impl TransferHook for BrowserLike {
    fn claim(&mut self) -> Result<(), TransportError> {
        if self.protected {
            return Err(TransportError::AccessDenied(
                "SecurityError: The requested interface implements a protected class.".into(),
            ));
        }
        match self.claim_error.clone() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

/// A test double of the browser's side of WebUSB over the simulated reader.
pub type BrowserLikeTransport = HookedTransport<BrowserLike>;

/// A test double of the browser's reader chooser: the user picks `reader` (or closes the
/// chooser when there is none).
pub struct SimChooser {
    pub reader: Option<SimReader>,
    pub interface_class: u8,
    pub tab: Tab,
    /// The platform's refusal to claim (another driver holds the reader).
    pub claim_error: Option<TransportError>,
}

impl SimChooser {
    pub fn new(reader: &SimReader, config: &SimReaderConfig, tab: Tab) -> Self {
        Self {
            reader: Some(reader.clone()),
            interface_class: config.interface_class,
            tab,
            claim_error: None,
        }
    }
}

impl ReaderChooser for SimChooser {
    type Transport = BrowserLikeTransport;

    async fn choose_reader(&mut self) -> Result<BrowserLikeTransport, ChooseError> {
        let reader = self.reader.as_ref().ok_or(ChooseError::NothingChosen)?;
        Ok(HookedTransport {
            inner: reader.transport(),
            hook: BrowserLike {
                protected: self.interface_class == 0x0B && self.tab == Tab::Ordinary,
                claim_error: self.claim_error.clone(),
            },
        })
    }
}
