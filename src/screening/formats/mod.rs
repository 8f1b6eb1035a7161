//! Register files: triage's curated register (TOML, or the older nine-column CSV), the
//! US Consolidated Screening List (CSV as published) and OpenSanctions entities
//! (FollowTheMoney JSON lines). The format is recognised from the content; a bad
//! file is refused as a whole, with the line and field at fault.

mod csl;
mod curated;
mod opensanctions;

use std::collections::{HashMap, HashSet};

use super::entry::{Entry, List};

/// A file format the register can import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    CuratedToml,
    CuratedCsv,
    UsCsl,
    OpenSanctions,
}

impl Format {
    pub fn list(self) -> List {
        match self {
            Format::CuratedToml | Format::CuratedCsv => List::Curated,
            Format::UsCsl => List::UsCsl,
            Format::OpenSanctions => List::OpenSanctions,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Format::CuratedToml => "curated register (TOML)",
            Format::CuratedCsv => "curated register (CSV)",
            Format::UsCsl => "US Consolidated Screening List (CSV)",
            Format::OpenSanctions => "OpenSanctions entities (JSON lines)",
        }
    }
}

/// Why a register file was refused; nothing is imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}{message}", line.map(|l| format!("line {l}: ")).unwrap_or_default(), field.as_ref().map(|f| format!("{f}: ")).unwrap_or_default())]
pub struct ImportError {
    pub line: Option<u64>,
    /// The field (column, property or key) at fault.
    pub field: Option<String>,
    pub message: String,
}

impl ImportError {
    pub fn at(line: u64, field: impl Into<String>, message: impl Into<String>) -> Self {
        ImportError {
            line: Some(line),
            field: Some(field.into()),
            message: message.into(),
        }
    }

    pub fn file(message: impl Into<String>) -> Self {
        ImportError {
            line: None,
            field: None,
            message: message.into(),
        }
    }
}

/// A parsed register file.
#[derive(Debug, Clone)]
pub struct Imported {
    pub format: Format,
    pub entries: Vec<Entry>,
    /// Rows that are not organisations (people, vessels, aircraft) or raise no flag,
    /// counted by reason.
    pub skipped: Vec<(String, usize)>,
}

/// The largest file the register accepts.
pub const MAX_FILE_BYTES: usize = 200 * 1024 * 1024;

const CSL_HEADER_START: &str = "_id,source,entity_number,type,programs,name";
const CURATED_CSV_HEADER: &str = "name,aliases,city,province,kind,flags,note,source,as_of";

/// Recognises the format from the content.
pub fn detect(bytes: &[u8]) -> Result<Format, ImportError> {
    let text =
        std::str::from_utf8(bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes)).map_err(|e| {
            ImportError::file(format!(
                "the file is not UTF-8 text (byte {})",
                e.valid_up_to()
            ))
        })?;
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .ok_or_else(|| ImportError::file("the file is empty"))?;
    let lower = first.to_lowercase();
    if lower.starts_with(CSL_HEADER_START) {
        Ok(Format::UsCsl)
    } else if lower.starts_with(CURATED_CSV_HEADER) {
        Ok(Format::CuratedCsv)
    } else if first.starts_with('{') {
        Ok(Format::OpenSanctions)
    } else if first.starts_with('#') || first.starts_with('[') || text.contains("[[entry]]") {
        Ok(Format::CuratedToml)
    } else {
        Err(ImportError::at(
            1,
            "header",
            format!(
                "not a register file triage knows: expected the US Consolidated Screening List header \
                 (`{CSL_HEADER_START},...`), OpenSanctions JSON lines, a curated register in TOML \
                 (`[[entry]]` tables) or the CSV header `{CURATED_CSV_HEADER}`"
            ),
        ))
    }
}

