//! Which of the card's two user keys, and so which of its two user certificates.

use std::fmt;

/// A user key of the card and the certificate that goes with it. The card keeps one of each;
/// the CA certificates beside them have no key on the card.
///
/// | role | key reference | certificate |
/// | --- | --- | --- |
/// | [`Encryption`](KeyRole::Encryption) | `01` | user certificate 1 |
/// | [`Signature`](KeyRole::Signature) | `02` | user certificate 2 |
///
/// With the feature `serde`, `"signature"` or `"encryption"`, as [`as_str`](Self::as_str).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
pub enum KeyRole {
    /// The encryption key (`01`) and user certificate 1.
    Encryption,
    /// The signature key (`02`) and user certificate 2.
    Signature,
}

impl KeyRole {
    /// Both, in key-reference order.
    pub const ALL: [KeyRole; 2] = [KeyRole::Encryption, KeyRole::Signature];

    /// The card's key reference byte (P2 of the private-key operation).
    pub const fn key_reference(self) -> u8 {
        match self {
            KeyRole::Encryption => 0x01,
            KeyRole::Signature => 0x02,
        }
    }

    /// The role of a key reference byte.
    pub const fn from_key_reference(byte: u8) -> Option<KeyRole> {
        match byte {
            0x01 => Some(KeyRole::Encryption),
            0x02 => Some(KeyRole::Signature),
            _ => None,
        }
    }

    /// The number of its user certificate on the card (1 or 2).
    pub const fn user_certificate(self) -> u8 {
        match self {
            KeyRole::Encryption => 1,
            KeyRole::Signature => 2,
        }
    }

    /// Its name in JSON and in the authority's database: `signature` or `encryption`.
    pub const fn as_str(self) -> &'static str {
        match self {
            KeyRole::Signature => "signature",
            KeyRole::Encryption => "encryption",
        }
    }

    /// The role [`as_str`](Self::as_str) names.
    pub fn parse(text: &str) -> Option<KeyRole> {
        KeyRole::ALL.into_iter().find(|role| role.as_str() == text)
    }
}

/// `signature key (02)`, `encryption key (01)`.
impl fmt::Display for KeyRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} key ({:02X})", self.as_str(), self.key_reference())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_facts_of_each_role() {
        for role in KeyRole::ALL {
            assert_eq!(
                KeyRole::from_key_reference(role.key_reference()),
                Some(role)
            );
            assert_eq!(KeyRole::parse(role.as_str()), Some(role));
        }
        assert_eq!(KeyRole::Signature.key_reference(), 0x02);
        assert_eq!(KeyRole::Signature.user_certificate(), 2);
        assert_eq!(KeyRole::Encryption.key_reference(), 0x01);
        assert_eq!(KeyRole::Encryption.user_certificate(), 1);
        assert_eq!(KeyRole::from_key_reference(0x03), None);
        assert_eq!(KeyRole::parse("Signature"), None);
        assert_eq!(KeyRole::Signature.to_string(), "signature key (02)");
        assert_eq!(KeyRole::Encryption.to_string(), "encryption key (01)");
    }

    #[cfg(feature = "serde")]
    #[test]
    fn travels_as_its_name() {
        for role in KeyRole::ALL {
            let json = serde_json::to_string(&role).ok();
            assert_eq!(json, Some(format!("\"{}\"", role.as_str())));
            let back = json.as_deref().map(serde_json::from_str::<KeyRole>);
            assert_eq!(back.and_then(Result::ok), Some(role));
        }
    }
}
