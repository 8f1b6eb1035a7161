//! Full-text search in Chinese script. Chinese is written without spaces, so the
//! full-text parser keeps a whole run such as 清华大学物理系 as one word and a search for
//! 清华 would find nothing. The case index therefore also holds every run of Chinese
//! characters as overlapping pairs (清华 华大 大学 学物 …) and as single characters (see
//! the migration `cjk_search`), and a query's Chinese runs become the same pairs, as a
//! phrase: 清华大学 is searched as "清华 华大 大学", which matches a text that holds those
//! pairs one after another, wherever the run starts or ends.

use crate::screening::normalise::is_han;

/// The query as the full-text search (`websearch_to_tsquery`) should read it: every run
/// of Chinese characters of two or more becomes a quoted phrase of its pairs (inside a
/// phrase the user quoted, just the pairs); a single character stays as it is, which
/// the index holds too. Everything else is left alone.
pub fn search_query(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    let mut run: Vec<char> = Vec::new();
    let mut quoted = false;
    for c in text.chars() {
        if is_han(c) {
            run.push(c);
            continue;
        }
        flush(&mut out, &mut run, quoted);
        if c == '"' {
            quoted = !quoted;
        }
        out.push(c);
    }
    flush(&mut out, &mut run, quoted);
    out
}

fn flush(out: &mut String, run: &mut Vec<char>, quoted: bool) {
    match run.len() {
        0 => return,
        1 => out.push(run[0]),
        _ => {
            let pairs: Vec<String> = run.windows(2).map(|w| w.iter().collect()).collect();
            if quoted {
                out.push(' ');
                out.push_str(&pairs.join(" "));
                out.push(' ');
            } else {
                out.push_str(" \"");
                out.push_str(&pairs.join(" "));
                out.push_str("\" ");
            }
        }
    }
    run.clear();
}

#[cfg(test)]
mod tests {
    use super::search_query;

    #[test]
    fn chinese_runs_become_phrases_of_pairs_and_the_rest_is_untouched() {
        let cases = [
            ("quantum sensing", "quantum sensing"),
            ("清华", " \"清华\" "),
            ("清华大学", " \"清华 华大 大学\" "),
            ("清", "清"),
            (
                "Tsinghua 清华大学 -biotech",
                "Tsinghua  \"清华 华大 大学\"  -biotech",
            ),
            ("\"清华大学 physics\"", "\" 清华 华大 大学  physics\""),
            ("北京,清华", " \"北京\" , \"清华\" "),
            ("", ""),
        ];
        for (typed, expected) in cases {
            assert_eq!(search_query(typed), expected, "query {typed:?}");
        }
    }
}
