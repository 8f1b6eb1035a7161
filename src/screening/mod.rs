//! Partner register: parsing the CSV and matching a typed partner name against it.
//!
//! Matching forgives case, accents, punctuation, word order, bracketed abbreviations,
//! aliases and close misspellings, but compares whole names: institutions that
//! share words ("Nanjing University" and "Nanjing University of Science and
//! Technology") stay apart because their word lists differ in length.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

/// One row of the partner register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterEntry {
    pub name: String,
    pub aliases: Vec<String>,
    pub city: String,
    pub province: String,
    pub kind: String,
    pub flags: Vec<String>,
    pub note: String,
    pub source: String,
    pub as_of: String,
}

/// Flags an entry may carry.
pub const KNOWN_FLAGS: [&str; 3] = ["military_links", "restricted_list", "talent_programme"];
/// Kinds of organisation, as in the `partner_type` question.
pub const KNOWN_KINDS: [&str; 10] = [
    "university",
    "cas_institute",
    "state_key_lab",
    "national_lab",
    "hospital",
    "private_company",
    "state_owned_enterprise",
    "government_body",
    "defence_affiliated",
    "other",
];

/// A register file that cannot be used, with the line at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegisterCsvError {
    #[error(
        "the header must be name,aliases,city,province,kind,flags,note,source,as_of (found: {0})"
    )]
    Header(String),
    #[error("line {line}: {message}")]
    Line { line: u64, message: String },
    #[error("the register has no entries")]
    Empty,
}

const HEADER: [&str; 9] = [
    "name", "aliases", "city", "province", "kind", "flags", "note", "source", "as_of",
];

fn split_list(field: &str) -> Vec<String> {
    field
        .split('|')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Parses the register CSV; errors name the line and the field.
pub fn parse_register_csv<R: std::io::Read>(
    reader: R,
) -> Result<Vec<RegisterEntry>, RegisterCsvError> {
    let mut csv = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(reader);
    let header = csv
        .headers()
        .map_err(|e| RegisterCsvError::Header(e.to_string()))?
        .clone();
    if header.iter().collect::<Vec<_>>() != HEADER {
        return Err(RegisterCsvError::Header(
            header.iter().collect::<Vec<_>>().join(","),
        ));
    }
    let mut entries: Vec<RegisterEntry> = Vec::new();
    // Every normalised name and alias, with the line that defined it, to refuse duplicates.
    let mut seen: HashMap<String, u64> = HashMap::new();
    for (index, record) in csv.records().enumerate() {
        let fallback_line = index as u64 + 2;
        let record = record.map_err(|e| RegisterCsvError::Line {
            line: e.position().map_or(fallback_line, |p| p.line()),
            message: format!("not a valid CSV row ({e})"),
        })?;
        let line = record.position().map_or(fallback_line, |p| p.line());
        let err = |message: String| RegisterCsvError::Line { line, message };
        let field = |i: usize| record.get(i).unwrap_or_default().to_owned();
        let entry = RegisterEntry {
            name: field(0),
            aliases: split_list(&field(1)),
            city: field(2),
            province: field(3),
            kind: field(4),
            flags: split_list(&field(5)),
            note: field(6),
            source: field(7),
            as_of: field(8),
        };
        if entry.name.is_empty() {
            return Err(err("name is empty".into()));
        }
        if !KNOWN_KINDS.contains(&entry.kind.as_str()) {
            return Err(err(format!(
                "kind `{}` is not one of {}",
                entry.kind,
                KNOWN_KINDS.join(", ")
            )));
        }
        if let Some(flag) = entry
            .flags
            .iter()
            .find(|f| !KNOWN_FLAGS.contains(&f.as_str()))
        {
            return Err(err(format!(
                "unknown flag `{flag}` (known: {})",
                KNOWN_FLAGS.join(", ")
            )));
        }
        for spelling in std::iter::once(&entry.name).chain(&entry.aliases) {
            let key = key_of(spelling);
            if key.is_empty() {
                return Err(err(format!("`{spelling}` has no letters or digits")));
            }
            if let Some(other) = seen.insert(key, line) {
                if other != line {
                    return Err(err(format!(
                        "`{spelling}` is already used by the entry on line {other}"
                    )));
                }
            }
        }
        entries.push(entry);
    }
    if entries.is_empty() {
        return Err(RegisterCsvError::Empty);
    }
    Ok(entries)
}

/// How a typed name matched an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchQuality {
    /// The same text as a name or alias, ignoring case.
    Exact,
    /// The same words after normalisation (accents, punctuation, order, abbreviations).
    Normalised,
    /// A close misspelling.
    Close,
}

/// A register entry found for a typed name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegisterMatch {
    pub entry: RegisterEntry,
    /// The name or alias that matched.
    pub matched_on: String,
    pub quality: MatchQuality,
}

