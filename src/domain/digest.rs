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

/// The record digest with the case's attached files: without files it is exactly
/// [`record_digest`] (so reports printed before files existed still match); with files,
/// their SHA-256 values (sorted) are part of the canonical JSON.
pub fn record_digest_with_files(
    answers: &Answers,
    rulebook_version: &str,
    file_digests: &[String],
) -> String {
    if file_digests.is_empty() {
        return record_digest(answers, rulebook_version);
    }
    let mut files = file_digests.to_vec();
    files.sort();
    let canonical = serde_json::json!({
        "answers": answers, "rulebook_version": rulebook_version, "attachments": files,
    })
    .to_string();
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

    #[test]
    fn attached_files_enter_the_digest_in_any_order() {
        let a = Answers::default();
        assert_eq!(
            record_digest_with_files(&a, "v1", &[]),
            record_digest(&a, "v1")
        );
        let (x, y) = ("a".repeat(64), "b".repeat(64));
        let one = record_digest_with_files(&a, "v1", &[x.clone(), y.clone()]);
        assert_eq!(
            one,
            record_digest_with_files(&a, "v1", &[y.clone(), x.clone()])
        );
        assert_ne!(one, record_digest(&a, "v1"));
        assert_ne!(one, record_digest_with_files(&a, "v1", &[x]));
    }
}
