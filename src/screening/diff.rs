//! What an import would change in one list of the register: entries added, removed
//! and changed, and the flags among those changes, shown before it is published.

use std::collections::HashMap;

use serde::Serialize;

use super::entry::{Entry, FlagKind};

/// One changed entry, with what changed in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Changed {
    pub before: Entry,
    pub after: Entry,
    pub changes: Vec<String>,
}

/// The changes between the entries of a list now and after an import.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RegisterDiff {
    pub added: Vec<Entry>,
    pub removed: Vec<Entry>,
    pub changed: Vec<Changed>,
    /// (entry name, flag) for every flag an entry gains or loses.
    pub flags_added: Vec<(String, FlagKind)>,
    pub flags_removed: Vec<(String, FlagKind)>,
    pub unchanged: usize,
}

impl RegisterDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// Compares entries by id.
pub fn diff(before: &[Entry], after: &[Entry]) -> RegisterDiff {
    let old: HashMap<&str, &Entry> = before.iter().map(|e| (e.id.as_str(), e)).collect();
    let new: HashMap<&str, &Entry> = after.iter().map(|e| (e.id.as_str(), e)).collect();
    let mut d = RegisterDiff::default();
    for e in after {
        match old.get(e.id.as_str()) {
            None => {
                d.flags_added
                    .extend(e.flag_kinds().into_iter().map(|f| (e.name.clone(), f)));
                d.added.push(e.clone());
            }
            Some(o) if *o == e => d.unchanged += 1,
            Some(o) => {
                let (gained, lost) = flag_changes(o, e);
                d.flags_added
                    .extend(gained.iter().map(|f| (e.name.clone(), *f)));
                d.flags_removed
                    .extend(lost.iter().map(|f| (e.name.clone(), *f)));
                d.changed.push(Changed {
                    before: (*o).clone(),
                    after: e.clone(),
                    changes: describe(o, e),
                });
            }
        }
    }
    for e in before {
        if !new.contains_key(e.id.as_str()) {
            d.flags_removed
                .extend(e.flag_kinds().into_iter().map(|f| (e.name.clone(), f)));
            d.removed.push(e.clone());
        }
    }
    d
}

fn flag_changes(before: &Entry, after: &Entry) -> (Vec<FlagKind>, Vec<FlagKind>) {
    let (b, a) = (before.flag_kinds(), after.flag_kinds());
    (
        a.iter().filter(|f| !b.contains(f)).copied().collect(),
        b.iter().filter(|f| !a.contains(f)).copied().collect(),
    )
}

fn describe(before: &Entry, after: &Entry) -> Vec<String> {
    let mut out = Vec::new();
    if before.name != after.name {
        out.push(format!(
            "name: \u{201c}{}\u{201d} \u{2192} \u{201c}{}\u{201d}",
            before.name, after.name
        ));
    }
    for n in &after.names {
        if !before.names.contains(n) {
            out.push(format!(
                "{} added: \u{201c}{}\u{201d}",
                n.kind.word(),
                n.name
            ));
        }
    }
    for n in &before.names {
        if !after.names.contains(n) {
            out.push(format!(
                "{} removed: \u{201c}{}\u{201d}",
                n.kind.word(),
                n.name
            ));
        }
    }
    for (label, b, a) in [
        ("kind", &before.kind, &after.kind),
        ("city", &before.city, &after.city),
        ("province", &before.province, &after.province),
        ("country", &before.country, &after.country),
        ("note", &before.note, &after.note),
    ] {
        if b != a {
            out.push(format!(
                "{label}: \u{201c}{b}\u{201d} \u{2192} \u{201c}{a}\u{201d}"
            ));
        }
    }
    if before.parent != after.parent {
        out.push(format!(
            "parent: {} \u{2192} {}",
            before.parent.as_deref().unwrap_or("none"),
            after.parent.as_deref().unwrap_or("none")
        ));
    }
    for f in &after.flags {
        if !before.flags.contains(f) {
            out.push(format!(
                "flag added or changed: {} ({}, {})",
                f.flag.label(),
                f.source,
                if f.date.is_empty() {
                    "no date"
                } else {
                    &f.date
                }
            ));
        }
    }
    for f in &before.flags {
        if !after
            .flags
            .iter()
            .any(|a| a.flag == f.flag && a.source == f.source)
        {
            out.push(format!("flag removed: {} ({})", f.flag.label(), f.source));
        }
    }
    out
}