/// One searchable spelling of an entry.
struct Spelling {
    entry: usize,
    text: String,
    lowercase: String,
    /// Sorted words after normalisation.
    words: Vec<String>,
    /// A plain acronym (HIT, BIT): matched only exactly, never fuzzily.
    acronym: bool,
}

/// An in-memory register with its normalised index, built once and shared.
pub struct Register {
    entries: Vec<RegisterEntry>,
    spellings: Vec<Spelling>,
}

/// Longest input considered; longer text is no organisation name.
const MAX_INPUT: usize = 400;

impl Register {
    pub fn new(entries: Vec<RegisterEntry>) -> Self {
        let mut spellings = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            for text in std::iter::once(&e.name).chain(&e.aliases) {
                let words = words_of(text);
                if words.is_empty() {
                    continue;
                }
                let acronym = is_acronym(text);
                spellings.push(Spelling {
                    entry: i,
                    text: text.clone(),
                    lowercase: text.trim().to_lowercase(),
                    words,
                    acronym,
                });
            }
        }
        Register { entries, spellings }
    }

    pub fn entries(&self) -> &[RegisterEntry] {
        &self.entries
    }

    /// The best match for a typed name, or `None`.
    pub fn find(&self, typed: &str) -> Option<RegisterMatch> {
        let typed = typed.trim();
        if typed.is_empty() || typed.chars().count() > MAX_INPUT {
            return None;
        }
        let (outside, inside) = split_brackets(typed);
        let candidates: Vec<Vec<String>> = std::iter::once(outside)
            .chain(inside)
            .map(|c| words_of(&c))
            .filter(|w| !w.is_empty())
            .collect();
        let bracket_texts: Vec<String> = split_brackets(typed)
            .1
            .iter()
            .map(|t| t.trim().to_lowercase())
            .collect();
        let lowercase = typed.to_lowercase();
        // (quality, edits, spelling index): the smallest wins, deterministically.
        let mut best: Option<(MatchQuality, usize, usize)> = None;
        for (i, s) in self.spellings.iter().enumerate() {
            let found = if s.lowercase == lowercase {
                Some((MatchQuality::Exact, 0))
            } else if s.acronym {
                bracket_texts
                    .contains(&s.lowercase)
                    .then_some((MatchQuality::Normalised, 0))
            } else if candidates.contains(&s.words) {
                Some((MatchQuality::Normalised, 0))
            } else {
                candidates
                    .iter()
                    .filter_map(|words| close_words(words, &s.words))
                    .min()
                    .map(|edits| (MatchQuality::Close, edits))
            };
            if let Some((quality, edits)) = found {
                let candidate = (quality, edits, i);
                if best.is_none_or(|b| candidate < b) {
                    best = Some(candidate);
                }
            }
        }
        let (quality, _, i) = best?;
        let spelling = &self.spellings[i];
        Some(RegisterMatch {
            entry: self.entries[spelling.entry].clone(),
            matched_on: spelling.text.clone(),
            quality,
        })
    }
}

/// The normalised key of a name: its sorted words joined by spaces. Used to group
/// cases naming the same partner.
pub fn normalise_name(name: &str) -> String {
    words_of(name).join(" ")
}

fn key_of(spelling: &str) -> String {
    if is_acronym(spelling) {
        format!("#{}", spelling.trim().to_lowercase())
    } else {
        normalise_name(spelling)
    }
}

/// A short all-capital alias without spaces, like HIT or NUDT.
fn is_acronym(text: &str) -> bool {
    let t = text.trim();
    !t.contains(' ')
        && t.chars().count() <= 6
        && t.chars().all(|c| c.is_ascii_alphanumeric())
        && t.chars().any(|c| c.is_ascii_uppercase())
}

/// Text outside brackets, and each bracketed part on its own.
fn split_brackets(text: &str) -> (String, Vec<String>) {
    let mut outside = String::new();
    let mut inside = Vec::new();
    let mut depth = 0usize;
    let mut current = String::new();
    for c in text.chars() {
        match c {
            '(' | '[' | '（' => {
                depth += 1;
                outside.push(' ');
            }
            ')' | ']' | '）' if depth > 0 => {
                depth -= 1;
                if depth == 0 && !current.trim().is_empty() {
                    inside.push(std::mem::take(&mut current));
                }
            }
            _ if depth > 0 => current.push(c),
            _ => outside.push(c),
        }
    }
    if !current.trim().is_empty() {
        inside.push(current);
    }
    (outside, inside)
}

/// Words that carry no identity.
const FILLER: [&str; 6] = ["the", "of", "and", "for", "at", "in"];

