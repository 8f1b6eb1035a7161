//! A register entry as sourced data: a stable id, a canonical name, names of a kind,
//! seat, an optional parent, and flags that each carry their own source.

use serde::{Deserialize, Serialize};

/// Kinds of organisation, the options of the `partner_type` question.
pub const KNOWN_KINDS: &[&str] = crate::domain::contract::PARTNER_TYPES;

/// The list an entry comes from. Each import replaces only the entries of its own list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum List {
    /// triage's own register, verified by hand (`register/partner-register.toml`).
    Curated,
    /// The US Consolidated Screening List (CSV as published by trade.gov).
    UsCsl,
    /// OpenSanctions, FollowTheMoney entities as JSON lines.
    OpenSanctions,
}

impl List {
    pub const ALL: [List; 3] = [List::Curated, List::UsCsl, List::OpenSanctions];

    /// The code stored in the database.
    pub fn code(self) -> &'static str {
        match self {
            List::Curated => "curated",
            List::UsCsl => "us_csl",
            List::OpenSanctions => "opensanctions",
        }
    }

    pub fn parse(code: &str) -> Option<List> {
        List::ALL.into_iter().find(|l| l.code() == code)
    }

    /// The list's name for people.
    pub fn title(self) -> &'static str {
        match self {
            List::Curated => "Curated register",
            List::UsCsl => "US Consolidated Screening List",
            List::OpenSanctions => "OpenSanctions",
        }
    }

    /// The prefix of entry ids imported from this list (curated ids have none).
    pub fn id_prefix(self) -> &'static str {
        match self {
            List::Curated => "",
            List::UsCsl => "us-csl:",
            List::OpenSanctions => "os:",
        }
    }
}

/// What a name of an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NameKind {
    /// The canonical or another official name.
    Official,
    /// A name the organisation used before.
    Former,
    /// The official name in Chinese characters.
    Chinese,
    /// An acronym or a common short form (HIT, 哈工大).
    Abbreviation,
    /// Another spelling printed on a list ("Hunan Guofang Keji University").
    Alias,
}

impl NameKind {
    pub fn word(self) -> &'static str {
        match self {
            NameKind::Official => "official name",
            NameKind::Former => "former name",
            NameKind::Chinese => "Chinese name",
            NameKind::Abbreviation => "abbreviation",
            NameKind::Alias => "listed alias",
        }
    }
}

/// One name of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Name {
    pub name: String,
    pub kind: NameKind,
}

/// A fact the register records about an organisation; each raises the finding of the
/// question of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagKind {
    MilitaryLinks,
    RestrictedList,
    TalentProgramme,
}

impl FlagKind {
    pub const ALL: [FlagKind; 3] = [
        FlagKind::MilitaryLinks,
        FlagKind::RestrictedList,
        FlagKind::TalentProgramme,
    ];

    /// The code used by the rulebook's `register_flag` conditions.
    pub fn code(self) -> &'static str {
        match self {
            FlagKind::MilitaryLinks => "military_links",
            FlagKind::RestrictedList => "restricted_list",
            FlagKind::TalentProgramme => "talent_programme",
        }
    }

    pub fn parse(code: &str) -> Option<FlagKind> {
        FlagKind::ALL.into_iter().find(|f| f.code() == code)
    }

    /// The flag in words.
    pub fn label(self) -> &'static str {
        match self {
            FlagKind::MilitaryLinks => "Military or defence links",
            FlagKind::RestrictedList => "On a sanctions or restricted-party list",
            FlagKind::TalentProgramme => "State talent-programme recruitment",
        }
    }
}

/// A flag with the evidence behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flag {
    pub flag: FlagKind,
    /// The list or publication that states the fact.
    pub source: String,
    /// Where to read it; empty when the source has no address.
    #[serde(default)]
    pub url: String,
    /// When the fact became true (a listing's date), as `YYYY`, `YYYY-MM` or `YYYY-MM-DD`;
    /// empty when the source gives none.
    #[serde(default)]
    pub date: String,
    /// What exactly the source says (the notice, the programme).
    #[serde(default)]
    pub detail: String,
}

/// One organisation of the register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Stable across imports: a slug for curated entries, prefixed for official lists.
    pub id: String,
    #[serde(default = "curated")]
    pub list: List,
    /// The canonical name, shown to officers.
    pub name: String,
    /// Every other name, with its kind.
    #[serde(default)]
    pub names: Vec<Name>,
    /// One of [`KNOWN_KINDS`].
    pub kind: String,
    #[serde(default)]
    pub city: String,
    #[serde(default)]
    pub province: String,
    /// Countries of its addresses (ISO codes or names as the list gives them).
    #[serde(default)]
    pub country: String,
    /// The id of the organisation it belongs to (a campus, an institute, a subsidiary).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "blank_is_none"
    )]
    pub parent: Option<String>,
    #[serde(default)]
    pub flags: Vec<Flag>,
    /// Why it is in the register.
    #[serde(default)]
    pub note: String,
}

fn curated() -> List {
    List::Curated
}

fn blank_is_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let value = Option::<String>::deserialize(d)?;
    Ok(value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()))
}

impl Entry {
    /// The canonical name first, then every other name, with their kinds.
    pub fn all_names(&self) -> impl Iterator<Item = (&str, NameKind)> {
        std::iter::once((self.name.as_str(), NameKind::Official))
            .chain(self.names.iter().map(|n| (n.name.as_str(), n.kind)))
    }

    /// The distinct flags, in a fixed order.
    pub fn flag_kinds(&self) -> Vec<FlagKind> {
        let mut kinds: Vec<FlagKind> = self.flags.iter().map(|f| f.flag).collect();
        kinds.sort();
        kinds.dedup();
        kinds
    }

