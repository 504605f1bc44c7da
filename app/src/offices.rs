//! The household registration offices the Info page lists. They are data (`www/offices.json`,
//! from the table in `RULES.md`), not code, so a deployment can replace the file.

use serde::Deserialize;

use crate::i18n::Language;

/// Where the page loads the list from (Trunk copies `www/offices.json` beside the page).
pub const OFFICES_PATH: &str = "offices.json";

/// One office (申辦窗口).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Office {
    /// Its name, as the notice gives it.
    pub name: String,
    /// Its name in English, when the file has one.
    #[serde(default)]
    pub name_en: Option<String>,
    /// Its address.
    pub address: String,
    /// Its address in English, when the file has one.
    #[serde(default)]
    pub address_en: Option<String>,
    /// Its telephone number (area code first).
    pub phone: String,
}

impl Office {
    /// The name in `language` (the Chinese name when there is no English one).
    pub fn name_in(&self, language: Language) -> &str {
        match (language, &self.name_en) {
            (Language::En, Some(name)) => name,
            _ => &self.name,
        }
    }

    /// The address in `language` (the Chinese one when there is no English one).
    pub fn address_in(&self, language: Language) -> &str {
        match (language, &self.address_en) {
            (Language::En, Some(address)) => address,
            _ => &self.address,
        }
    }

    /// The number for a `tel:` link: digits only.
    pub fn phone_link(&self) -> String {
        let digits: String = self.phone.chars().filter(char::is_ascii_digit).collect();
        format!("tel:{digits}")
    }
}

/// The file's shape.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OfficeList {
    /// Where the list comes from.
    #[serde(default)]
    pub source: Option<String>,
    /// The offices.
    pub offices: Vec<Office>,
}

/// Why the file could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OfficesError {
    /// Not JSON of the expected shape.
    #[error("the office list is not valid: {0}")]
    Invalid(String),
    /// No office in it.
    #[error("the office list is empty")]
    Empty,
}

/// Reads the office list.
pub fn parse_offices(json: &str) -> Result<OfficeList, OfficesError> {
    let list: OfficeList =
        serde_json::from_str(json).map_err(|error| OfficesError::Invalid(error.to_string()))?;
    if list.offices.is_empty() {
        return Err(OfficesError::Empty);
    }
    Ok(list)
}
