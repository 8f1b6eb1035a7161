//! The register in memory, indexed for screening: a word trie for Latin-script names,
//! a character trie for Chinese names, acronyms, the same words in another order, and
//! a one-deletion index of words for close misspellings. Built once per register
//! revision; a lookup walks the typed text once, so its cost depends on the length of
//! the typed name, not on the size of the register.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};

use super::entry::{Entry, NameKind};
use super::normalise::{Pieces, pieces};
use super::vocabulary::{Identity, identity};

/// Index of a word in the vocabulary.
pub(super) type WordId = u32;
/// Index of a name in [`Register::names`].
pub(super) type NameId = u32;

/// A name of an entry as the index knows it.
pub(super) struct IndexedName {
    pub entry: u32,
    pub text: String,
    pub kind: NameKind,
    /// Content words (filler words left out), for Latin-script names.
    pub words: Vec<WordId>,
    /// Simplified characters, for names in Chinese script.
    pub han: Vec<char>,
}

/// A trie over keys of type `K`: node 0 is the root.
pub(super) struct Trie<K> {
    edges: HashMap<(u32, K), u32>,
    ends: Vec<Vec<NameId>>,
}

impl<K: Hash + Eq + Copy> Trie<K> {
    fn new() -> Self {
        Trie {
            edges: HashMap::new(),
            ends: vec![Vec::new()],
        }
    }

    fn insert(&mut self, keys: &[K], name: NameId) {
        let mut node = 0u32;
        for &k in keys {
            let next = self.ends.len() as u32;
            node = *self.edges.entry((node, k)).or_insert(next);
            if node == next {
                self.ends.push(Vec::new());
            }
        }
        self.ends[node as usize].push(name);
    }

    pub fn child(&self, node: u32, key: K) -> Option<u32> {
        self.edges.get(&(node, key)).copied()
    }

    pub fn ends(&self, node: u32) -> &[NameId] {
        &self.ends[node as usize]
    }
}

/// The words of every name, with what they say about identity.
pub(super) struct Vocabulary {
    ids: HashMap<String, WordId>,
    texts: Vec<String>,
    identities: Vec<Identity>,
    /// Hash of a word with one letter deleted (and of the word itself) -> words, for
    /// finding close misspellings without comparing against every word.
    deletions: HashMap<u64, Vec<WordId>>,
    hasher: std::collections::hash_map::RandomState,
}

/// Shortest word that may be taken for a misspelling of another.
pub(super) const MIN_MISSPELT_LEN: usize = 5;

impl Vocabulary {
    fn new() -> Self {
        Vocabulary {
            ids: HashMap::new(),
            texts: Vec::new(),
            identities: Vec::new(),
            deletions: HashMap::new(),
            hasher: std::collections::hash_map::RandomState::new(),
        }
    }

    fn add(&mut self, word: &str, place: bool) -> WordId {
        if let Some(&id) = self.ids.get(word) {
            if place {
                self.identities[id as usize] = Identity::Place;
            }
            return id;
        }
        let id = self.texts.len() as WordId;
        self.ids.insert(word.to_owned(), id);
        self.texts.push(word.to_owned());
        self.identities.push(if place {
            Identity::Place
        } else {
            identity(word)
        });
        let letters = word.chars().count();
        if letters >= MIN_MISSPELT_LEN && word.chars().all(|c| c.is_ascii_lowercase()) {
            for variant in deletions(word) {
                let hash = self.hasher.hash_one(&variant);
                let list = self.deletions.entry(hash).or_default();
                if !list.contains(&id) {
                    list.push(id);
                }
            }
        }
        id
    }

    pub fn id(&self, word: &str) -> Option<WordId> {
        self.ids.get(word).copied()
    }

    pub fn text(&self, id: WordId) -> &str {
        &self.texts[id as usize]
    }

    pub fn identity(&self, id: WordId) -> Identity {
        self.identities[id as usize]
    }

