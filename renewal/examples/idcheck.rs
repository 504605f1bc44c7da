//! Checks a national ID number and prints the result as JSON.
//!
//! ```sh
//! cargo run -p renewal --example idcheck -- A123456789
//! ```
//!
//! Prints `{"valid": true}`, or `{"valid": false, "reason": …, "message": …}` naming the part
//! that is wrong (`length`, `first_letter`, `second_digit`, `digit`, `checksum`). Both exit 0:
//! the check ran. A missing or extra argument prints `{"error": …}` and exits 1.

use renewal::{NationalId, NationalIdError};
use serde::Serialize;
use serde_json::json;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [typed] = args.as_slice() else {
        let problem = format!(
            "expected 1 argument (the ID number), got {}; usage: idcheck <id>",
            args.len()
        );
        println!("{:#}", json!({ "error": problem }));
        std::process::exit(1);
    };
    println!("{}", check(typed));
}

/// What the example prints; absent fields are left out.
#[derive(Serialize)]
struct Report {
    valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    length: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    position: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    found: Option<String>,
}

fn check(typed: &str) -> String {
    let report = match NationalId::parse(typed) {
        Ok(_) => Report {
            valid: true,
            reason: None,
            message: None,
            length: None,
            position: None,
            found: None,
        },
        Err(error) => {
            let (length, position, found) = match &error {
                NationalIdError::Length { found } => (Some(*found), None, None),
                NationalIdError::FirstLetter { found } => (None, Some(1), Some(*found)),
                NationalIdError::SecondDigit { found } => (None, Some(2), Some(*found)),
                NationalIdError::Digit { position, found } => (None, Some(*position), Some(*found)),
                NationalIdError::Checksum => (None, None, None),
            };
            Report {
                valid: false,
                reason: Some(error.reason()),
                message: Some(error.to_string()),
                length,
                position,
                found: found.map(String::from),
            }
        }
    };
    // Straight to text: a `Value` would sort the keys and bury `valid`.
    serde_json::to_string_pretty(&report).unwrap_or_default()
}
