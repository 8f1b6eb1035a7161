//! The status of a ticked mitigation: done, with its evidence, or planned, with an owner
//! and a due date. A planned mitigation resolves its findings only provisionally.

use time::Date;
use uuid::Uuid;

use crate::domain::answers::FieldError;
use crate::domain::text::{MultiLine, parse_day};

/// A mitigation's recorded status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MitigationStatus {
    /// Done; the note says where the evidence is (files may be attached as well).
    Done { note: String },
    /// Agreed but not yet done: who sees to it, and by when.
    Planned {
        owner: Uuid,
        due: Date,
        note: String,
    },
}

impl MitigationStatus {
    pub fn code(&self) -> &'static str {
        match self {
            MitigationStatus::Done { .. } => "done",
            MitigationStatus::Planned { .. } => "planned",
        }
    }

    pub fn note(&self) -> &str {
        match self {
            MitigationStatus::Done { note } | MitigationStatus::Planned { note, .. } => note,
        }
    }

    /// Reads a stored row; an unknown status or a planned one without owner or date is
    /// `None` (an error for the caller).
    pub fn from_parts(
        status: &str,
        note: String,
        owner: Option<Uuid>,
        due: Option<Date>,
    ) -> Option<Self> {
        match (status, owner, due) {
            ("done", _, _) => Some(MitigationStatus::Done { note }),
            ("planned", Some(owner), Some(due)) => {
                Some(MitigationStatus::Planned { owner, due, note })
            }
            _ => None,
        }
    }
}

/// What an officer typed for one mitigation.
#[derive(Debug, Clone, Default)]
pub struct StatusInput {
    pub status: String,
    pub note: String,
    pub owner: String,
    pub due: String,
}

/// Validates one mitigation's input. `field` prefixes the field names (`status_CODE`
/// ...), `label` names the mitigation in messages, `owners` are the officers who may own
/// it, `has_files` says whether evidence is attached to it, `today` is the date a due
/// date may not precede. `Ok(None)` when nothing was chosen.
pub fn validate(
    field: &str,
    label: &str,
    input: &StatusInput,
    owners: &[Uuid],
    has_files: bool,
    today: Date,
) -> Result<Option<MitigationStatus>, Vec<FieldError>> {
    let mut errors = Vec::new();
    let note = match MultiLine::<2000>::parse(&input.note) {
        Ok(n) => n.into_string(),
        Err(e) => {
            errors.push(FieldError::new(
                format!("note_{field}"),
                format!("{label}, note: {}", e.message()),
            ));
            String::new()
        }
    };
    let status = match input.status.trim() {
        "" => None,
        "done" => {
            if note.trim().is_empty() && !has_files && errors.is_empty() {
                errors.push(FieldError::new(
                    format!("note_{field}"),
                    format!(
                        "{label} is marked done: say in the note where the evidence is kept, or attach the evidence to this mitigation first."
                    ),
                ));
            }
            Some(MitigationStatus::Done { note })
        }
        "planned" => {
            let owner = Uuid::parse_str(input.owner.trim())
                .ok()
                .filter(|o| owners.contains(o));
            if owner.is_none() {
                errors.push(FieldError::new(
                    format!("owner_{field}"),
                    format!("{label} is planned: choose the officer who sees to it."),
                ));
            }
            let due = match parse_day(&input.due) {
                Ok(Some(d)) if d < today => {
                    errors.push(FieldError::new(
                        format!("due_{field}"),
                        format!("{label} is planned: the due date has passed; give a date from today on."),
                    ));
                    None
                }
                Ok(Some(d)) => Some(d),
                Ok(None) => {
                    errors.push(FieldError::new(
                        format!("due_{field}"),
                        format!("{label} is planned: give the date by which it will be done (YYYY-MM-DD)."),
                    ));
                    None
                }
                Err(e) => {
                    errors.push(FieldError::new(
                        format!("due_{field}"),
                        format!("{label}, due date: {e}"),
                    ));
                    None
                }
            };
            match (owner, due) {
                (Some(owner), Some(due)) => Some(MitigationStatus::Planned { owner, due, note }),
                _ => None,
            }
        }
        _ => {
            errors.push(FieldError::new(
                format!("status_{field}"),
                format!("{label}: choose done or planned."),
            ));
            None
        }
    };
    if errors.is_empty() {
        Ok(status)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn input(status: &str, note: &str, owner: &str, due: &str) -> StatusInput {
        StatusInput {
            status: status.into(),
            note: note.into(),
            owner: owner.into(),
            due: due.into(),
        }
    }

    #[test]
    fn done_needs_a_note_or_a_file_and_planned_needs_an_owner_and_a_future_date() {
        let today = date!(2026 - 12 - 07);
        let owner = Uuid::new_v4();
        let owners = [owner];
        assert!(validate("x", "X", &input("done", "", "", ""), &owners, false, today).is_err());
        assert!(validate("x", "X", &input("done", "", "", ""), &owners, true, today).is_ok());
        assert_eq!(
            validate(
                "x",
                "X",
                &input("done", "In the DMS", "", ""),
                &owners,
                false,
                today
            ),
            Ok(Some(MitigationStatus::Done {
                note: "In the DMS".into()
            }))
        );
        let planned = validate(
            "x",
            "X",
            &input("planned", "", &owner.to_string(), "2027-01-06"),
            &owners,
            false,
            today,
        );
        assert_eq!(
            planned,
            Ok(Some(MitigationStatus::Planned {
                owner,
                due: date!(2027 - 01 - 06),
                note: String::new()
            }))
        );
        let stranger = Uuid::new_v4().to_string();
        let errors = validate(
            "x",
            "X",
            &input("planned", "", &stranger, "2026-12-01"),
            &owners,
            false,
            today,
        )
        .unwrap_err();
        assert_eq!(errors.len(), 2);
        assert!(validate("x", "X", &input("maybe", "", "", ""), &owners, false, today).is_err());
        assert_eq!(
            validate("x", "X", &input("", "", "", ""), &owners, false, today),
            Ok(None)
        );
    }
}
