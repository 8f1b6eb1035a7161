//! The case life cycle: draft -> submitted -> returned -> resubmitted -> decided, with a
//! co-signature step for lowered verdicts (see [`CosignPolicy`]) and reopening.

use crate::domain::rulebook::Colour;

/// Where a case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Draft,
    Submitted,
    Returned,
    Resubmitted,
    /// Decided by one reviewer, waiting for a second reviewer's co-signature.
    Cosign,
    Decided,
}

/// Something a person does to a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Submit,
    Return,
    /// A decision that takes effect at once.
    Decide,
    /// A decision that needs a second signature first.
    DecidePending,
    /// The second reviewer co-signs.
    Cosign,
    /// A reviewer reopens a decision (or a pending one), with a reason.
    Reopen,
}

impl Status {
    pub fn parse(code: &str) -> Option<Status> {
        Some(match code {
            "draft" => Status::Draft,
            "submitted" => Status::Submitted,
            "returned" => Status::Returned,
            "resubmitted" => Status::Resubmitted,
            "cosign" => Status::Cosign,
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
            Status::Cosign => "cosign",
            Status::Decided => "decided",
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Status::Draft => "Draft",
            Status::Submitted => "Submitted",
            Status::Returned => "Returned for more information",
            Status::Resubmitted => "Resubmitted",
            Status::Cosign => "Awaiting a second signature",
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

    /// Whether a reviewer has something to do: decide it, or co-sign its decision.
    pub fn awaits_reviewer(self) -> bool {
        matches!(
            self,
            Status::Submitted | Status::Resubmitted | Status::Cosign
        )
    }

    /// The status after a transition, or `None` when the transition is not allowed.
    pub fn after(self, t: Transition) -> Option<Status> {
        match (self, t) {
            (Status::Draft, Transition::Submit) => Some(Status::Submitted),
            (Status::Returned, Transition::Submit) => Some(Status::Resubmitted),
            (Status::Submitted | Status::Resubmitted, Transition::Return) => Some(Status::Returned),
            (Status::Submitted | Status::Resubmitted, Transition::Decide) => Some(Status::Decided),
            (Status::Submitted | Status::Resubmitted, Transition::DecidePending) => {
                Some(Status::Cosign)
            }
            (Status::Cosign, Transition::Cosign) => Some(Status::Decided),
            (Status::Decided | Status::Cosign, Transition::Reopen) => Some(Status::Resubmitted),
            _ => None,
        }
    }
}

/// Which decisions that lower the computed verdict need a second reviewer's co-signature,
/// set per installation by an administrator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CosignPolicy {
    Off,
    Red,
    RedAndOrange,
}

impl CosignPolicy {
    pub const ALL: [CosignPolicy; 3] = [
        CosignPolicy::Off,
        CosignPolicy::Red,
        CosignPolicy::RedAndOrange,
    ];

    pub fn parse(code: &str) -> Option<CosignPolicy> {
        Some(match code {
            "off" => CosignPolicy::Off,
            "red" => CosignPolicy::Red,
            "red_orange" => CosignPolicy::RedAndOrange,
            _ => return None,
        })
    }

    pub fn code(self) -> &'static str {
        match self {
            CosignPolicy::Off => "off",
            CosignPolicy::Red => "red",
            CosignPolicy::RedAndOrange => "red_orange",
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            CosignPolicy::Off => "Off: one reviewer decides alone",
            CosignPolicy::Red => "Lowering a Red verdict needs a second reviewer",
            CosignPolicy::RedAndOrange => {
                "Lowering a Red or an Orange verdict needs a second reviewer"
            }
        }
    }

    /// Whether a decision from `computed` to `final_verdict` needs a co-signature.
    pub fn requires(self, computed: Colour, final_verdict: Colour) -> bool {
        final_verdict < computed
            && match self {
                CosignPolicy::Off => false,
                CosignPolicy::Red => computed == Colour::Red,
                CosignPolicy::RedAndOrange => computed >= Colour::Orange,
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
            (Submitted, DecidePending, Some(Status::Cosign)),
            (Resubmitted, DecidePending, Some(Status::Cosign)),
            (Returned, DecidePending, None),
            (Status::Cosign, Transition::Cosign, Some(Decided)),
            (Status::Cosign, Decide, None),
            (Status::Cosign, Return, None),
            (Status::Cosign, Reopen, Some(Resubmitted)),
            (Decided, Reopen, Some(Resubmitted)),
            (Submitted, Reopen, None),
            (Decided, Transition::Cosign, None),
        ];
        for (from, t, to) in table {
            assert_eq!(from.after(t), to, "{from:?} --{t:?}-->");
        }
    }

    #[test]
    fn only_drafts_and_returned_cases_are_editable_and_drafts_are_private() {
        for s in [
            Draft,
            Submitted,
            Returned,
            Resubmitted,
            Status::Cosign,
            Decided,
        ] {
            assert_eq!(s.is_editable(), matches!(s, Draft | Returned));
            assert_eq!(s.is_visible_to_reviewers(), s != Draft);
            assert_eq!(Status::parse(s.code()), Some(s));
        }
    }

    #[test]
    fn only_a_lowered_verdict_needs_a_second_signature_as_the_policy_says() {
        use crate::domain::rulebook::Colour::{Green, Orange, Red};
        let p = CosignPolicy::Red;
        assert!(p.requires(Red, Orange) && p.requires(Red, Green));
        assert!(!p.requires(Orange, Green) && !p.requires(Orange, Red) && !p.requires(Red, Red));
        let p = CosignPolicy::RedAndOrange;
        assert!(p.requires(Red, Green) && p.requires(Orange, Green));
        assert!(!p.requires(Green, Red) && !p.requires(Orange, Orange));
        assert!(!CosignPolicy::Off.requires(Red, Green));
        for p in CosignPolicy::ALL {
            assert_eq!(CosignPolicy::parse(p.code()), Some(p));
        }
    }
}
