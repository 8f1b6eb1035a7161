//! The US Consolidated Screening List, as trade.gov publishes it (CSV). The CSL
//! gathers the parties the US government restricts exports to (Commerce, State and
//! Treasury lists); every organisation on it is a restricted party. Rows of people,
//! vessels and aircraft are skipped. Rows of one organisation on several lists become
//! one entry with a flag per listing, each with its list, programmes, start date and
//! Federal Register notice as evidence.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::{Format, ImportError, Imported, csv_row_error, finish};
use crate::screening::entry::{Entry, Flag, FlagKind, List, Name, NameKind, is_partial_date, slug};
use crate::screening::normalise::{grouping_key, is_han};

/// The header exactly as published.
pub const HEADER: [&str; 29] = [
    "_id",
    "source",
    "entity_number",
    "type",
    "programs",
    "name",
    "title",
    "addresses",
    "federal_register_notice",
    "start_date",
    "end_date",
    "standard_order",
    "license_requirement",
    "license_policy",
    "call_sign",
    "vessel_type",
    "gross_tonnage",
    "gross_registered_tonnage",
    "vessel_flag",
    "vessel_owner",
    "remarks",
    "source_list_url",
    "alt_names",
    "citizenships",
    "dates_of_birth",
    "nationalities",
    "places_of_birth",
    "source_information_url",
    "ids",
];

fn column(name: &str) -> usize {
    HEADER.iter().position(|h| *h == name).unwrap_or(0)
}

