//! triage's curated register: TOML (`register/partner-register.toml`), and the older
//! nine-column CSV (`name,aliases,city,province,kind,flags,note,source,as_of`), whose
//! flags all share the row's source and date.

use std::collections::HashSet;

use serde::Deserialize;

use super::{Format, ImportError, Imported, csv_row_error, into_list, validate};
use crate::screening::entry::{
    Entry, Flag, FlagKind, KNOWN_KINDS, List, Name, NameKind, is_partial_date, slug,
};
use crate::screening::normalise::is_han;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    /// Free-form information about the file (who checked it, when).
    #[serde(default)]
    #[allow(dead_code)]
    register: Option<toml::Table>,
    #[serde(default)]
    entry: Vec<Entry>,
}

/// The line of each `[[entry]]` table, for messages.
fn entry_lines(text: &str) -> Vec<u64> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with("[[entry]]"))
        .map(|(i, _)| i as u64 + 1)
        .collect()
}

pub fn parse_toml(text: &str) -> Result<Imported, ImportError> {
    let file: File = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(1, |s| {
            text[..s.start.min(text.len())].matches('\n').count() as u64 + 1
        });
        ImportError::at(line, "TOML", e.message().trim().to_owned())
    })?;
    let lines = entry_lines(text);
    let entries = into_list(file.entry, List::Curated);
    validate(&entries, &HashSet::new(), |i| {
        lines.get(i).copied().unwrap_or(1)
    })?;
    Ok(Imported {
        format: Format::CuratedToml,
        entries,
        skipped: Vec::new(),
    })
}

const HEADER: [&str; 9] = [
    "name", "aliases", "city", "province", "kind", "flags", "note", "source", "as_of",
];

pub fn parse_csv(text: &str) -> Result<Imported, ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| ImportError::at(1, "header", e.to_string()))?;
    if !header.iter().map(str::to_lowercase).eq(HEADER) {
        return Err(ImportError::at(
            1,
            "header",
            format!("must be `{}`", HEADER.join(",")),
        ));
    }
    let mut entries: Vec<Entry> = Vec::new();
    let mut lines: Vec<u64> = Vec::new();
    let mut used: HashSet<String> = HashSet::new();
    for row in reader.records() {
        let row = row.map_err(|e| csv_row_error(e, HEADER.len()))?;
        let line = row.position().map_or(0, |p| p.line());
        let field = |i: usize| row.get(i).unwrap_or_default().to_owned();
        let list = |i: usize| -> Vec<String> {
            row.get(i)
                .unwrap_or_default()
                .split('|')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let name = field(0);
        if name.is_empty() {
            return Err(ImportError::at(line, "name", "empty"));
        }
        let kind = field(4).to_lowercase();
        if !KNOWN_KINDS.contains(&kind.as_str()) {
            return Err(ImportError::at(
                line,
                "kind",
                format!("`{kind}` is not one of {}", KNOWN_KINDS.join(", ")),
            ));
        }
        let source = field(7);
        let as_of = field(8);
        let mut flags = Vec::new();
        for code in list(5) {
            let flag = FlagKind::parse(&code.to_lowercase()).ok_or_else(|| {
                ImportError::at(
                    line,
                    "flags",
                    format!(
                        "unknown flag `{code}` (known: {})",
                        FlagKind::ALL.map(FlagKind::code).join(", ")
                    ),
                )
            })?;
            if source.is_empty() {
                return Err(ImportError::at(
                    line,
                    "source",
                    "empty, but the row has flags: every flag needs a source",
                ));
            }
            flags.push(Flag {
                flag,
                source: source.clone(),
                url: String::new(),
                date: if is_partial_date(&as_of) {
                    as_of.clone()
                } else {
                    String::new()
                },
                detail: field(6),
            });
        }
        let mut id = slug(&name);
        while !used.insert(id.clone()) {
            id.push_str("-2");
        }
        let names = list(1)
            .into_iter()
            .map(|alias| Name {
                kind: name_kind(&alias),
                name: alias,
            })
            .collect();
        entries.push(Entry {
            id,
            list: List::Curated,
            name,
            names,
            kind,
            city: field(2),
            province: field(3),
            country: String::new(),
            parent: None,
            flags,
            note: field(6),
        });
        lines.push(line);
    }
    validate(&entries, &HashSet::new(), |i| {
        lines.get(i).copied().unwrap_or(0)
    })?;
    Ok(Imported {
        format: Format::CuratedCsv,
        entries,
        skipped: Vec::new(),
    })
}

/// Guesses what an alias of the old CSV is.
fn name_kind(alias: &str) -> NameKind {
    let short_capitals = alias.chars().count() <= 10
        && !alias.contains(' ')
        && alias.chars().any(|c| c.is_ascii_uppercase())
        && !alias.chars().any(|c| c.is_lowercase());
    if alias.chars().any(is_han) {
        NameKind::Chinese
    } else if short_capitals {
        NameKind::Abbreviation
    } else {
        NameKind::Alias
    }
}