    /// Checks one entry on its own; the message names the field at fault.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let id_ok = !self.id.is_empty()
            && self.id.len() <= 200
            && self
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_:.".contains(c));
        if !id_ok {
            problems.push(format!(
                "id `{}`: use 1 to 200 lower-case letters, digits, `-`, `_`, `:` or `.`",
                self.id
            ));
        }
        if self.name.trim().is_empty() {
            problems.push("name: empty".to_owned());
        }
        for (text, _) in self.all_names() {
            if text.chars().count() > 500 {
                problems.push(format!(
                    "name `{}…`: longer than 500 characters",
                    truncate(text)
                ));
            }
            if text.chars().any(|c| c.is_control()) {
                problems.push(format!(
                    "name `{}`: contains control characters",
                    truncate(text)
                ));
            }
            if !text.chars().any(char::is_alphanumeric) {
                problems.push(format!("name `{text}`: has no letters or digits"));
            }
        }
        if !KNOWN_KINDS.contains(&self.kind.as_str()) {
            problems.push(format!(
                "kind `{}`: not one of {}",
                self.kind,
                KNOWN_KINDS.join(", ")
            ));
        }
        if self.parent.as_deref() == Some(self.id.as_str()) {
            problems.push("parent: an entry cannot be its own parent".to_owned());
        }
        for flag in &self.flags {
            let at = format!("flag `{}`", flag.flag.code());
            if flag.source.trim().is_empty() {
                problems.push(format!("{at}: the source is empty (every flag needs one)"));
            }
            if !flag.date.is_empty() && !is_partial_date(&flag.date) {
                problems.push(format!(
                    "{at}: date `{}` is not YYYY, YYYY-MM or YYYY-MM-DD",
                    flag.date
                ));
            }
            let web_address = flag.url.starts_with("https://") || flag.url.starts_with("http://");
            if !flag.url.is_empty() && !web_address {
                problems.push(format!(
                    "{at}: url `{}` is not an http(s) address",
                    flag.url
                ));
            }
        }
        problems
    }
}

fn truncate(text: &str) -> String {
    text.chars().take(60).collect()
}

/// `YYYY`, `YYYY-MM` or `YYYY-MM-DD` with a plausible month and day.
pub fn is_partial_date(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    let number = |s: &str, len: usize, range: std::ops::RangeInclusive<u32>| {
        s.len() == len
            && s.chars().all(|c| c.is_ascii_digit())
            && s.parse::<u32>().is_ok_and(|n| range.contains(&n))
    };
    match parts.as_slice() {
        [y] => number(y, 4, 1900..=2100),
        [y, m] => number(y, 4, 1900..=2100) && number(m, 2, 1..=12),
        [y, m, d] => number(y, 4, 1900..=2100) && number(m, 2, 1..=12) && number(d, 2, 1..=31),
        _ => false,
    }
}

/// A stable id from a name: lower-case ASCII words joined by dashes.
pub fn slug(text: &str) -> String {
    let folded = super::normalise::fold_latin(text).replace(['\'', '\u{2019}'], "");
    let mut slug = String::new();
    for word in folded
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !slug.is_empty() {
            slug.push('-');
        }
        slug.push_str(word);
    }
    if slug.is_empty() {
        // A name in Chinese characters only: its code points keep it stable and unique.
        slug = text
            .chars()
            .filter(|c| c.is_alphanumeric())
            .map(|c| format!("{:x}", c as u32))
            .collect::<Vec<_>>()
            .join("-");
    }
    slug.chars().take(180).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_dates_are_checked() {
        for ok in ["2020", "2020-06", "2020-06-05"] {
            assert!(is_partial_date(ok), "{ok}");
        }
        for bad in [
            "",
            "20",
            "2020-13",
            "2020-06-32",
            "2020/06/05",
            "June 2020",
            "-9999-01-01",
        ] {
            assert!(!is_partial_date(bad), "{bad}");
        }
    }

    #[test]
    fn slugs_are_stable_ascii() {
        assert_eq!(
            slug("Harbin Institute of Technology"),
            "harbin-institute-of-technology"
        );
        assert_eq!(
            slug("Xi'an Jiaotong-University (XJTU)"),
            "xian-jiaotong-university-xjtu"
        );
        assert_eq!(slug("Université Paris-Saclay"), "universite-paris-saclay");
        assert_eq!(slug("清华"), "6e05-534e");
    }

    #[test]
    fn entry_problems_name_the_field() {
        let entry = Entry {
            id: "Bad Id".into(),
            list: List::Curated,
            name: " ".into(),
            names: vec![Name {
                name: "---".into(),
                kind: NameKind::Alias,
            }],
            kind: "ministry".into(),
            city: String::new(),
            province: String::new(),
            country: String::new(),
            parent: Some("Bad Id".into()),
            flags: vec![Flag {
                flag: FlagKind::RestrictedList,
                source: String::new(),
                url: "ftp://x".into(),
                date: "2020-13".into(),
                detail: String::new(),
            }],
            note: String::new(),
        };
        let problems = entry.problems().join("\n");
        for expected in [
            "id `Bad Id`",
            "name: empty",
            "name `---`: has no letters or digits",
            "kind `ministry`",
            "parent: an entry cannot be its own parent",
            "flag `restricted_list`: the source is empty",
            "date `2020-13`",
            "url `ftp://x`",
        ] {
            assert!(
                problems.contains(expected),
                "{expected} missing from:\n{problems}"
            );
        }
    }
}
