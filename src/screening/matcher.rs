//! Screening a typed name: which organisations of the register it names, how sure the
//! match is, and why.
//!
//! An organisation is found inside a longer text: a name or alias that appears as
//! whole words (Latin script) or as a contiguous run of characters (Chinese script) is
//! a match, whatever stands before or after it (a department, a school, a campus, a
//! city). When several overlap, the longest wins (an institute of the Chinese Academy
//! of Sciences rather than the Academy). Close misspellings are forgiven only for
//! Latin-script words, word by word, and never turn one place or one kind of
//! institution into another; Chinese script is never matched by character edits;
//! acronyms match only exactly, as a word of their own.
//!
//! Three outcomes: a **match**, a **possible match** that a person has to confirm (a
//! misspelt distinctive word or place, a name that continues into what may be another
//! organisation, a shortened name), and **no match**.

use serde::{Deserialize, Serialize};

use super::entry::{Entry, NameKind};
use super::index::{NameId, Register, WordId};
use super::normalise::{Pieces, Word, pieces};
use super::vocabulary::{Identity, continues_same_organisation};

/// How sure a match is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Certainty {
    /// A person has to confirm that it is the same organisation.
    Possible,
    Match,
}

/// The result of screening a typed name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Match,
    Possible,
    NoMatch,
}

impl Outcome {
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Match => "Match",
            Outcome::Possible => "Possible match",
            Outcome::NoMatch => "No match",
        }
    }
}

/// How a name of the register was found in the typed text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum How {
    /// The typed text is the name.
    Exact,
    /// The name's words appear as whole words, in order.
    Words,
    /// The Chinese name appears as a contiguous run of characters.
    Han,
    /// The same words in another order.
    WordOrder,
    /// An acronym, as a word of its own.
    Acronym,
    /// Words of the name typed with close misspellings: (typed, known).
    Misspelt { corrections: Vec<(String, String)> },
    /// The name continues into words that may make it another organisation.
    Continues { rest: String },
    /// Only part of the name, with its distinctive words.
    Shortened { missing: Vec<String> },
}

/// An organisation found in the typed name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hit {
    pub entry: Entry,
    /// The organisations it belongs to, nearest first.
    pub ancestors: Vec<Entry>,
    /// The name or alias of the entry that was found.
    pub name: String,
    pub name_kind: NameKind,
    /// The part of the typed text that matched it.
    pub typed_part: String,
    /// Character offsets of that part in the typed text.
    pub start: usize,
    pub end: usize,
    pub certainty: Certainty,
    pub how: How,
    /// The reason in one or two sentences, for officers and reviewers.
    pub why: String,
}

/// Everything screening found for a typed name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Screening {
    pub typed: String,
    pub outcome: Outcome,
    /// Best first: matches before possible matches, longer before shorter. Different
    /// organisations named in one text each have their own hit.
    pub hits: Vec<Hit>,
    /// Shorter names that also fit but lost to a longer one, in words.
    pub set_aside: Vec<String>,
}

impl Screening {
    /// The best hit, if any.
    pub fn best(&self) -> Option<&Hit> {
        self.hits.first()
    }
}

/// Typed text beyond this many characters is not read (a name is never that long;
/// the cap bounds the work per keystroke).
pub const MAX_TYPED_CHARS: usize = 1000;

struct Candidate {
    name: NameId,
    start: usize,
    end: usize,
    /// Longer wins: two per Latin word, one per Chinese character.
    weight: u32,
    certainty: Certainty,
    how: How,
    edits: usize,
}

impl Register {
    /// Screens a typed name. Never panics, whatever the input.
    pub fn screen(&self, typed: &str) -> Screening {
        let typed: String = typed.chars().take(MAX_TYPED_CHARS).collect();
        let p = pieces(&typed);
        let mut candidates = Vec::new();
        self.latin_candidates(&p, &mut candidates);
        self.han_candidates(&p, &mut candidates);
        self.acronym_candidates(&p, &mut candidates);
        self.word_order_candidates(&p, &mut candidates);
        self.shortened_candidates(&p, &mut candidates);
        self.select(typed, candidates)
    }

