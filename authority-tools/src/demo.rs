//! The demo data (`authority-tools init-demo`): a CA, holders, and one virtual card per case,
//! each saved as the `card` crate's virtual-card state (JSON) for the demo server and the tests.
//! `DEMO.md` lists the holders, their ID numbers, birthdays and PINs.
//!
//! Every holder is fictional and says so: the names spell the case (陳可展 "can renew",
//! 林太早 "too early" …), the ID numbers start `D` ("demo") and are checksum-valid, the card
//! numbers start `DM`. Each card's PIN is its holder's birthday in ROC form `yymmdd`, which is
//! what a real card starts with (CARD.md).
//!
//! Validity is set relative to the time of `init-demo`, with margins so that the cases keep
//! their meaning for months (the in-window card stays renewable for 3 years, the too-early one
//! for about 22 months); run `init-demo` again to refresh them.

use std::path::{Path, PathBuf};

use authority::files;
use authority::issuance::{self, citizen_subject, CertificateOrder};
use authority::signer::{generate_rsa_key, RsaSigner};
use authority::storage::{NewCertificate, NewRenewal};
use authority::Authority;
use card::virtual_card::{CardCertificates, VirtualCard, VirtualCardState, PIN_TRIES};
use card::Pin;
use renewal::national_id::letter_code;
use renewal::rules::renewed_validity;
use renewal::KeyRole;
use renewal::{
    Birthday, CardNumber, CertificateStatus, CitizenCertificate, NationalId, RenewalNumber,
    Validity,
};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime, Time};

use crate::error::ToolsError;

/// Where `init-demo` puts the cards, inside the data directory.
pub const CARDS_DIR: &str = "cards";
/// The list of demo cards, inside [`CARDS_DIR`].
pub const INDEX_FILE: &str = "index.json";

/// The situations a demo card is in; each is one row of [`CASES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DemoCase {
    /// Expires in 20 days: renewable now.
    InWindow,
    /// Expires in 2 years: the window opens in about 22 months.
    TooEarly,
    /// Renewed once already; the card holds the 8-year certificates.
    AlreadyRenewed,
    /// Expired a year ago: still renewable (up to 3 years after expiry).
    ExpiredOneYearAgo,
    /// Expired 4 years ago: too late, a new card is needed.
    ExpiredFourYearsAgo,
    /// In the window, but revoked.
    Revoked,
    /// In the window, but suspended.
    Suspended,
    /// In the window, but the card's PIN is locked (no tries left): the card refuses.
    PinLocked,
}

/// Everything that sets one demo case's card apart from the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoCaseSpec {
    /// The case.
    pub case: DemoCase,
    /// Its name (`in_window`…), as in `DEMO.md` and the card's file name; the case's JSON
    /// name too.
    pub name: &'static str,
    /// The holder's number: their ID number, card number and subject serial derive from it.
    pub holder_number: u64,
    /// The holder's name, which spells the case.
    pub holder_name: &'static str,
    /// A short label for the case (the demo panel's): Traditional Chinese, then English.
    pub label: (&'static str, &'static str),
    /// The holder's birthday (year, month, day), Gregorian.
    pub birthday: (i32, u8, u8),
    /// The original certificates end this long after "now" (negative: ago).
    pub expires_in: Duration,
    /// The certificates' status in the records.
    pub status: CertificateStatus,
    /// Renewed and completed a month before the original expiry: the card holds the renewed
    /// pair, the records the renewal.
    pub renewed: bool,
    /// PIN tries left on the card.
    pub pin_tries_left: u8,
}

