//! Every text the page shows, in Traditional Chinese (Taiwan) first and English, from one
//! catalogue ([`Key`]). Texts with blanks (`{n}`, `{date}`) are [`Message`]s: a key and typed
//! arguments, so dates come out in the reader's calendar order (ROC first in zh-TW).
//!
//! Where the official renewal notice has wording (展期作業成功, 收執聯, 請勿將卡片抽出…), the
//! catalogue uses it.

mod catalogue;

pub use catalogue::Key;
pub use renewal::Language;

use renewal::roc_date::{format_date, format_instant};
use time::{Date, OffsetDateTime};

/// A value put into a blank of a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    /// Shown as is.
    Text(String),
    /// A whole number.
    Number(i64),
    /// An instant, shown as Taiwan date and time in both calendars.
    Instant(OffsetDateTime),
    /// A calendar date, shown in both calendars.
    Date(Date),
}

impl Arg {
    fn render(&self, language: Language) -> String {
        match self {
            Arg::Text(text) => text.clone(),
            Arg::Number(number) => number.to_string(),
            Arg::Instant(instant) => format_instant(*instant, language),
            Arg::Date(date) => format_date(*date, language),
        }
    }
}

/// A text of the catalogue with its blanks filled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The text.
    pub key: Key,
    /// Values for its blanks, by name.
    pub args: Vec<(&'static str, Arg)>,
}

impl Message {
    /// A text without blanks.
    pub fn new(key: Key) -> Self {
        Self {
            key,
            args: Vec::new(),
        }
    }

    /// Fills the blank `{name}`.
    pub fn with(mut self, name: &'static str, value: Arg) -> Self {
        self.args.push((name, value));
        self
    }

    /// The text in `language` with every blank filled.
    pub fn render(&self, language: Language) -> String {
        let mut text = self.key.text(language).to_owned();
        for (name, value) in &self.args {
            text = text.replace(&format!("{{{name}}}"), &value.render(language));
        }
        text
    }
}

impl From<Key> for Message {
    fn from(key: Key) -> Self {
        Message::new(key)
    }
}

impl Key {
    /// The text in `language`.
    pub fn text(self, language: Language) -> &'static str {
        match language {
            Language::ZhTw => self.zh_tw(),
            Language::En => self.en(),
        }
    }
}

/// The blanks (`{name}`) a text has, in order.
pub fn blanks(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('}') else { break };
        found.push(&after[..end]);
        rest = &after[end + 1..];
    }
    found
}
