//! The case life cycle: draft -> submitted -> returned -> resubmitted -> decided.

/// Where a case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Draft,
    Submitted,
    Returned,
    Resubmitted,
    Decided,
}

/// Something a person does to a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Submit,
    Return,
    Decide,
}

impl Status {
    pub fn parse(code: &str) -> Option<Status> {
        Some(match code {
            "draft" => Status::Draft,
            "submitted" => Status::Submitted,
            "returned" => Status::Returned,
            "resubmitted" => Status::Resubmitted,
            "decided" => Status::Decided,
            _ => return None,
        })
    }

    pub fn code(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Submitted => "submitted",
            Status::Returned => "returned",
            Status::Resubmitted => "resubmitted",
            Status::Decided => "decided",
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Status::Draft => "Draft",
            Status::Submitted => "Submitted",
            Status::Returned => "Returned for more information",
            Status::Resubmitted => "Resubmitted",
            Status::Decided => "Decided",
        }
    }

    /// Whether its officer may change the answers: submitted answers are locked.
    pub fn is_editable(self) -> bool {
        matches!(self, Status::Draft | Status::Returned)
    }

    /// Whether reviewers see it: they never see a case before its first submission.
    pub fn is_visible_to_reviewers(self) -> bool {
        !matches!(self, Status::Draft)
    }

    /// Whether it waits for a reviewer.
    pub fn awaits_review(self) -> bool {
        matches!(self, Status::Submitted | Status::Resubmitted)
    }

    /// The status after a transition, or `None` when the transition is not allowed.
    pub fn after(self, t: Transition) -> Option<Status> {
        match (self, t) {
            (Status::Draft, Transition::Submit) => Some(Status::Submitted),
            (Status::Returned, Transition::Submit) => Some(Status::Resubmitted),
            (Status::Submitted | Status::Resubmitted, Transition::Return) => Some(Status::Returned),
            (Status::Submitted | Status::Resubmitted, Transition::Decide) => Some(Status::Decided),
            _ => None,
        }
    }
}

/// The code, as stored and as written in addresses.
impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::Status::*;
    use super::Transition::*;
    use super::*;

    #[test]
    fn every_transition_is_allowed_or_refused_as_the_life_cycle_says() {
        let table = [
            (Draft, Submit, Some(Submitted)),
            (Draft, Return, None),
            (Draft, Decide, None),
            (Submitted, Submit, None),
            (Submitted, Return, Some(Returned)),
            (Submitted, Decide, Some(Decided)),
            (Returned, Submit, Some(Resubmitted)),
            (Returned, Return, None),
            (Returned, Decide, None),
            (Resubmitted, Submit, None),
            (Resubmitted, Return, Some(Returned)),
            (Resubmitted, Decide, Some(Decided)),
            (Decided, Submit, None),
            (Decided, Return, None),
            (Decided, Decide, None),
        ];
        for (from, t, to) in table {
            assert_eq!(from.after(t), to, "{from:?} --{t:?}-->");
        }
    }

    #[test]
    fn only_drafts_and_returned_cases_are_editable_and_drafts_are_private() {
        for s in [Draft, Submitted, Returned, Resubmitted, Decided] {
            assert_eq!(s.is_editable(), matches!(s, Draft | Returned));
            assert_eq!(s.is_visible_to_reviewers(), s != Draft);
            assert_eq!(Status::parse(s.code()), Some(s));
        }
    }
}