pub fn parse(text: &str) -> Result<Imported, ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| ImportError::at(1, "header", e.to_string()))?
        .clone();
    if !header.iter().eq(HEADER) {
        let position = header
            .iter()
            .zip(HEADER)
            .position(|(have, want)| have != want)
            .unwrap_or(header.len().min(HEADER.len()));
        return Err(ImportError::at(
            1,
            "header",
            format!(
                "not the Consolidated Screening List header as published (column {} should be `{}`; expected `{}`)",
                position + 1,
                HEADER.get(position).unwrap_or(&"(none)"),
                HEADER.join(",")
            ),
        ));
    }
    let col = |name: &str| column(name);
    let mut groups: BTreeMap<String, (u64, Entry)> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut skipped: HashMap<String, usize> = HashMap::new();
    for row in reader.records() {
        let row = row.map_err(|e| csv_row_error(e, HEADER.len()))?;
        let line = row.position().map_or(0, |p| p.line());
        let get = |name: &str| row.get(col(name)).unwrap_or_default();
        let kind = get("type").to_lowercase();
        let person_facts = [
            "citizenships",
            "dates_of_birth",
            "nationalities",
            "places_of_birth",
        ]
        .iter()
        .any(|f| !get(f).is_empty());
        let skip = match kind.as_str() {
            "individual" => Some("people"),
            "vessel" => Some("vessels"),
            "aircraft" => Some("aircraft"),
            "" if person_facts => Some("people (no type, but a birth date or nationality)"),
            "" | "entity" | "organization" | "organisation" => None,
            _ => {
                return Err(ImportError::at(
                    line,
                    "type",
                    format!(
                        "`{}` is not Entity, Individual, Vessel or Aircraft",
                        get("type")
                    ),
                ));
            }
        };
        if let Some(reason) = skip {
            *skipped.entry(reason.to_owned()).or_default() += 1;
            continue;
        }
        let name = get("name").to_owned();
        if name.is_empty() || !name.chars().any(char::is_alphanumeric) {
            return Err(ImportError::at(line, "name", "empty"));
        }
        let list_name = get("source").to_owned();
        if list_name.is_empty() {
            return Err(ImportError::at(
                line,
                "source",
                "empty: every listing needs its list",
            ));
        }
        let date = get("start_date").to_owned();
        if !date.is_empty() && !is_partial_date(&date) {
            return Err(ImportError::at(
                line,
                "start_date",
                format!("`{date}` is not a date YYYY-MM-DD"),
            ));
        }
        let url = [get("source_information_url"), get("source_list_url")]
            .into_iter()
            .find(|u| u.starts_with("http://") || u.starts_with("https://"))
            .unwrap_or_default()
            .to_owned();
        let mut detail = Vec::new();
        for (label, field) in [
            ("programmes", "programs"),
            ("Federal Register", "federal_register_notice"),
            ("entity number", "entity_number"),
            ("licence requirement", "license_requirement"),
            ("licence policy", "license_policy"),
        ] {
            if !get(field).is_empty() {
                detail.push(format!("{label}: {}", get(field)));
            }
        }
        if !get("end_date").is_empty() {
            detail.push(format!("ends {}", get("end_date")));
        }
        let mut flags = vec![Flag {
            flag: FlagKind::RestrictedList,
            source: list_name.clone(),
            url: url.clone(),
            date: date.clone(),
            detail: detail.join("; "),
        }];
        // The Military End-User list and the Chinese Military-Industrial Complex list
        // say the organisation serves the military.
        let lower = list_name.to_lowercase();
        if lower.contains("military end user")
            || lower.contains("military-industrial")
            || lower.contains("(meu)")
            || lower.contains("(cmic)")
        {
            flags.push(Flag {
                flag: FlagKind::MilitaryLinks,
                source: list_name.clone(),
                url,
                date,
                detail: detail.join("; "),
            });
        }
        let countries: Vec<String> = get("addresses")
            .split(';')
            .filter_map(|a| a.rsplit(',').next())
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect();
        let aliases: Vec<Name> = get("alt_names")
            .split(';')
            .map(str::trim)
            .filter(|a| !a.is_empty() && *a != name)
            .map(|a| Name {
                name: a.to_owned(),
                kind: if a.chars().any(is_han) {
                    NameKind::Chinese
                } else {
                    NameKind::Alias
                },
            })
            .collect();
        let key = grouping_key(&name);
        let key = if key.is_empty() {
            name.to_lowercase()
        } else {
            key
        };
        let (_, entry) = groups.entry(key.clone()).or_insert_with(|| {
            order.push(key.clone());
            (
                line,
                Entry {
                    id: String::new(),
                    list: List::UsCsl,
                    name: name.clone(),
                    names: Vec::new(),
                    kind: "other".to_owned(),
                    city: String::new(),
                    province: String::new(),
                    country: String::new(),
                    parent: None,
                    flags: Vec::new(),
                    note: String::new(),
                },
            )
        });
        for alias in aliases {
            if !entry.names.iter().any(|n| n.name == alias.name) && alias.name != entry.name {
                entry.names.push(alias);
            }
        }
        for flag in flags {
            if !entry.flags.contains(&flag) {
                entry.flags.push(flag);
            }
        }
        let mut known: Vec<String> = entry
            .country
            .split(", ")
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect();
        for c in countries {
            if !known.contains(&c) {
                known.push(c);
            }
        }
        entry.country = known.join(", ");
        let remarks = get("remarks");
        if !remarks.is_empty() && !entry.note.contains(remarks) {
            if !entry.note.is_empty() {
                entry.note.push(' ');
            }
            entry.note.push_str(remarks);
        }
    }
    let mut used: HashSet<String> = HashSet::new();
    let mut entries = Vec::with_capacity(order.len());
    let mut lines = Vec::with_capacity(order.len());
    for key in order {
        let Some((line, mut entry)) = groups.remove(&key) else {
            continue;
        };
        let mut id = format!("{}{}", List::UsCsl.id_prefix(), slug(&entry.name));
        let mut n = 2;
        while !used.insert(id.clone()) {
            id = format!("{}{}-{n}", List::UsCsl.id_prefix(), slug(&entry.name));
            n += 1;
        }
        entry.id = id;
        entries.push(entry);
        lines.push(line);
    }
    finish(Format::UsCsl, entries, &lines, skipped)
}
