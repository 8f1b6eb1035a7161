//! OpenSanctions entities in the FollowTheMoney format, one JSON object per line
//! (`entities.ftm.json`). Organisations, companies and public bodies are kept; the
//! topics `sanction`, `export.control` and `debarment` make an organisation a
//! restricted party. Entities without one of those topics raise nothing and are
//! skipped.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;

use super::{Format, ImportError, Imported, finish};
use crate::screening::entry::{Entry, Flag, FlagKind, List, Name, NameKind, slug};
use crate::screening::normalise::is_han;

const SCHEMAS: [&str; 3] = ["Organization", "Company", "PublicBody"];
const RESTRICTING_TOPICS: [&str; 3] = ["sanction", "export.control", "debarment"];

#[derive(Deserialize)]
struct Entity {
    id: Option<String>,
    schema: Option<String>,
    caption: Option<String>,
    #[serde(default)]
    properties: HashMap<String, serde_json::Value>,
    #[serde(default)]
    datasets: Vec<String>,
    first_seen: Option<String>,
}

fn strings(properties: &HashMap<String, serde_json::Value>, key: &str) -> Vec<String> {
    match properties.get(key) {
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str())
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect(),
        Some(serde_json::Value::String(s)) if !s.trim().is_empty() => vec![s.trim().to_owned()],
        _ => Vec::new(),
    }
}

pub fn parse(text: &str) -> Result<Imported, ImportError> {
    let mut entries: Vec<Entry> = Vec::new();
    let mut lines: Vec<u64> = Vec::new();
    let mut skipped: HashMap<String, usize> = HashMap::new();
    let mut used: HashSet<String> = HashSet::new();
    for (index, line) in text.lines().enumerate() {
        let number = index as u64 + 1;
        if line.trim().is_empty() {
            continue;
        }
        let entity: Entity = serde_json::from_str(line)
            .map_err(|e| ImportError::at(number, "JSON", format!("{e}")))?;
        let id = entity
            .id
            .filter(|i| !i.trim().is_empty())
            .ok_or_else(|| ImportError::at(number, "id", "missing"))?;
        let schema = entity
            .schema
            .ok_or_else(|| ImportError::at(number, "schema", "missing"))?;
        if !SCHEMAS.contains(&schema.as_str()) {
            *skipped.entry(format!("{schema} entities")).or_default() += 1;
            continue;
        }
        let topics = strings(&entity.properties, "topics");
        let restricting: Vec<&String> = topics
            .iter()
            .filter(|t| RESTRICTING_TOPICS.contains(&t.as_str()))
            .collect();
        if restricting.is_empty() {
            *skipped
                .entry(
                    "organisations without a sanction, export-control or debarment topic"
                        .to_owned(),
                )
                .or_default() += 1;
            continue;
        }
        let names = strings(&entity.properties, "name");
        let name = entity
            .caption
            .filter(|c| !c.trim().is_empty())
            .or_else(|| names.first().cloned())
            .ok_or_else(|| ImportError::at(number, "properties.name", "missing"))?;
        let mut other: Vec<Name> = Vec::new();
        let mut add = |text: String, kind: NameKind| {
            if text != name && !other.iter().any(|n| n.name == text) {
                let kind = if kind != NameKind::Former && text.chars().any(is_han) {
                    NameKind::Chinese
                } else {
                    kind
                };
                other.push(Name { name: text, kind });
            }
        };
        for n in names {
            add(n, NameKind::Official);
        }
        for n in strings(&entity.properties, "alias") {
            add(n, NameKind::Alias);
        }
        for n in strings(&entity.properties, "previousName") {
            add(n, NameKind::Former);
        }
        let date = entity
            .first_seen
            .as_deref()
            .map(|d| d.chars().take(10).collect::<String>())
            .filter(|d| crate::screening::entry::is_partial_date(d))
            .unwrap_or_default();
        let datasets = if entity.datasets.is_empty() {
            String::new()
        } else {
            format!("; datasets: {}", entity.datasets.join(", "))
        };
        let flag = Flag {
            flag: FlagKind::RestrictedList,
            source: "OpenSanctions".to_owned(),
            url: format!(
                "https://www.opensanctions.org/entities/{}/",
                id.chars()
                    .filter(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
                    .collect::<String>()
            ),
            date,
            detail: format!(
                "topics: {}{datasets}",
                restricting
                    .iter()
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let kind = match schema.as_str() {
            "PublicBody" => "government_body",
            "Company" => "private_company",
            _ => "other",
        };
        let mut entry_id = format!("{}{}", List::OpenSanctions.id_prefix(), slug(&id));
        while !used.insert(entry_id.clone()) {
            entry_id.push_str("-2");
        }
        entries.push(Entry {
            id: entry_id,
            list: List::OpenSanctions,
            name,
            names: other,
            kind: kind.to_owned(),
            city: String::new(),
            province: String::new(),
            country: strings(&entity.properties, "country").join(", "),
            parent: None,
            flags: vec![flag],
            note: strings(&entity.properties, "notes").join(" "),
        });
        lines.push(number);
    }
    finish(Format::OpenSanctions, entries, &lines, skipped)
}