/// Abbreviations expanded before comparing.
fn expand(word: &str) -> &str {
    match word {
        "univ" | "uni" | "u" => "university",
        "inst" | "institut" => "institute",
        "tech" | "technol" => "technology",
        "sci" => "science",
        "scis" => "sciences",
        "acad" => "academy",
        "natl" | "nat" => "national",
        "eng" | "engg" => "engineering",
        "med" => "medical",
        "aero" => "aeronautics",
        "astro" => "astronautics",
        "polytech" => "polytechnical",
        "dept" => "department",
        "lab" => "laboratory",
        "labs" => "laboratories",
        "corp" => "corporation",
        "co" => "company",
        "intl" => "international",
        other => other,
    }
}

/// Sorted, normalised words: accents stripped, case folded, punctuation dropped,
/// abbreviations expanded, filler words removed. CJK text is kept as one word without spaces.
fn words_of(text: &str) -> Vec<String> {
    let folded: String = text
        .nfkd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            '&' => ' ',
            c if c.is_alphanumeric() => c,
            _ => ' ',
        })
        .collect();
    let folded = folded.replace(" & ", " and ");
    let mut words: Vec<String> = Vec::new();
    for raw in folded.split_whitespace() {
        let word = expand(raw);
        if FILLER.contains(&word) {
            continue;
        }
        words.push(word.to_owned());
    }
    // CJK names are written without spaces; remove any typed ones.
    if words.iter().any(|w| w.chars().any(is_cjk)) {
        return vec![words.concat()];
    }
    words.sort();
    words
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0xF900..=0xFAFF)
}

/// Edits allowed in a word of this length.
fn allowed_edits(len: usize) -> usize {
    match len {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    }
}

