//! The two languages the page speaks.

use serde::{Deserialize, Serialize};

/// A display language. Traditional Chinese (Taiwan) comes first: it is the citizens' language
/// and the language of every official text this crate follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Language {
    /// Traditional Chinese as written in Taiwan (`zh-TW`).
    #[default]
    #[serde(rename = "zh-TW")]
    ZhTw,
    /// English (`en`).
    #[serde(rename = "en")]
    En,
}

impl Language {
    /// The BCP 47 tag (`zh-TW`, `en`).
    pub fn tag(self) -> &'static str {
        match self {
            Language::ZhTw => "zh-TW",
            Language::En => "en",
        }
    }
}
