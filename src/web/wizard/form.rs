//! Reading the parts of a step form that are not answers.

use crate::domain::answers::FieldError;
use crate::domain::contract;
use crate::domain::verdict::Identity;
use crate::web::forms::FormPairs;

/// The officer's answer to "Is this the same organisation?", when given.
pub(super) fn identity_answer(form: &FormPairs) -> Result<Option<(String, Identity)>, FieldError> {
    let Some(entry) = form
        .first("partner_identity_entry")
        .filter(|e| !e.is_empty())
    else {
        return Ok(None);
    };
    let decision = match form.first("partner_identity").unwrap_or_default() {
        "" => return Ok(None),
        "same" => Identity::Same,
        "different" => Identity::Different,
        _ => {
            return Err(FieldError::new(
                contract::PARTNER_NAME,
                "Answer whether the register entry is the same organisation: yes or no.",
            ));
        }
    };
    Ok(Some((entry.chars().take(200).collect(), decision)))
}
