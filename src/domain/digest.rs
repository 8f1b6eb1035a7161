//! The digest printed on a case report, so a paper copy can be matched to the record.

use sha2::{Digest, Sha256};

use super::answers::Answers;

/// SHA-256 (hex) of the canonical JSON of the answers and the rulebook version.
/// Answers are a sorted map, so the same record always gives the same digest.
pub fn record_digest(answers: &Answers, rulebook_version: &str) -> String {
    let canonical =
        serde_json::json!({ "answers": answers, "rulebook_version": rulebook_version }).to_string();
    Sha256::digest(canonical.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::answers::AnswerValue;

    #[test]
    fn the_digest_depends_on_answers_and_version_but_not_on_insertion_order() {
        let mut a = Answers::default();
        a.set("area", Some(AnswerValue::Text("ai".into())));
        a.set("dependency", Some(AnswerValue::Text("no".into())));
        let mut b = Answers::default();
        b.set("dependency", Some(AnswerValue::Text("no".into())));
        b.set("area", Some(AnswerValue::Text("ai".into())));
        assert_eq!(record_digest(&a, "v1"), record_digest(&b, "v1"));
        assert_eq!(record_digest(&a, "v1").len(), 64);
        assert_ne!(record_digest(&a, "v1"), record_digest(&a, "v2"));
        b.set("dependency", Some(AnswerValue::Text("yes".into())));
        assert_ne!(record_digest(&a, "v1"), record_digest(&b, "v1"));
    }
}