    /// Known words a typed, unknown word may be a misspelling of, with the number of
    /// edits: at most one edit for words of up to eight letters, two from nine.
    pub fn close_words(&self, typed: &str) -> Vec<(WordId, usize)> {
        let letters = typed.chars().count();
        if letters < MIN_MISSPELT_LEN || !typed.chars().all(|c| c.is_ascii_lowercase()) {
            return Vec::new();
        }
        let mut found: Vec<(WordId, usize)> = Vec::new();
        for variant in deletions(typed) {
            let hash = self.hasher.hash_one(&variant);
            for &id in self.deletions.get(&hash).map_or(&[][..], Vec::as_slice) {
                if found.iter().any(|(f, _)| *f == id) {
                    continue;
                }
                let known = self.text(id);
                let edits = strsim::osa_distance(typed, known);
                if edits > 0 && edits <= allowed_edits(letters.min(known.chars().count())) {
                    found.push((id, edits));
                }
            }
        }
        found.sort_by_key(|&(id, edits)| (edits, id));
        found
    }
}

/// The tested threshold for a close misspelling of a word of `letters` letters.
pub fn allowed_edits(letters: usize) -> usize {
    match letters {
        0..MIN_MISSPELT_LEN => 0,
        MIN_MISSPELT_LEN..=8 => 1,
        _ => 2,
    }
}

/// The word itself and the word with letters deleted: one letter for words up to
/// eight letters, up to two beyond. Two words within the allowed edits always share
/// one of these variants (the symmetric-deletion method), so candidates are found by
/// hash lookups instead of comparing the typed word with the whole vocabulary.
fn deletions(word: &str) -> Vec<String> {
    let mut seen: std::collections::HashSet<String> =
        std::collections::HashSet::from([word.to_owned()]);
    let mut out = vec![word.to_owned()];
    let mut frontier = vec![word.to_owned()];
    for _ in 0..allowed_edits(word.chars().count()) {
        let mut next = Vec::new();
        for w in &frontier {
            let chars: Vec<char> = w.chars().collect();
            for skip in 0..chars.len() {
                let variant: String = chars
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != skip)
                    .map(|(_, c)| *c)
                    .collect();
                if seen.insert(variant.clone()) {
                    out.push(variant.clone());
                    next.push(variant);
                }
            }
        }
        frontier = next;
    }
    out
}

/// The name without a bracketed acronym ("(CASC)"), when it has one.
fn without_bracketed_acronym(text: &str) -> Option<String> {
    let open = text.find('(')?;
    let close = open + text[open..].find(')')?;
    let inside = &text[open + 1..close];
    let acronym = (2..=10).contains(&inside.chars().count())
        && inside
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if !acronym {
        return None;
    }
    let plain = format!(
        "{} {}",
        text[..open].trim_end(),
        text[close + 1..].trim_start()
    );
    Some(plain.trim().to_owned())
}

/// The register with its indexes. Shared behind an `Arc`.
pub struct Register {
    pub(super) entries: Vec<Entry>,
    pub(super) by_id: HashMap<String, u32>,
    pub(super) names: Vec<IndexedName>,
    pub(super) vocabulary: Vocabulary,
    pub(super) latin: Trie<WordId>,
    pub(super) han: Trie<char>,
    /// Lower-case acronym -> names.
    pub(super) acronyms: HashMap<String, Vec<NameId>>,
    /// Sorted content words -> names, for the same words in another order.
    pub(super) word_sets: HashMap<Vec<WordId>, Vec<NameId>>,
    /// The words that tell an organisation apart ("tsinghua"), sorted -> names with
    /// exactly these, for a shortened name ("Beihang" for "Beihang University").
    pub(super) distinctive: HashMap<Vec<WordId>, Vec<NameId>>,
}