    /// Names whose words appear in order as whole words, with close misspellings.
    fn latin_candidates(&self, p: &Pieces, out: &mut Vec<Candidate>) {
        let content: Vec<(usize, &Word)> = p
            .words
            .iter()
            .enumerate()
            .filter(|(_, w)| !w.stop)
            .collect();
        let known: Vec<Option<WordId>> = content
            .iter()
            .map(|(_, w)| self.vocabulary.id(&w.norm))
            .collect();
        let close: Vec<Vec<(WordId, usize)>> = content
            .iter()
            .zip(&known)
            .map(|((_, w), k)| match k {
                Some(_) => Vec::new(),
                None => self.vocabulary.close_words(&w.norm),
            })
            .collect();
        // Two typed words that make one known word ("Bei hang").
        let joined: Vec<Option<WordId>> = (0..content.len())
            .map(|i| {
                let (a, b) = (content[i].1, content.get(i + 1)?.1);
                (a.segment == b.segment)
                    .then(|| self.vocabulary.id(&format!("{}{}", a.norm, b.norm)))
                    .flatten()
            })
            .collect();

        struct State {
            node: u32,
            next: usize,
            fixes: Vec<(usize, WordId, usize)>,
        }
        for first in 0..content.len() {
            let mut stack = vec![State {
                node: 0,
                next: first,
                fixes: Vec::new(),
            }];
            while let Some(s) = stack.pop() {
                if s.node != 0 {
                    for &name in self.latin.ends(s.node) {
                        if let Some(c) =
                            self.latin_candidate(p, &content, first, &s.fixes, s.next, name)
                        {
                            out.push(c);
                        }
                    }
                }
                let i = s.next;
                if i >= content.len() {
                    continue;
                }
                if let Some(child) = known[i].and_then(|w| self.latin.child(s.node, w)) {
                    stack.push(State {
                        node: child,
                        next: i + 1,
                        fixes: s.fixes.clone(),
                    });
                }
                if let Some(child) = joined[i].and_then(|w| self.latin.child(s.node, w)) {
                    stack.push(State {
                        node: child,
                        next: i + 2,
                        fixes: s.fixes.clone(),
                    });
                }
                if s.fixes.len() < 2 {
                    for &(w, edits) in &close[i] {
                        if let Some(child) = self.latin.child(s.node, w) {
                            let mut fixes = s.fixes.clone();
                            fixes.push((i, w, edits));
                            stack.push(State {
                                node: child,
                                next: i + 1,
                                fixes,
                            });
                        }
                    }
                }
            }
        }
    }

    fn latin_candidate(
        &self,
        p: &Pieces,
        content: &[(usize, &Word)],
        first: usize,
        fixes: &[(usize, WordId, usize)],
        next: usize,
        name: NameId,
    ) -> Option<Candidate> {
        let n = &self.names[name as usize];
        let len = n.words.len();
        // At least one word exact; one misspelt word in short names, two in longer ones.
        let allowed = if len <= 3 { 1 } else { 2 };
        if fixes.len() > allowed
            || fixes.len() >= len
            || (!fixes.is_empty() && n.kind == NameKind::Abbreviation)
        {
            return None;
        }
        let mut certainty = Certainty::Match;
        for &(_, w, edits) in fixes {
            match self.vocabulary.identity(w) {
                // A misspelt kind of institution is corrected only when the typed word is
                // one letter off and is itself no known word (it never becomes another kind).
                Identity::Kind if edits == 1 => {}
                Identity::Kind => return None,
                // A misspelt place or distinctive word: a person has to confirm.
                Identity::Place | Identity::Plain => certainty = Certainty::Possible,
            }
        }
        let (start_word, end_word) = (content[first].1, content[next - 1].1);
        let mut how = if fixes.is_empty() {
            How::Words
        } else {
            How::Misspelt {
                corrections: fixes
                    .iter()
                    .map(|&(i, w, _)| {
                        (
                            content[i].1.norm.clone(),
                            self.vocabulary.text(w).to_owned(),
                        )
                    })
                    .collect(),
            }
        };
        if certainty == Certainty::Match
            && let Some(rest) = continuation(p, content[next - 1].0)
        {
            certainty = Certainty::Possible;
            how = How::Continues { rest };
        }
        Some(Candidate {
            name,
            start: start_word.start,
            end: end_word.end,
            weight: 2 * len as u32,
            certainty,
            how,
            edits: fixes.iter().map(|f| f.2).sum(),
        })
    }