/// Total edits when each word is a close spelling of its counterpart; `None` when
/// any word differs too much or the word counts differ.
fn close_words(typed: &[String], known: &[String]) -> Option<usize> {
    if typed.len() != known.len() || typed.is_empty() {
        return None;
    }
    // Misspellings change the sort order, so pair words by best match rather than position.
    let mut used = vec![false; known.len()];
    let mut total = 0;
    for t in typed {
        let mut best: Option<(usize, usize)> = None;
        for (j, k) in known.iter().enumerate() {
            if used[j] {
                continue;
            }
            let d = strsim::damerau_levenshtein(t, k);
            if d <= allowed_edits(k.chars().count().min(t.chars().count()))
                && best.is_none_or(|(_, bd)| d < bd)
            {
                best = Some((j, d));
            }
        }
        let (j, d) = best?;
        used[j] = true;
        total += d;
    }
    // A few typing errors, not a different name.
    (total > 0 && total <= 3).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn register() -> Register {
        let entries =
            parse_register_csv(include_str!("../../register/partner-register.csv").as_bytes())
                .expect("valid register");
        Register::new(entries)
    }

    fn found(typed: &str) -> Option<String> {
        register().find(typed).map(|m| m.entry.name)
    }

    #[test]
    fn every_entry_matches_its_own_name_and_every_alias_exactly() {
        let r = register();
        for e in r.entries() {
            for spelling in std::iter::once(&e.name).chain(&e.aliases) {
                let m = r
                    .find(spelling)
                    .unwrap_or_else(|| panic!("{spelling} not found"));
                assert_eq!(m.entry.name, e.name, "{spelling}");
                assert_eq!(m.quality, MatchQuality::Exact, "{spelling}");
            }
        }
    }

    #[test]
    fn case_accents_punctuation_order_and_brackets_are_forgiven() {
        for (typed, expected) in [
            (
                "HARBIN INSTITUTE OF TECHNOLOGY",
                "Harbin Institute of Technology",
            ),
            (
                "harbin institute of technology (HIT)",
                "Harbin Institute of Technology",
            ),
            ("Beihang University (BUAA)", "Beihang University"),
            (
                "Institute of Technology, Harbin",
                "Harbin Institute of Technology",
            ),
            (
                "Hárbin Instítute of Technology",
                "Harbin Institute of Technology",
            ),
            (
                "Harbin Inst. of Technology",
                "Harbin Institute of Technology",
            ),
            ("Harbin Inst. Tech.", "Harbin Institute of Technology"),
            (
                "Chinese Academy of Sciences, Institute of Semiconductors",
                "Institute of Semiconductors, Chinese Academy of Sciences",
            ),
            (
                "University of Science & Technology of China",
                "University of Science and Technology of China",
            ),
            ("nudt", "National University of Defense Technology"),
            ("哈尔滨 工业大学", "Harbin Institute of Technology"),
            ("Tsinghua Univ.", "Tsinghua University"),
            (
                "  Tianjin   Medical University  ",
                "Tianjin Medical University",
            ),
        ] {
            assert_eq!(found(typed).as_deref(), Some(expected), "{typed}");
        }
    }

    #[test]
    fn close_misspellings_are_found_and_marked_close() {
        let r = register();
        for (typed, expected) in [
            (
                "Harbin Insitute of Technology",
                "Harbin Institute of Technology",
            ),
            ("Tsinghua Univeristy", "Tsinghua University"),
            ("Beihang Univercity", "Beihang University"),
            (
                "Northwestern Polytechnical Univrsity",
                "Northwestern Polytechnical University",
            ),
            (
                "Nanjing Univ. of Aeronautics and Astronatics",
                "Nanjing University of Aeronautics and Astronautics",
            ),
        ] {
            let m = r.find(typed).unwrap_or_else(|| panic!("{typed} not found"));
            assert_eq!(m.entry.name, expected, "{typed}");
            assert_eq!(m.quality, MatchQuality::Close, "{typed}");
        }
    }

    #[test]
    fn institutions_that_share_words_are_not_confused() {
        for (typed, not) in [
            (
                "Nanjing University",
                "Nanjing University of Science and Technology",
            ),
            (
                "Harbin Medical University",
                "Harbin Institute of Technology",
            ),
            ("Harbin Medical University", "Harbin Engineering University"),
            (
                "Beijing University of Technology",
                "Beijing Institute of Technology",
            ),
            (
                "Chinese Academy of Medical Sciences",
                "Chinese Academy of Sciences",
            ),
            (
                "Chinese Academy of Engineering",
                "Chinese Academy of Sciences",
            ),
            (
                "Institute of Semiconductors",
                "Institute of Semiconductors, Chinese Academy of Sciences",
            ),
            (
                "Nanjing University of Technology",
                "Nanjing University of Science and Technology",
            ),
            (
                "Harbin University of Science and Technology",
                "Harbin Institute of Technology",
            ),
            (
                "Beijing Normal University",
                "Beijing Institute of Technology",
            ),
            (
                "Science and Technology University",
                "University of Science and Technology of China",
            ),
        ] {
            assert_ne!(
                found(typed).as_deref(),
                Some(not),
                "{typed} must not match {not}"
            );
        }
        assert_eq!(
            found("Chinese Academy of Medical Sciences").as_deref(),
            Some("Chinese Academy of Medical Sciences")
        );
        assert_eq!(found("Nanjing University"), None);
        assert_eq!(found("Harbin Medical University"), None);
        assert_eq!(
            found("BIT").as_deref(),
            Some("Beijing Institute of Technology")
        );
        assert_eq!(found("BIH"), None, "acronyms never match fuzzily");
    }

    #[test]
    fn unrelated_names_find_nothing() {
        for typed in [
            "Peking University",
            "Fudan University",
            "Zhejiang University",
            "University of Amsterdam",
            "Sun Yat-sen University",
        ] {
            assert_eq!(found(typed), None, "{typed}");
        }
    }

    #[test]
    fn garbage_input_finds_nothing_and_never_panics() {
        let long = "x".repeat(10_000);
        for typed in [
            "",
            "   ",
            "(((",
            ")))",
            "()",
            "\u{0}",
            "🙂🙂",
            "&&&",
            "of the and",
            long.as_str(),
            "([)]",
            "（HIT",
        ] {
            let _ = found(typed);
        }
        assert_eq!(found(""), None);
        assert_eq!(found("of the and"), None);
        assert_eq!(found(&long), None);
    }

    #[test]
    fn the_normalised_name_groups_spellings_of_the_same_partner() {
        assert_eq!(
            normalise_name("Harbin Inst. of Technology"),
            normalise_name("harbin institute of technology")
        );
        assert_ne!(
            normalise_name("Nanjing University"),
            normalise_name("Nanjing University of Science and Technology")
        );
    }

    #[test]
    fn csv_errors_name_the_line() {
        let header = "name,aliases,city,province,kind,flags,note,source,as_of\n";
        let cases = [
            (
                format!("{header}A University,,X,Y,university,,,,\n,,,,university,,,,\n"),
                "line 3: name is empty",
            ),
            (
                format!("{header}A University,,X,Y,spaceship,,,,\n"),
                "line 2: kind `spaceship`",
            ),
            (
                format!("{header}A University,,X,Y,university,evil,,,\n"),
                "line 2: unknown flag `evil`",
            ),
            (
                format!(
                    "{header}A University,AU,X,Y,university,,,,\nB College,A University,X,Y,university,,,,\n"
                ),
                "line 3: `A University` is already used by the entry on line 2",
            ),
            (format!("{header}A University,,X\n"), "line 2"),
            ("nom,alias\nx,y\n".to_owned(), "header"),
            (header.to_owned(), "no entries"),
        ];
        for (text, expected) in cases {
            let err = parse_register_csv(text.as_bytes())
                .expect_err(expected)
                .to_string();
            assert!(err.contains(expected), "{err} should contain {expected}");
        }
    }
}
