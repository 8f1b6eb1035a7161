//! The one way text from a request becomes a value the program keeps: trimmed, at most
//! a maximum number of characters, and without NUL or other control characters (a
//! multi-line field keeps its line breaks and tabs). Every form and query goes through
//! these types, so text that PostgreSQL, an index, a log line or a spreadsheet would
//! choke on never gets further than the field it was typed in.

use std::fmt;

/// Why a text was refused, worded for the person who typed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextError {
    /// Nothing was typed where something is required.
    Empty,
    /// More characters than the field takes.
    TooLong { max: usize },
    /// A control character (NUL, escape, a bell; a line break in a one-line field).
    Control,
}

impl TextError {
    /// The sentence shown beside the field.
    pub fn message(self) -> String {
        match self {
            TextError::Empty => "Required.".to_owned(),
            TextError::TooLong { max } => {
                format!("At most {} characters.", group_thousands(max))
            }
            TextError::Control => {
                "Remove the invisible control characters (they were probably pasted in).".to_owned()
            }
        }
    }
}

impl TextError {
    /// The sentence shown beside a field and in the error summary, naming the field
    /// (`label`, in lower case after "the": "project title") and saying how to fix it.
    pub fn message_for(self, label: &str) -> String {
        match self {
            TextError::Empty => format!("Enter the {label}."),
            TextError::TooLong { max } => format!(
                "The {label} is too long: shorten it to {} characters or fewer.",
                group_thousands(max)
            ),
            TextError::Control => format!(
                "Remove the invisible control characters from the {label} (they were probably pasted in)."
            ),
        }
    }
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for TextError {}

/// "5,000" rather than "5000", as the pages write numbers.
fn group_thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Checks the length and the characters of an already trimmed text.
fn check(text: &str, max: usize, multi_line: bool) -> Result<(), TextError> {
    // Counting stops past the limit, so a huge value costs no more than a short one.
    if text.chars().nth(max).is_some() {
        return Err(TextError::TooLong { max });
    }
    let allowed = |c: char| multi_line && matches!(c, '\n' | '\t');
    if text.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err(TextError::Control);
    }
    Ok(())
}

/// One line of text of at most `MAX` characters, trimmed; may be empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Text<const MAX: usize>(String);

impl<const MAX: usize> Text<MAX> {
    /// Trims and checks; an empty text is valid (see [`Text::required`]).
    pub fn parse(raw: &str) -> Result<Self, TextError> {
        let text = raw.trim();
        check(text, MAX, false)?;
        Ok(Text(text.to_owned()))
    }

    /// `None` for an empty text.
    pub fn optional(raw: &str) -> Result<Option<Self>, TextError> {
        Self::parse(raw).map(|t| (!t.is_empty()).then_some(t))
    }
}

/// Text with line breaks (CR LF and CR become LF) and tabs, at most `MAX` characters,
/// trimmed; may be empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct MultiLine<const MAX: usize>(String);

impl<const MAX: usize> MultiLine<MAX> {
    pub fn parse(raw: &str) -> Result<Self, TextError> {
        let text = raw.trim().replace("\r\n", "\n").replace('\r', "\n");
        check(&text, MAX, true)?;
        Ok(MultiLine(text))
    }

    /// The non-empty lines, trimmed.
    pub fn lines(&self) -> impl Iterator<Item = &str> {
        self.0.lines().map(str::trim).filter(|l| !l.is_empty())
    }
}

/// A calendar day typed as YYYY-MM-DD; empty is `None`. Years outside 1900 to 9999
/// (`-9999-01-01`, `+10000-...`) are refused: no case is dated there, and PostgreSQL's
/// date range and a spreadsheet's are narrower than what the parser accepts.
pub fn parse_day(raw: &str) -> Result<Option<time::Date>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    match time::Date::parse(raw, format) {
        Ok(d) if (1900..=9999).contains(&d.year()) => Ok(Some(d)),
        Ok(_) => Err("Give a year between 1900 and 9999.".to_owned()),
        Err(_) => Err("Use the form YYYY-MM-DD, e.g. 2027-03-01.".to_owned()),
    }
}

macro_rules! text_traits {
    ($name:ident) => {
        impl<const MAX: usize> $name<MAX> {
            /// Like `parse`, refusing an empty text.
            pub fn required(raw: &str) -> Result<Self, TextError> {
                let text = Self::parse(raw)?;
                if text.0.is_empty() {
                    Err(TextError::Empty)
                } else {
                    Ok(text)
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }

            pub fn is_empty(&self) -> bool {
                self.0.is_empty()
            }
        }

        impl<const MAX: usize> std::ops::Deref for $name<MAX> {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl<const MAX: usize> fmt::Display for $name<MAX> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<const MAX: usize> serde::Serialize for $name<MAX> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        /// Strict: a value that would be refused in a form is refused here too.
        impl<'de, const MAX: usize> serde::Deserialize<'de> for $name<MAX> {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                Self::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

text_traits!(Text);
text_traits!(MultiLine);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_checked() {
        assert_eq!(Text::<10>::parse("  Ana  ").expect("valid").as_str(), "Ana");
        assert_eq!(Text::<10>::parse("").expect("empty is valid").as_str(), "");
        assert_eq!(Text::<10>::required("   "), Err(TextError::Empty));
        assert_eq!(Text::<3>::parse("abcd"), Err(TextError::TooLong { max: 3 }));
        // Characters, not bytes.
        assert!(Text::<3>::parse("äöü").is_ok());
        for bad in ["a\0b", "a\u{7}", "a\u{1b}[31m", "a\nb", "a\tb", "a\u{85}b"] {
            assert_eq!(Text::<50>::parse(bad), Err(TextError::Control), "{bad:?}");
        }
    }

    #[test]
    fn multi_line_text_keeps_line_breaks_and_tabs_only() {
        let t = MultiLine::<50>::parse(" one\r\n\ttwo\rthree ").expect("valid");
        assert_eq!(t.as_str(), "one\n\ttwo\nthree");
        assert_eq!(t.lines().collect::<Vec<_>>(), ["one", "two", "three"]);
        for bad in ["a\0b", "a\u{1b}b", "a\u{b}b"] {
            assert_eq!(
                MultiLine::<50>::parse(bad),
                Err(TextError::Control),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn messages_say_what_to_do() {
        assert_eq!(
            TextError::TooLong { max: 5000 }.message(),
            "At most 5,000 characters."
        );
        assert!(TextError::Control.message().contains("control characters"));
    }

    #[test]
    fn days_are_read_within_a_sensible_range() {
        assert_eq!(parse_day(""), Ok(None));
        assert!(parse_day("2027-03-01").expect("valid").is_some());
        for bad in [
            "-9999-01-01",
            "+10000-01-01",
            "0001-01-01",
            "01/03/2027",
            "2027-02-30",
            "\0",
        ] {
            assert!(parse_day(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn deserialising_is_as_strict_as_parsing() {
        let ok: Text<5> = serde_json::from_str("\" ab \"").expect("valid");
        assert_eq!(ok.as_str(), "ab");
        assert!(serde_json::from_str::<Text<5>>("\"a\\u0000\"").is_err());
    }
}