/// Every demo case, in the order of `DEMO.md` and of [`DemoCase`]'s variants.
pub const CASES: [DemoCaseSpec; 8] = {
    const fn case(
        case: DemoCase,
        name: &'static str,
        label: (&'static str, &'static str),
        holder_name: &'static str,
        birthday: (i32, u8, u8),
        expires_in_days: i64,
    ) -> DemoCaseSpec {
        DemoCaseSpec {
            case,
            name,
            holder_number: case as u64 + 1,
            holder_name,
            label,
            birthday,
            expires_in: Duration::days(expires_in_days),
            status: CertificateStatus::Valid,
            renewed: false,
            pin_tries_left: PIN_TRIES,
        }
    }
    use DemoCase::*;
    [
        case(
            InWindow,
            "in_window",
            ("可展期", "in window"),
            "陳可展",
            (1980, 1, 15),
            20,
        ),
        case(
            TooEarly,
            "too_early",
            ("未到展期期間", "too early"),
            "林太早",
            (1985, 2, 20),
            730,
        ),
        DemoCaseSpec {
            renewed: true,
            ..case(
                AlreadyRenewed,
                "already_renewed",
                ("已展期", "already renewed"),
                "王已展",
                (1975, 3, 25),
                -100,
            )
        },
        case(
            ExpiredOneYearAgo,
            "expired_one_year_ago",
            ("逾期一年，仍可展期", "expired a year ago"),
            "張逾期",
            (1990, 4, 30),
            -365,
        ),
        case(
            ExpiredFourYearsAgo,
            "expired_four_years_ago",
            ("逾期四年，須重新申請", "expired four years ago"),
            "李太遲",
            (1968, 5, 5),
            -4 * 365,
        ),
        DemoCaseSpec {
            status: CertificateStatus::Revoked,
            ..case(
                Revoked,
                "revoked",
                ("已廢止", "revoked"),
                "吳廢止",
                (1972, 6, 10),
                20,
            )
        },
        DemoCaseSpec {
            status: CertificateStatus::Suspended,
            ..case(
                Suspended,
                "suspended",
                ("已停用", "suspended"),
                "周停用",
                (1988, 7, 7),
                20,
            )
        },
        DemoCaseSpec {
            pin_tries_left: 0,
            ..case(
                PinLocked,
                "pin_locked",
                ("PIN 已鎖", "PIN locked"),
                "鄭鎖卡",
                (1995, 8, 8),
                20,
            )
        },
    ]
};

impl DemoCase {
    /// Every case, in the order of [`CASES`].
    pub const ALL: [DemoCase; CASES.len()] = {
        let mut all = [DemoCase::InWindow; CASES.len()];
        let mut index = 0;
        while index < CASES.len() {
            all[index] = CASES[index].case;
            index += 1;
        }
        all
    };

    /// The case's row of [`CASES`] (rows are in variant order; a test checks it).
    pub fn spec(self) -> &'static DemoCaseSpec {
        &CASES[self as usize]
    }

    /// The case's name (`in_window`…), also its card file's name.
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// The demo holder of this case's card.
    pub fn holder(self) -> DemoHolder {
        let spec = self.spec();
        let index = spec.holder_number;
        let (year, month, day) = spec.birthday;
        DemoHolder {
            name: spec.holder_name.to_owned(),
            national_id: demo_national_id(index),
            birthday: format!("{year:04}-{month:02}-{day:02}"),
            // ROC yymmdd: the PIN a real card starts with.
            pin: format!("{:02}{month:02}{day:02}", year - 1911),
            card_number: format!("DM{index:014}"),
            subject_serial_number: format!("{:016}", 9_900_000_000_000_000u64 + index),
        }
    }

    /// The original certificates' validity, relative to `now`.
    pub fn original_validity(self, now: OffsetDateTime) -> Validity {
        second_generation_validity(now + self.spec().expires_in)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_case_is_its_own_row_under_its_json_name() {
        for (index, spec) in CASES.iter().enumerate() {
            assert_eq!(spec.case as usize, index, "{}", spec.name);
            assert_eq!(
                serde_json::to_value(spec.case).ok(),
                Some(serde_json::Value::from(spec.name))
            );
        }
    }
}

/// A fictional holder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoHolder {
    /// Name (the certificate's CN).
    pub name: String,
    /// National ID number (checksum-valid, starting `D`).
    pub national_id: String,
    /// Birthday, `YYYY-MM-DD`.
    pub birthday: String,
    /// The card's PIN.
    pub pin: String,
    /// The card number.
    pub card_number: String,
    /// The certificate subject's serialNumber.
    pub subject_serial_number: String,
}

/// `D1` (demo, male) or `D2`, then `0000000`-padded `index`, then the check digit.
fn demo_national_id(index: u64) -> String {
    fictional_national_id('D', index)
}

/// A checksum-valid ID number: `letter`, `1` or `2` by `index`'s parity, `index` in 7 digits
/// (below 10 000 000), and the check digit.
pub fn fictional_national_id(letter: char, index: u64) -> String {
    let sex = if index.is_multiple_of(2) { '2' } else { '1' };
    let body = format!("{letter}{sex}{index:07}");
    // Weighted sum of the letter code and the 8 digits; the check digit makes it 0 mod 10.
    let code = letter_code(letter).unwrap_or(10);
    let mut sum = code / 10 + (code % 10) * 9;
    for (position, digit) in body
        .chars()
        .skip(1)
        .filter_map(|c| c.to_digit(10))
        .enumerate()
    {
        sum += digit * (8 - u32::try_from(position).unwrap_or(0));
    }
    let check = (10 - sum % 10) % 10;
    format!("{body}{check}")
}