    /// Chinese names as contiguous runs of characters; short forms only at the start of
    /// a run, so 北航 is found in 北航物理学院 but not in 东北航空.
    fn han_candidates(&self, p: &Pieces, out: &mut Vec<Candidate>) {
        for first in 0..p.han.len() {
            let mut node = 0u32;
            for last in first..p.han.len() {
                let Some(child) = self.han.child(node, p.han[last].ch) else {
                    break;
                };
                node = child;
                for &name in self.han.ends(node) {
                    let n = &self.names[name as usize];
                    if n.kind == NameKind::Abbreviation && !p.han[first].run_start {
                        continue;
                    }
                    out.push(Candidate {
                        name,
                        start: p.han[first].pos,
                        end: p.han[last].pos + 1,
                        weight: n.han.len() as u32,
                        certainty: Certainty::Match,
                        how: How::Han,
                        edits: 0,
                    });
                }
            }
        }
    }

    /// Acronyms: a word of its own, written in capitals unless it is all that was typed.
    fn acronym_candidates(&self, p: &Pieces, out: &mut Vec<Candidate>) {
        let alone = p.content().count() == 1 && p.han.is_empty();
        for word in p.content() {
            if !(word.upper || alone) {
                continue;
            }
            for &name in self.acronyms.get(&word.norm).map_or(&[][..], Vec::as_slice) {
                out.push(Candidate {
                    name,
                    start: word.start,
                    end: word.end,
                    weight: 2,
                    certainty: Certainty::Match,
                    how: How::Acronym,
                    edits: 0,
                });
            }
        }
    }

    /// The same words in another order, within one or more neighbouring parts of the
    /// text ("Academy of Sciences, Chinese").
    fn word_order_candidates(&self, p: &Pieces, out: &mut Vec<Candidate>) {
        let segments = segments(p);
        for a in 0..segments.len() {
            let mut words: Vec<&Word> = Vec::new();
            for part in segments.iter().skip(a).take(4) {
                words.extend(part.iter().copied());
                if words.len() < 2 {
                    continue;
                }
                let Some(mut ids) = words
                    .iter()
                    .map(|w| self.vocabulary.id(&w.norm))
                    .collect::<Option<Vec<WordId>>>()
                else {
                    break;
                };
                ids.sort_unstable();
                for &name in self.word_sets.get(&ids).map_or(&[][..], Vec::as_slice) {
                    out.push(Candidate {
                        name,
                        start: words.iter().map(|w| w.start).min().unwrap_or(0),
                        end: words.iter().map(|w| w.end).max().unwrap_or(0),
                        weight: 2 * ids.len() as u32,
                        certainty: Certainty::Match,
                        how: How::WordOrder,
                        edits: 0,
                    });
                }
            }
        }
    }

    /// A part of the text that is a shortened name: only words of the name, with all
    /// its distinctive words ("Beihang" for "Beihang University"). Names are looked up
    /// by their set of distinctive words, so the cost does not grow with the register.
    fn shortened_candidates(&self, p: &Pieces, out: &mut Vec<Candidate>) {
        for part in segments(p) {
            let Some(ids) = part
                .iter()
                .map(|w| self.vocabulary.id(&w.norm))
                .collect::<Option<Vec<WordId>>>()
            else {
                continue;
            };
            let mut distinctive: Vec<WordId> = ids
                .iter()
                .copied()
                .filter(|&w| self.is_distinctive(w))
                .collect();
            distinctive.sort_unstable();
            distinctive.dedup();
            // Every non-empty subset of (at most six of) the part's distinctive words.
            distinctive.truncate(6);
            for mask in 1u32..(1 << distinctive.len()) {
                let key: Vec<WordId> = (0..distinctive.len())
                    .filter(|i| mask & (1 << i) != 0)
                    .map(|i| distinctive[i])
                    .collect();
                for &name in self.distinctive.get(&key).map_or(&[][..], Vec::as_slice) {
                    let n = &self.names[name as usize];
                    let within = ids.iter().all(|w| n.words.contains(w));
                    let missing: Vec<String> = n
                        .words
                        .iter()
                        .filter(|w| !ids.contains(w))
                        .map(|w| self.vocabulary.text(*w).to_owned())
                        .collect();
                    if within && !missing.is_empty() {
                        out.push(Candidate {
                            name,
                            start: part[0].start,
                            end: part[part.len() - 1].end,
                            weight: 2 * ids.len() as u32,
                            certainty: Certainty::Possible,
                            how: How::Shortened { missing },
                            edits: 0,
                        });
                    }
                }
            }
        }
    }