impl Register {
    /// Indexes every name of `entries`, in order (the order breaks ties).
    pub fn new(entries: Vec<Entry>) -> Self {
        let mut register = Register {
            entries: Vec::new(),
            by_id: HashMap::new(),
            names: Vec::new(),
            vocabulary: Vocabulary::new(),
            latin: Trie::new(),
            han: Trie::new(),
            acronyms: HashMap::new(),
            word_sets: HashMap::new(),
            distinctive: HashMap::new(),
        };
        // Places named by the register are places too: a misspelt city is never corrected.
        for entry in &entries {
            for place in [&entry.city, &entry.province] {
                for word in pieces(place).content() {
                    if word.norm.chars().all(|c| c.is_ascii_lowercase()) {
                        register.vocabulary.add(&word.norm, true);
                    }
                }
            }
        }
        for (e, entry) in entries.iter().enumerate() {
            register.by_id.entry(entry.id.clone()).or_insert(e as u32);
            for (text, kind) in entry.all_names() {
                register.add_name(e as u32, text, kind);
            }
        }
        for word in super::vocabulary::known_words() {
            register.vocabulary.add(word, false);
        }
        register.entries = entries;
        register
    }

    fn add_name(&mut self, entry: u32, text: &str, kind: NameKind) {
        self.index_name(entry, text, text, kind);
        // "Corporation (CASC) 9th Academy" is also typed without the bracketed acronym.
        if let Some(plain) = without_bracketed_acronym(text) {
            self.index_name(entry, text, &plain, kind);
        }
    }

    fn index_name(&mut self, entry: u32, shown: &str, text: &str, kind: NameKind) {
        let p: Pieces = pieces(text);
        let id = self.names.len() as NameId;
        let han: Vec<char> = p.han.iter().map(|h| h.ch).collect();
        let content: Vec<&str> = p.content().map(|w| w.norm.as_str()).collect();
        let words: Vec<WordId> = content
            .iter()
            .map(|w| self.vocabulary.add(w, false))
            .collect();
        let single = words.len() == 1 && han.is_empty();
        let written_short = text.trim().chars().count() <= 10;
        let capitals = p.words.len() == 1 && p.words[0].upper;
        // Only a word written in capitals is an acronym; "Beihang" is a short name.
        let acronym = single && written_short && capitals;
        if !han.is_empty() {
            self.han.insert(&han, id);
        } else if acronym {
            self.acronyms
                .entry(self.vocabulary.text(words[0]).to_owned())
                .or_default()
                .push(id);
        } else if !words.is_empty() {
            self.latin.insert(&words, id);
            if words.len() >= 2 {
                let mut sorted = words.clone();
                sorted.sort_unstable();
                self.word_sets.entry(sorted).or_default().push(id);
            }
            let mut distinctive: Vec<WordId> = words
                .iter()
                .copied()
                .filter(|&w| self.is_distinctive(w))
                .collect();
            distinctive.sort_unstable();
            distinctive.dedup();
            if !distinctive.is_empty() && kind != NameKind::Abbreviation {
                self.distinctive.entry(distinctive).or_default().push(id);
            }
        }
        self.names.push(IndexedName {
            entry,
            text: shown.to_owned(),
            kind,
            words,
            han,
        });
    }

    /// A word that tells one organisation from another: not a place, not a kind of
    /// institution, and long enough to mean something.
    pub(super) fn is_distinctive(&self, w: WordId) -> bool {
        self.vocabulary.identity(w) == Identity::Plain
            && self.vocabulary.text(w).chars().count() >= 4
    }

    /// All entries, in register order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// How many entries there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// An entry by its stable id.
    pub fn get(&self, id: &str) -> Option<&Entry> {
        self.by_id.get(id).map(|&i| &self.entries[i as usize])
    }

    /// The organisations an entry belongs to, nearest first (cycles are cut).
    pub fn ancestors(&self, entry: &Entry) -> Vec<&Entry> {
        let mut chain: Vec<&Entry> = Vec::new();
        let mut next = entry.parent.as_deref();
        while let Some(id) = next {
            match self.get(id) {
                Some(parent)
                    if parent.id != entry.id && !chain.iter().any(|c| c.id == parent.id) =>
                {
                    chain.push(parent);
                    next = parent.parent.as_deref();
                }
                _ => break,
            }
        }
        chain
    }
}
