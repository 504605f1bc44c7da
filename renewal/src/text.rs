//! What people type, made comparable.
//!
//! Taiwanese input methods often produce full-width forms (`Ａ１２３`, `／`, `－`) and a stray
//! space; they mean the same as their ASCII forms, so we fold them before checking.

/// Trims surrounding white space (ASCII and the ideographic space) and folds full-width ASCII
/// forms (U+FF01–U+FF5E) to ASCII.
pub(crate) fn fold_typed(input: &str) -> String {
    input
        .trim_matches(|c: char| c.is_whitespace() || c == '\u{3000}')
        .chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFF01 + 0x21).unwrap_or(c),
            '\u{3000}' => ' ',
            other => other,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_full_width_and_trims() {
        assert_eq!(fold_typed("　Ａ１２３４ "), "A1234");
        assert_eq!(fold_typed("７９／０１／０１"), "79/01/01");
    }
}