    /// Keeps the best candidate for each organisation and, where candidates overlap,
    /// the longest; explains each. Matches are chosen first; a possible match is kept
    /// beside them when it explains more of the text than the matches it overlaps
    /// ("Xinjang Silk Road BGI" may be the BGI subsidiary, besides certainly naming BGI).
    fn select(&self, typed: String, mut candidates: Vec<Candidate>) -> Screening {
        let flags = |c: &Candidate| {
            let entry = &self.entries[self.names[c.name as usize].entry as usize];
            entry.flags.len()
        };
        candidates.sort_by(|a, b| {
            b.certainty
                .cmp(&a.certainty)
                .then(b.weight.cmp(&a.weight))
                .then(a.edits.cmp(&b.edits))
                .then(flags(b).cmp(&flags(a)))
                .then(a.name.cmp(&b.name))
        });
        let chars: Vec<char> = typed.chars().collect();
        let mut kept: Vec<Candidate> = Vec::new();
        let mut set_aside: Vec<String> = Vec::new();
        for c in candidates {
            let entry = self.names[c.name as usize].entry;
            if kept
                .iter()
                .any(|k| self.names[k.name as usize].entry == entry)
            {
                continue;
            }
            let overlapping: Vec<&Candidate> = kept
                .iter()
                .filter(|k| k.start < c.end && c.start < k.end)
                .collect();
            let keep = match c.certainty {
                Certainty::Match => overlapping
                    .iter()
                    .all(|k| k.start == c.start && k.end == c.end && k.weight == c.weight),
                Certainty::Possible => overlapping.iter().all(|k| {
                    k.weight < c.weight
                        || (k.certainty == Certainty::Possible
                            && k.start == c.start
                            && k.end == c.end
                            && k.weight == c.weight)
                }),
            };
            if keep {
                kept.push(c);
            } else if c.certainty == Certainty::Match {
                let n = &self.names[c.name as usize];
                let winner = &self.entries[self.names[overlapping[0].name as usize].entry as usize];
                let note = format!(
                    "\u{201c}{}\u{201d} ({}) also fits, but the longer \u{201c}{}\u{201d} wins.",
                    n.text, self.entries[entry as usize].name, winner.name
                );
                if !set_aside.contains(&note) {
                    set_aside.push(note);
                }
            }
        }
        // The longest reading first; a match before a possible match of the same length.
        kept.sort_by(|a, b| b.weight.cmp(&a.weight).then(b.certainty.cmp(&a.certainty)));
        let hits: Vec<Hit> = kept.into_iter().map(|c| self.hit(&chars, c)).collect();
        let outcome = if hits.iter().any(|h| h.certainty == Certainty::Match) {
            Outcome::Match
        } else if hits.is_empty() {
            Outcome::NoMatch
        } else {
            Outcome::Possible
        };
        Screening {
            typed,
            outcome,
            hits,
            set_aside,
        }
    }

    fn hit(&self, chars: &[char], c: Candidate) -> Hit {
        let n = &self.names[c.name as usize];
        let entry = &self.entries[n.entry as usize];
        let typed_part: String = chars[c.start.min(chars.len())..c.end.min(chars.len())]
            .iter()
            .collect();
        let whole: String = chars.iter().collect();
        let how = if whole.trim().to_lowercase() == n.text.trim().to_lowercase() {
            How::Exact
        } else {
            c.how
        };
        let rest = rest_of(chars, c.start, c.end);
        let why = explain(entry, n.kind, &n.text, &typed_part, &how, &rest);
        Hit {
            entry: entry.clone(),
            ancestors: self.ancestors(entry).into_iter().cloned().collect(),
            name: n.text.clone(),
            name_kind: n.kind,
            typed_part,
            start: c.start,
            end: c.end,
            certainty: c.certainty,
            how,
            why,
        }
    }
}

