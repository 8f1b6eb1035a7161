//! Turning a typed name, or a name of the register, into comparable pieces.
//!
//! Latin script becomes words: Unicode NFKC (full-width forms), accents and case
//! folded, punctuation and brackets dropped, `&` read as "and", abbreviations expanded
//! ("Univ." is "university"). Chinese script becomes a run of characters: traditional
//! characters converted to simplified ones with `hanconv` (OpenCC's dictionaries),
//! spaces inside Chinese text ignored. Every piece keeps its place in the original
//! text, so a match can say which part of the typed name it found.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use super::vocabulary::{STOP_WORDS, expand};

/// A word of Latin script (or digits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// Folded and expanded: "univ." is "university", "Xi'an" is "xian".
    pub norm: String,
    /// Character offsets of the word in the original text (end exclusive).
    pub start: usize,
    pub end: usize,
    /// A filler word ("of", "the"), skipped when names are compared.
    pub stop: bool,
    /// Written in capitals, as an acronym is ("HIT", not "hit").
    pub upper: bool,
    /// Which part of the text between commas, brackets and the like it stands in.
    pub segment: u16,
}

/// A Chinese character, converted to its simplified form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Han {
    pub ch: char,
    /// Character offset in the original text.
    pub pos: usize,
    /// The first character of a run of Chinese text (after Latin text, punctuation or
    /// the start); spaces do not end a run.
    pub run_start: bool,
    pub segment: u16,
}

/// A text cut into words and Chinese characters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pieces {
    pub words: Vec<Word>,
    pub han: Vec<Han>,
}

impl Pieces {
    /// The words that carry meaning, without filler words.
    pub fn content(&self) -> impl Iterator<Item = &Word> {
        self.words.iter().filter(|w| !w.stop)
    }

    /// The simplified Chinese characters as one string.
    pub fn han_text(&self) -> String {
        self.han.iter().map(|h| h.ch).collect()
    }
}

/// Whether a character is a Chinese (CJK unified or compatibility) ideograph.
pub fn is_han(c: char) -> bool {
    matches!(c,
        '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{2FA1F}'
        | '\u{3007}')
}

