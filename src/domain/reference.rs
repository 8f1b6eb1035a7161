//! Case references: `TRI-<year>-<number>`, assigned by the database when a case is
//! created (year of creation, a sequence per year of at least four digits).

/// The reference a search text stands for, written the way the database stores it:
/// `tri-2026-42`, ` TRI-2026-0042 ` and `TRI 2026 0042` all read `TRI-2026-0042`.
/// Anything else is not a reference.
pub fn parse(text: &str) -> Option<String> {
    let upper = text.trim().to_ascii_uppercase();
    let rest = upper.strip_prefix("TRI")?;
    let mut parts = rest.split(['-', ' ']).filter(|p| !p.is_empty());
    let year = parts.next()?;
    let number = parts.next()?;
    if parts.next().is_some()
        || year.len() != 4
        || !year.bytes().all(|b| b.is_ascii_digit())
        || number.is_empty()
        || number.len() > 9
        || !number.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let n: u32 = number.parse().ok()?;
    if n == 0 {
        return None;
    }
    Some(format!("TRI-{year}-{n:04}"))
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn references_are_read_in_any_spelling() {
        assert_eq!(parse("TRI-2026-0042").as_deref(), Some("TRI-2026-0042"));
        assert_eq!(parse(" tri-2026-42 ").as_deref(), Some("TRI-2026-0042"));
        assert_eq!(parse("TRI 2026 0042").as_deref(), Some("TRI-2026-0042"));
        assert_eq!(parse("TRI-2026-12345").as_deref(), Some("TRI-2026-12345"));
    }

    #[test]
    fn other_text_is_not_a_reference() {
        for t in [
            "",
            "TRI",
            "TRI-26-1",
            "TRI-2026-",
            "TRI-2026-0",
            "quantum",
            "TRI-2026-1-2",
            "TRI-2026-x",
        ] {
            assert_eq!(parse(t), None, "{t}");
        }
    }
}