/// Parses and validates a register file of any known format.
pub fn parse(bytes: &[u8]) -> Result<Imported, ImportError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(ImportError::file(format!(
            "the file is larger than {} MB",
            MAX_FILE_BYTES / 1024 / 1024
        )));
    }
    let format = detect(bytes)?;
    let text = std::str::from_utf8(bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes))
        .map_err(|_| ImportError::file("the file is not UTF-8 text"))?;
    let imported = match format {
        Format::CuratedToml => curated::parse_toml(text)?,
        Format::CuratedCsv => curated::parse_csv(text)?,
        Format::UsCsl => csl::parse(text)?,
        Format::OpenSanctions => opensanctions::parse(text)?,
    };
    if imported.entries.is_empty() {
        return Err(ImportError::file(
            "the file has no organisations to import (an empty list would silently switch its screening off)",
        ));
    }
    Ok(imported)
}

/// Checks a whole list: unique ids, each entry's fields, parents that exist (in this
/// list or among `other_ids`), no cycles. `line_of` gives an entry's line for messages.
pub fn validate(
    entries: &[Entry],
    other_ids: &HashSet<String>,
    line_of: impl Fn(usize) -> u64,
) -> Result<(), ImportError> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, entry) in entries.iter().enumerate() {
        if let Some(problem) = entry.problems().into_iter().next() {
            let (field, message) = problem.split_once(": ").unwrap_or(("entry", &problem));
            return Err(ImportError::at(
                line_of(i),
                format!("entry `{}`, {field}", entry.id),
                message,
            ));
        }
        if let Some(&first) = seen.get(entry.id.as_str()) {
            return Err(ImportError::at(
                line_of(i),
                "id",
                format!(
                    "`{}` is used twice (first on line {})",
                    entry.id,
                    line_of(first)
                ),
            ));
        }
        seen.insert(&entry.id, i);
    }
    for (i, entry) in entries.iter().enumerate() {
        let Some(parent) = &entry.parent else {
            continue;
        };
        if !seen.contains_key(parent.as_str()) && !other_ids.contains(parent) {
            return Err(ImportError::at(
                line_of(i),
                format!("entry `{}`, parent", entry.id),
                format!("no entry has the id `{parent}`"),
            ));
        }
        // Walk up; coming back to this entry is a cycle.
        let mut next = Some(parent.as_str());
        let mut steps = 0;
        while let Some(id) = next {
            if id == entry.id || steps > entries.len() {
                return Err(ImportError::at(
                    line_of(i),
                    format!("entry `{}`, parent", entry.id),
                    "the parents form a cycle",
                ));
            }
            next = seen.get(id).and_then(|&k| entries[k].parent.as_deref());
            steps += 1;
        }
    }
    Ok(())
}

/// A CSV row that cannot be read, with its line.
fn csv_row_error(e: csv::Error, columns: usize) -> ImportError {
    let line = e.position().map_or(0, |p| p.line());
    let message = match e.kind() {
        csv::ErrorKind::UnequalLengths { len, .. } => format!("{len} fields instead of {columns}"),
        csv::ErrorKind::Utf8 { .. } => "not UTF-8 text".to_owned(),
        _ => e.to_string(),
    };
    ImportError::at(line, "row", message)
}

/// Validates the entries of an official list (whose lines are known per entry) and
/// returns them with the rows skipped, counted by reason.
fn finish(
    format: Format,
    entries: Vec<Entry>,
    lines: &[u64],
    skipped: HashMap<String, usize>,
) -> Result<Imported, ImportError> {
    validate(&entries, &HashSet::new(), |i| {
        lines.get(i).copied().unwrap_or(0)
    })?;
    let mut skipped: Vec<(String, usize)> = skipped.into_iter().collect();
    skipped.sort();
    Ok(Imported {
        format,
        entries,
        skipped,
    })
}

/// Gives every entry the list it came from and its list's id prefix.
fn into_list(mut entries: Vec<Entry>, list: List) -> Vec<Entry> {
    for e in &mut entries {
        e.list = list;
    }
    entries
}

#[cfg(test)]
mod tests;