/// Lower case without accents: "Université" is "universite", "ß" is "ss".
pub fn fold_latin(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.nfkd().filter(|c| !is_combining_mark(*c)) {
        match c {
            'ß' => out.push_str("ss"),
            'æ' | 'Æ' => out.push_str("ae"),
            'œ' | 'Œ' => out.push_str("oe"),
            'ø' | 'Ø' => out.push('o'),
            'đ' | 'Đ' => out.push('d'),
            'ł' | 'Ł' => out.push('l'),
            'ı' => out.push('i'),
            c => out.extend(c.to_lowercase()),
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Last {
    Nothing,
    Latin,
    Han,
    Boundary,
}

struct Cutter {
    pieces: Pieces,
    word: String,
    word_start: usize,
    word_end: usize,
    segment: u16,
    last: Last,
    /// Single letters followed by a full stop ("H.I.T."), merged into one word.
    dotted: Vec<(char, usize, usize, bool)>,
    han_raw: Vec<(char, usize, bool, u16)>,
}

impl Cutter {
    fn flush_word(&mut self, dotted: bool) {
        if self.word.is_empty() {
            if !dotted {
                self.flush_dotted();
            }
            return;
        }
        let raw = std::mem::take(&mut self.word);
        let letters = raw.chars().filter(|c| c.is_alphabetic()).count();
        let upper = letters >= 2 && raw.chars().all(|c| !c.is_lowercase());
        let mut single = raw.chars();
        if let (Some(c), None, true) = (single.next(), single.next(), dotted)
            && c.is_alphabetic()
        {
            self.dotted
                .push((c, self.word_start, self.word_end, c.is_uppercase()));
            return;
        }
        self.flush_dotted();
        self.push_word(&raw, self.word_start, self.word_end, upper);
    }

    fn flush_dotted(&mut self) {
        match self.dotted.len() {
            0 => {}
            1 => {
                let (c, start, end, _) = self.dotted[0];
                self.push_word(&c.to_string(), start, end, false);
            }
            _ => {
                let raw: String = self.dotted.iter().map(|d| d.0).collect();
                let start = self.dotted[0].1;
                let end = self.dotted[self.dotted.len() - 1].2;
                let upper = self.dotted.iter().all(|d| d.3);
                self.push_word(&raw, start, end, upper);
            }
        }
        self.dotted.clear();
    }

    fn push_word(&mut self, raw: &str, start: usize, end: usize, upper: bool) {
        let folded: String = fold_latin(raw)
            .chars()
            .filter(|c| c.is_alphanumeric())
            .collect();
        if folded.is_empty() {
            return;
        }
        let norm = expand(&folded).to_owned();
        let stop = STOP_WORDS.contains(&norm.as_str());
        self.pieces.words.push(Word {
            norm,
            start,
            end,
            stop,
            upper,
            segment: self.segment,
        });
        self.last = Last::Latin;
    }

    fn boundary(&mut self) {
        self.flush_word(false);
        self.flush_dotted();
        self.segment = self.segment.saturating_add(1);
        self.last = Last::Boundary;
    }
}

/// Cuts a text into words and Chinese characters; never fails, whatever the input.
pub fn pieces(text: &str) -> Pieces {
    let mut cut = Cutter {
        pieces: Pieces::default(),
        word: String::new(),
        word_start: 0,
        word_end: 0,
        segment: 0,
        last: Last::Nothing,
        dotted: Vec::new(),
        han_raw: Vec::new(),
    };
    for (i, original) in text.chars().enumerate() {
        // Per character, so offsets stay those of the original text.
        let compatible: Vec<char> = std::iter::once(original).nfkc().collect();
        for c in compatible {
            if is_han(c) {
                cut.flush_word(false);
                cut.flush_dotted();
                let run_start = cut.last != Last::Han;
                cut.han_raw.push((c, i, run_start, cut.segment));
                cut.last = Last::Han;
            } else if c.is_alphanumeric() {
                if cut.word.is_empty() {
                    cut.word_start = i;
                }
                cut.word.push(c);
                cut.word_end = i + 1;
            } else if matches!(c, '\'' | '\u{2019}' | '\u{2bc}' | '`' | '\u{b4}') {
                // Apostrophes join: "Xi'an" is "xian", "People's" is "peoples".
            } else if c == '.' {
                cut.flush_word(true);
            } else if c == '&' {
                cut.flush_word(false);
                cut.flush_dotted();
                cut.push_word("and", i, i + 1, false);
            } else if c.is_whitespace()
                || matches!(
                    c,
                    '-' | '_' | '\u{2010}'..='\u{2015}' | '\u{b7}' | '\u{30fb}'
                )
            {
                cut.flush_word(false);
                // A space inside Chinese text does not end the run.
                if cut.last == Last::Latin {
                    cut.last = Last::Nothing;
                }
            } else if is_combining_mark(c) || c.is_control() || is_invisible(c) {
                // Stray accents, control and zero-width characters are ignored.
            } else {
                cut.boundary();
            }
        }
    }
    cut.flush_word(false);
    cut.flush_dotted();
    cut.pieces.han = simplified(&cut.han_raw);
    cut.pieces
}

fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{2060}'..='\u{2064}' | '\u{feff}')
}

/// Converts traditional characters to simplified ones, keeping each character's place.
fn simplified(raw: &[(char, usize, bool, u16)]) -> Vec<Han> {
    if raw.is_empty() {
        return Vec::new();
    }
    let text: String = raw.iter().map(|r| r.0).collect();
    let converted: Vec<char> = hanconv::t2s(&text).chars().collect();
    let one_to_one = converted.len() == raw.len();
    raw.iter()
        .enumerate()
        .map(|(k, &(c, pos, run_start, segment))| {
            let ch = if one_to_one {
                converted[k]
            } else {
                // Phrase conversion changed the length: fall back to character by character.
                hanconv::t2s(c.to_string()).chars().next().unwrap_or(c)
            };
            Han {
                ch,
                pos,
                run_start,
                segment,
            }
        })
        .collect()
}

/// A key that groups spellings of one name: its content words in sorted order, and
/// its Chinese characters. Used for partners that are in no register entry.
pub fn grouping_key(text: &str) -> String {
    let p = pieces(text);
    let mut words: Vec<&str> = p.content().map(|w| w.norm.as_str()).collect();
    words.sort_unstable();
    let mut key = words.join(" ");
    let han = p.han_text();
    if !han.is_empty() {
        if !key.is_empty() {
            key.push(' ');
        }
        key.push_str(&han);
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norms(text: &str) -> Vec<String> {
        pieces(text).words.into_iter().map(|w| w.norm).collect()
    }

    #[test]
    fn latin_words_are_folded_expanded_and_placed() {
        assert_eq!(
            norms("Harbin Inst. of Tech."),
            ["harbin", "institute", "of", "technology"]
        );
        assert_eq!(
            norms("Univ. Sci. & Tech. China"),
            ["university", "science", "and", "technology", "china"]
        );
        assert_eq!(norms("Xi\u{2019}an Jiaotong"), ["xian", "jiaotong"]);
        assert_eq!(
            norms("Université Paris-Saclay"),
            ["university", "paris", "saclay"]
        );
        assert_eq!(norms("ＨＩＴ（Ｈａｒｂｉｎ）"), ["hit", "harbin"]);
        assert_eq!(norms("H.I.T."), ["hit"]);
        let p = pieces("School of Physics, HIT");
        let hit = &p.words[3];
        assert_eq!(
            (
                hit.norm.as_str(),
                hit.start,
                hit.end,
                hit.upper,
                hit.segment
            ),
            ("hit", 19, 22, true, 1)
        );
        assert!(p.words[1].stop);
        assert!(!pieces("hit").words[0].upper);
    }

    #[test]
    fn chinese_is_simplified_and_spaces_inside_it_ignored() {
        let p = pieces("哈爾濱 工業大學物理學院");
        assert_eq!(p.han_text(), "哈尔滨工业大学物理学院");
        assert!(p.han[0].run_start);
        assert!(!p.han[3].run_start, "a space does not end the run");
        assert_eq!(p.han[3].pos, 4);
        let p = pieces("HIT 哈工大, 北航");
        let starts: Vec<bool> = p.han.iter().map(|h| h.run_start).collect();
        assert_eq!(starts, [true, false, false, true, false]);
        assert_eq!(pieces("國防科學技術大學").han_text(), "国防科学技术大学");
    }

    #[test]
    fn anything_is_cut_without_panicking() {
        for text in [
            "",
            "\u{0}",
            "(((",
            "🙂",
            "\u{301}",
            "ﬁ",
            "\u{10FFFF}",
            "....",
            "a.b.c.",
            "&&",
        ] {
            let _ = pieces(text);
            let _ = grouping_key(text);
        }
        assert_eq!(
            grouping_key("Institute of Technology, HARBIN"),
            grouping_key("Harbin Inst. Tech.")
        );
        assert_ne!(
            grouping_key("哈尔滨工业大学"),
            grouping_key("哈尔滨工程大学")
        );
    }
}