/// The content words of each part of the text between commas, brackets and the like.
fn segments(p: &Pieces) -> Vec<Vec<&Word>> {
    let mut parts: Vec<Vec<&Word>> = Vec::new();
    let mut current: Option<u16> = None;
    for word in p.content() {
        if current != Some(word.segment) {
            parts.push(Vec::new());
            current = Some(word.segment);
        }
        if let Some(last) = parts.last_mut() {
            last.push(word);
        }
    }
    parts
}

/// "of" or "for" after the name, then a word that makes a longer name of another
/// organisation, all in the same part of the text: the words that follow.
fn continuation(p: &Pieces, last: usize) -> Option<String> {
    let link = p.words.get(last + 1)?;
    if !(link.stop && matches!(link.norm.as_str(), "of" | "for"))
        || link.segment != p.words[last].segment
    {
        return None;
    }
    let next = p.words[last + 2..].iter().find(|w| !w.stop)?;
    if next.segment != link.segment || continues_same_organisation(&next.norm) {
        return None;
    }
    let words: Vec<&str> = p.words[last + 1..]
        .iter()
        .take_while(|w| w.segment == link.segment)
        .map(|w| w.norm.as_str())
        .collect();
    Some(words.join(" "))
}

/// The typed text around a match, without punctuation at its edges.
fn rest_of(chars: &[char], start: usize, end: usize) -> String {
    let trim = |s: String| s.trim_matches(|c: char| !c.is_alphanumeric()).to_owned();
    let before = trim(chars[..start.min(chars.len())].iter().collect());
    let after = trim(chars[end.min(chars.len())..].iter().collect());
    match (before.is_empty(), after.is_empty()) {
        (true, true) => String::new(),
        (false, true) => before,
        (true, false) => after,
        (false, false) => format!("{before} \u{2026} {after}"),
    }
}

fn explain(entry: &Entry, kind: NameKind, name: &str, part: &str, how: &How, rest: &str) -> String {
    let of = if name == entry.name {
        format!("the name of {}", entry.name)
    } else {
        format!("the {} of {}", kind.word(), entry.name)
    };
    let rest = if rest.is_empty() {
        String::new()
    } else {
        format!(" The rest (\u{201c}{rest}\u{201d}) is read as a department, place or unit.")
    };
    match how {
        How::Exact => format!("The typed name is \u{201c}{name}\u{201d}, {of}."),
        How::Words => {
            format!("\u{201c}{name}\u{201d}, {of}, appears as whole words in the typed name.{rest}")
        }
        How::Han => format!(
            "\u{201c}{name}\u{201d}, {of}, appears as a contiguous run of characters in the typed name.{rest}"
        ),
        How::WordOrder => format!(
            "The words of \u{201c}{name}\u{201d}, {of}, appear in another order: \u{201c}{part}\u{201d}.{rest}"
        ),
        How::Acronym => {
            format!("\u{201c}{part}\u{201d} is {of}, written as a word of its own.{rest}")
        }
        How::Misspelt { corrections } => {
            let fixes: Vec<String> = corrections
                .iter()
                .map(|(typed, known)| format!("\u{201c}{typed}\u{201d} as \u{201c}{known}\u{201d}"))
                .collect();
            format!(
                "\u{201c}{part}\u{201d} reads as \u{201c}{name}\u{201d}, {of}, with a close misspelling ({}).{rest}",
                fixes.join(", ")
            )
        }
        How::Continues { rest: more } => format!(
            "\u{201c}{name}\u{201d}, {of}, appears, but the typed name goes on \u{201c}{more}\u{201d}, which may make it a different organisation."
        ),
        How::Shortened { missing } => format!(
            "\u{201c}{part}\u{201d} is part of \u{201c}{name}\u{201d}, {of}; the words \u{201c}{}\u{201d} are missing.",
            missing.join(" ")
        ),
    }
}