/// A validity ending at 23:59:59 Taiwan time on `expiry`'s Taiwan date, starting 5 calendar
/// years before at 09:30 Taiwan time: the second-generation form of RULES.md.
pub fn second_generation_validity(expiry: OffsetDateTime) -> Validity {
    let taiwan = renewal::calendar::TAIWAN_OFFSET;
    let local = expiry.to_offset(taiwan);
    let end = local.replace_time(Time::from_hms(23, 59, 59).unwrap_or(Time::MIDNIGHT));
    let start_date =
        renewal::calendar::add_calendar_years(local.date(), -5).unwrap_or(local.date());
    let start = end
        .replace_date(start_date)
        .replace_time(Time::from_hms(9, 30, 0).unwrap_or(Time::MIDNIGHT));
    Validity {
        not_before: start.to_offset(time::UtcOffset::UTC),
        not_after: end.to_offset(time::UtcOffset::UTC),
    }
}

/// The two RSA keys of a card (PKCS#8 DER).
#[derive(Clone)]
pub struct CardKeys {
    /// Key `02`.
    pub signature: Vec<u8>,
    /// Key `01`.
    pub encryption: Vec<u8>,
}

impl std::fmt::Debug for CardKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CardKeys(..)")
    }
}

/// Makes `count` card key pairs, on all cores (RSA key generation is slow).
pub fn generate_card_keys(count: usize) -> Result<Vec<CardKeys>, ToolsError> {
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    let keys: Vec<Result<Vec<u8>, ToolsError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|worker| {
                scope.spawn(move || {
                    (0..2 * count)
                        .filter(|index| index % threads == worker)
                        .map(|index| (index, generate_rsa_key().map_err(ToolsError::from)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<(usize, Result<Vec<u8>, ToolsError>)> = handles
            .into_iter()
            .flat_map(|handle| {
                handle.join().unwrap_or_else(|_| {
                    vec![(
                        usize::MAX,
                        Err(ToolsError::Worker("key generation thread failed".into())),
                    )]
                })
            })
            .collect();
        all.sort_by_key(|(index, _)| *index);
        all.into_iter().map(|(_, key)| key).collect()
    });
    let keys = keys.into_iter().collect::<Result<Vec<_>, _>>()?;
    Ok(keys
        .chunks(2)
        .filter_map(|pair| match pair {
            [signature, encryption] => Some(CardKeys {
                signature: signature.clone(),
                encryption: encryption.clone(),
            }),
            _ => None,
        })
        .collect())
}

/// One demo card as made: the holder, its certificates, and the virtual card.
#[derive(Debug, Clone)]
pub struct DemoCard {
    /// The case.
    pub case: DemoCase,
    /// The holder.
    pub holder: DemoHolder,
    /// The signature certificate on the card (DER).
    pub signature_certificate: Vec<u8>,
    /// The encryption certificate on the card (DER).
    pub encryption_certificate: Vec<u8>,
    /// The card's keys.
    pub keys: CardKeys,
    /// The virtual card's state.
    pub state: VirtualCardState,
}

impl DemoCard {
    /// The virtual card, as saved.
    pub fn virtual_card(&self) -> Result<VirtualCard, ToolsError> {
        VirtualCard::from_state(self.state.clone())
            .map_err(|error| ToolsError::Card(error.to_string()))
    }
}

/// One line of the cards' index file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoCardEntry {
    /// The case.
    pub case: DemoCase,
    /// The virtual-card state file, relative to the index.
    pub file: String,
    /// The holder (name, ID number, birthday, PIN, card number).
    pub holder: DemoHolder,
    /// The signature certificate's serial.
    pub signature_certificate_serial: String,
    /// The encryption certificate's serial.
    pub encryption_certificate_serial: String,
    /// The validity of the certificates on the card.
    pub validity: Validity,
}

impl DemoCardEntry {
    /// The case's name.
    pub fn case_name(&self) -> &'static str {
        self.case.name()
    }
}

/// Records the demo holders and certificates in `authority`'s database (its clock gives
/// "now"), using `keys[i]` for case `i` of [`DemoCase::ALL`] (tests may repeat keys;
/// `init-demo` makes fresh ones).
pub async fn create_cards(
    authority: &Authority,
    cases: &[DemoCase],
    keys: &[CardKeys],
) -> Result<Vec<DemoCard>, ToolsError> {
    let now = authority.now();
    let mut cards = Vec::with_capacity(cases.len());
    for (case, keys) in cases.iter().zip(keys.iter().cycle()) {
        cards.push(create_card(authority, *case, keys.clone(), now).await?);
    }
    Ok(cards)
}

async fn create_card(
    authority: &Authority,
    case: DemoCase,
    keys: CardKeys,
    now: OffsetDateTime,
) -> Result<DemoCard, ToolsError> {
    let holder = case.holder();
    let national_id = NationalId::parse(&holder.national_id)
        .map_err(|error| ToolsError::DemoData(format!("demo ID: {error}")))?;
    let birthday = Birthday::parse(&holder.birthday)
        .map_err(|error| ToolsError::DemoData(format!("demo birthday: {error}")))?;
    let card_number = CardNumber::parse(&holder.card_number)
        .map_err(|error| ToolsError::DemoData(format!("demo card number: {error}")))?;
    let spec = case.spec();
    let storage = authority.storage();
    let holder_id = storage
        .upsert_holder(
            &authority.identity_key().national_id_hash(&national_id),
            birthday,
            now,
        )
        .await?;
    let validity = case.original_validity(now);
    let issue_pair = |validity: Validity| -> Result<(NewCertificate, NewCertificate), ToolsError> {
        let one = |role: KeyRole, key: &[u8]| -> Result<NewCertificate, ToolsError> {
            let signer = RsaSigner::from_pkcs8(key)?;
            let der = issuance::issue(
                authority.ca(),
                &CertificateOrder {
                    subject: citizen_subject(&holder.name, &holder.subject_serial_number)?,
                    public_key: signer.public_key().spki()?,
                    role,
                    id_last_four: national_id.last_four().to_owned(),
                    validity,
                },
            )?;
            new_certificate(&der, holder_id, &card_number, role, spec.status)
        };
        Ok((
            one(KeyRole::Signature, &keys.signature)?,
            one(KeyRole::Encryption, &keys.encryption)?,
        ))
    };
    let (signature, encryption) = issue_pair(validity)?;
    let ids = storage
        .insert_certificates(&[signature.clone(), encryption.clone()], now)
        .await?;
    let (on_card_signature, on_card_encryption) = if spec.renewed {
        // Renewed a month before its expiry, and completed: the card holds the renewed pair.
        let renewed = renewed_validity(&validity)
            .ok_or_else(|| ToolsError::DemoData("demo validity out of range".into()))?;
        let (renewed_signature, renewed_encryption) = issue_pair(renewed)?;
        let renewed_at = validity.not_after - Duration::days(30);
        storage
            .insert_completed_renewal(
                &NewRenewal {
                    renewal_number: demo_renewal_number(renewed_at, spec.holder_number)?,
                    holder_id,
                    card_number: card_number.clone(),
                    original_signature_certificate_id: ids.first().copied().unwrap_or_default(),
                    original_encryption_certificate_id: ids.get(1).copied().unwrap_or_default(),
                    renewed_at,
                    signature: renewed_signature.clone(),
                    encryption: renewed_encryption.clone(),
                },
                renewed_at + Duration::minutes(2),
            )
            .await?;
        (renewed_signature, renewed_encryption)
    } else {
        (signature, encryption)
    };

    let private = |der: &[u8]| {
        use rsa::pkcs8::DecodePrivateKey;
        rsa::PrivateKey::from_pkcs8_der(der).map_err(|error| ToolsError::Card(error.to_string()))
    };
    let pin = Pin::new(&holder.pin).map_err(|error| ToolsError::DemoData(error.to_string()))?;
    let ca = authority.ca().certificate_der();
    let virtual_card = VirtualCard::new(
        &holder.card_number,
        &pin,
        &private(&keys.encryption)?,
        &private(&keys.signature)?,
        &CardCertificates {
            // Our CA is self-signed: it is both the root and the issuing CA.
            root_ca: Some(ca),
            issuing_ca: Some(ca),
            encryption: Some(&on_card_encryption.der),
            signature: Some(&on_card_signature.der),
        },
    )
    .map_err(|error| ToolsError::Card(error.to_string()))?;
    let mut state = virtual_card.state().clone();
    state.tries_left = spec.pin_tries_left;
    Ok(DemoCard {
        case,
        holder,
        signature_certificate: on_card_signature.der,
        encryption_certificate: on_card_encryption.der,
        keys,
        state,
    })
}

/// `R<date>-DEMO<holder number>`: a demo renewal says so.
fn demo_renewal_number(
    renewed_at: OffsetDateTime,
    holder_number: u64,
) -> Result<RenewalNumber, ToolsError> {
    RenewalNumber::parse(&format!(
        "R{:04}{:02}{:02}-DEMO{holder_number:02}",
        renewed_at.year(),
        u8::from(renewed_at.month()),
        renewed_at.day()
    ))
    .map_err(|error| ToolsError::DemoData(format!("demo renewal number: {error}")))
}

fn new_certificate(
    der: &[u8],
    holder_id: i64,
    card_number: &CardNumber,
    role: KeyRole,
    status: CertificateStatus,
) -> Result<NewCertificate, ToolsError> {
    let parsed = CitizenCertificate::from_der(der)
        .map_err(|error| ToolsError::DemoData(format!("certificate: {error}")))?;
    Ok(NewCertificate {
        serial: parsed.serial().clone(),
        holder_id,
        card_number: card_number.clone(),
        role,
        status,
        validity: parsed.validity(),
        der: der.to_vec(),
    })
}

/// Saves each card's virtual-card state as `<dir>/<case>.json` and the list as
/// `<dir>/index.json`; the files written.
pub fn save_cards(cards: &[DemoCard], dir: &Path) -> Result<Vec<PathBuf>, ToolsError> {
    files::create_dir(dir)?;
    let mut written = Vec::new();
    let mut index = Vec::new();
    for card in cards {
        let file = format!("{}.json", card.case.name());
        let path = dir.join(&file);
        let json = serde_json::to_vec_pretty(&card.state)
            .map_err(|error| ToolsError::DemoData(error.to_string()))?;
        // The state holds the card's private keys and PIN: owner-only, like any key file.
        files::write_private(&path, &json)?;
        written.push(path);
        let signature = CitizenCertificate::from_der(&card.signature_certificate)
            .map_err(|error| ToolsError::DemoData(format!("certificate: {error}")))?;
        let encryption = CitizenCertificate::from_der(&card.encryption_certificate)
            .map_err(|error| ToolsError::DemoData(format!("certificate: {error}")))?;
        index.push(DemoCardEntry {
            case: card.case,
            file,
            holder: card.holder.clone(),
            signature_certificate_serial: signature.serial().to_hex(),
            encryption_certificate_serial: encryption.serial().to_hex(),
            validity: signature.validity(),
        });
    }
    let path = dir.join(INDEX_FILE);
    let json = serde_json::to_vec_pretty(&index)
        .map_err(|error| ToolsError::DemoData(error.to_string()))?;
    files::write_private(&path, &json)?;
    written.push(path);
    Ok(written)
}

/// Reads the cards' index file.
pub fn load_index(dir: &Path) -> Result<Vec<DemoCardEntry>, ToolsError> {
    let path = dir.join(INDEX_FILE);
    serde_json::from_slice(&files::read(&path)?)
        .map_err(|error| ToolsError::DemoData(format!("{}: {error}", path.display())))
}

/// Reads one saved virtual card.
pub fn load_card(path: &Path) -> Result<VirtualCard, ToolsError> {
    let state: VirtualCardState = serde_json::from_slice(&files::read(path)?)
        .map_err(|error| ToolsError::DemoData(format!("{}: {error}", path.display())))?;
    VirtualCard::from_state(state).map_err(|error| ToolsError::Card(error.to_string()))
}

/// What `init-demo` made.
#[derive(Debug, Clone)]
pub struct InitDemoReport {
    /// The data directory.
    pub data_dir: PathBuf,
    /// The database URL.
    pub database_url: String,
    /// The cards' index entries.
    pub cards: Vec<DemoCardEntry>,
    /// The files written for the cards.
    pub card_files: Vec<PathBuf>,
}

/// `authority-tools init-demo`: CA and identity key (if missing), holders, certificates and one
/// virtual card per case, at the system time. Refuses a database that already has holders.
pub async fn init_demo(data_dir: &Path, database_url: &str) -> Result<InitDemoReport, ToolsError> {
    let authority =
        authority::server::open(data_dir, database_url, authority::clock::Clock::system()).await?;
    if authority.storage().counts().await?.holders > 0 {
        return Err(ToolsError::DemoData(format!(
            "{database_url} already holds records; init-demo wants a fresh database \
             (remove {} or choose another --data-dir)",
            data_dir.display()
        )));
    }
    let keys = tokio::task::spawn_blocking(|| generate_card_keys(DemoCase::ALL.len()))
        .await
        .map_err(|error| ToolsError::Worker(error.to_string()))??;
    let cards = create_cards(&authority, &DemoCase::ALL, &keys).await?;
    let cards_dir = data_dir.join(CARDS_DIR);
    let card_files = save_cards(&cards, &cards_dir)?;
    authority.storage().close().await;
    Ok(InitDemoReport {
        data_dir: data_dir.to_owned(),
        database_url: database_url.to_owned(),
        cards: load_index(&cards_dir)?,
        card_files,
    })
}
