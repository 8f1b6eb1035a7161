//! The stable part of `questionnaire.md`: question ids, answer kinds, option values
//! and sub-areas that integrations rely on. The rulebook may reword and add, but
//! validation refuses a rulebook that drops or respells any of these.
//!
//! The contract has revisions: revision 2 added questions and one mitigation. A
//! rulebook names the revision it follows (`contract = 2`; 1 when absent), so a
//! revision-1 rulebook stays valid exactly as it was written.

use super::rulebook::QuestionKind;

pub const AREA: &str = "area";
pub const SUB_AREA: &str = "sub_area";
pub const RESEARCH_STAGE: &str = "research_stage";
pub const PARTNER_NAME: &str = "partner_name";
pub const BENEFITS: &str = "benefits";
pub const BENEFIT_NOTES: &str = "benefit_notes";
pub const MITIGATIONS: &str = "mitigations";
pub const STRATEGIC_AGENDA_TOPIC: &str = "strategic_agenda_topic";
/// The department, school, institute or laboratory at the partner (an extra question of
/// revision 2, not part of the stable contract; screening reads it when present).
pub const PARTNER_UNIT: &str = "partner_unit";

/// The newest contract revision this program knows.
pub const LATEST_REVISION: u8 = 2;

/// The options of `partner_type`; the partner register uses the same kinds.
pub const PARTNER_TYPES: &[&str] = &[
    "university",
    "cas_institute",
    "state_key_lab",
    "national_lab",
    "hospital",
    "private_company",
    "state_owned_enterprise",
    "government_body",
    "defence_affiliated",
    "other",
];

/// A question as the contract fixes it.
pub struct ContractQuestion {
    pub id: &'static str,
    pub kind: QuestionKind,
    /// Option values for `one` and `many`; empty for `yn`, `text`, `area` and `sub_area`.
    pub options: &'static [&'static str],
    /// The contract revision that introduced the question.
    pub since: u8,
}

const fn q(
    id: &'static str,
    kind: QuestionKind,
    options: &'static [&'static str],
) -> ContractQuestion {
    ContractQuestion {
        id,
        kind,
        options,
        since: 1,
    }
}

const fn q2(
    id: &'static str,
    kind: QuestionKind,
    options: &'static [&'static str],
) -> ContractQuestion {
    ContractQuestion {
        id,
        kind,
        options,
        since: 2,
    }
}

/// Option values added to a revision-1 question by a later revision: (question, value, since).
pub const ADDED_OPTIONS: &[(&str, &str, u8)] = &[(MITIGATIONS, "abs_agreement", 2)];

impl ContractQuestion {
    /// The option values this question must have under a contract revision.
    pub fn options_at(&self, revision: u8) -> Vec<&'static str> {
        let mut options = self.options.to_vec();
        options.extend(
            ADDED_OPTIONS
                .iter()
                .filter(|(q, _, since)| *q == self.id && *since <= revision)
                .map(|(_, value, _)| *value),
        );
        options
    }
}

/// The questions a rulebook following `revision` must have.
pub fn questions_at(revision: u8) -> impl Iterator<Item = &'static ContractQuestion> {
    QUESTIONS.iter().filter(move |q| q.since <= revision)
}

use QuestionKind::{Many, One, Text, Yn};

/// Every question of the catalogue.
pub const QUESTIONS: &[ContractQuestion] = &[
    q(AREA, One, &[]),
    q(SUB_AREA, One, &[]),
    q(
        RESEARCH_STAGE,
        One,
        &["basic", "applied", "experimental_development"],
    ),
    q("dual_use_potential", Yn, &[]),
    q("intended_military_use", Yn, &[]),
    q("surveillance_use", Yn, &[]),
    q(PARTNER_NAME, Text, &[]),
    q("partner_type", One, PARTNER_TYPES),
    q("partner_location", Text, &[]),
    q("partner_military_links", Yn, &[]),
    q("partner_restricted_list", Yn, &[]),
    q("affiliations_disclosed", Yn, &[]),
    q("talent_programme", Yn, &[]),
    q(
        "partner_funding",
        Many,
        &[
            "nsfc",
            "most_key_rd",
            "cas",
            "provincial",
            "corporate",
            "military_defence",
            "eu_or_member_state",
            "unknown",
        ],
    ),
    q("local_rules_checked", Yn, &[]),
    q("export_controlled_items", Yn, &[]),
    q(
        "export_licence",
        One,
        &["not_needed", "obtained", "applied", "not_applied"],
    ),
    q("personal_data", Yn, &[]),
    q("human_genetic_resources", Yn, &[]),
    q("scientific_data_in_china", Yn, &[]),
    q("important_data", Yn, &[]),
    q("data_stored_in_china_only", Yn, &[]),
    q("equal_access", One, &["full", "partial", "none", "unknown"]),
    q("ipr_agreement", One, &["signed", "draft", "none"]),
    q("publication_freedom", Yn, &[]),
    q("fair_contribution", Yn, &[]),
    q("mobility_equal", Yn, &[]),
    q("human_subjects", Yn, &[]),
    q("ethics_approval_both", Yn, &[]),
    q(
        "animal_research",
        Many,
        &["none", "non_human_primates", "other_vertebrates"],
    ),
    q("germline_editing", Yn, &[]),
    q("sensitive_topics", Yn, &[]),
    q("pressure_signs", Yn, &[]),
    q("dependency", Yn, &[]),
    q("shared_it_systems", Yn, &[]),
    q(
        BENEFITS,
        Many,
        &[
            STRATEGIC_AGENDA_TOPIC,
            "global_challenge",
            "unique_access",
            "partner_excellence",
            "mutual_benefit",
            "multilateral_framework",
            "training_mobility",
        ],
    ),
    q(BENEFIT_NOTES, Text, &[]),
    q(
        MITIGATIONS,
        Many,
        &[
            "legal_compliance_review",
            "export_control_check",
            "data_management_plan",
            "access_controls",
            "ethics_approval",
            "affiliation_screening",
            "interference_briefing",
            "exit_strategy",
            "diversification",
        ],
    ),
    // Revision 2.
    q2("specialist_review", Yn, &[]),
    q2("visiting_researchers", Yn, &[]),
    q2(
        "visitor_funding",
        Many,
        &[
            "csc_scholarship",
            "partner_salary",
            "chinese_state_programme",
            "military_sponsor",
            "eu_funding",
            "unknown",
        ],
    ),
    q2("personal_incentives", Yn, &[]),
    q2("declined_elsewhere", Yn, &[]),
    q2("china_export_control", Yn, &[]),
    q2("non_human_genetic_resources", Yn, &[]),
    q2("sanctions_exposure", Yn, &[]),
];

/// Every area with its sub-areas.
pub const AREAS: &[(&str, &[&str])] = &[
    (
        "ai",
        &[
            "ai_fundamental_theory",
            "ai_chips",
            "ai_open_source_platforms",
            "ai_reasoning_decision",
            "ai_vision_graphics",
            "ai_speech_video",
            "ai_nlp",
            "ai_governance_ethics",
            "ai_health",
        ],
    ),
    (
        "quantum",
        &[
            "quantum_communication",
            "quantum_computing",
            "quantum_simulation",
            "quantum_sensing",
        ],
    ),
    (
        "integrated_circuits",
        &[
            "ic_design_tools",
            "ic_equipment_materials",
            "ic_advanced_processes",
            "ic_storage",
            "ic_wide_bandgap",
            "ic_medical_chips",
        ],
    ),
    (
        "brain",
        &[
            "brain_cognition",
            "brain_connectivity_mapping",
            "brain_diseases",
            "brain_development",
            "brain_like_computing",
            "brain_computer_interface",
            "neuroethics",
        ],
    ),
    (
        "biotech",
        &[
            "bio_crop_livestock_breeding",
            "bio_agri_microorganisms",
            "bio_vaccines",
            "bio_diagnostics",
            "bio_antibody_drugs",
            "bio_biopharmaceuticals",
            "bio_genomics",
            "bio_synthetic_biology",
            "bio_gene_cell_technology",
            "bio_biosafety",
        ],
    ),
    (
        "clinical_health",
        &[
            "clin_cancer",
            "clin_cardiovascular",
            "clin_respiratory_metabolic",
            "clin_active_health",
            "clin_regenerative_stem_cells",
            "clin_microbiome",
            "clin_novel_therapies",
            "clin_transmissible_diseases",
            "clin_chronic_diseases",
            "clin_antimicrobial_resistance",
            "clin_ehealth",
        ],
    ),
    (
        "deep_space",
        &[
            "space_astronomy",
            "space_planetary_exploration",
            "space_launch_vehicles",
            "space_earth_observation",
        ],
    ),
    (
        "deep_ground",
        &[
            "ground_underground_physics",
            "ground_radioactive_waste",
            "ground_exploration_equipment",
        ],
    ),
    (
        "deep_sea",
        &["sea_ocean_climate", "sea_resources", "sea_equipment"],
    ),
    (
        "polar",
        &[
            "polar_glaciology",
            "polar_oceanography",
            "polar_biology",
            "polar_monitoring_platforms",
            "polar_governance_security",
        ],
    ),
    (
        "green_development",
        &[
            "green_renewables_efficiency",
            "green_urbanization",
            "green_aviation",
            "green_finance",
            "green_circular_economy",
            "green_water_waste",
            "green_emobility",
            "green_grid",
        ],
    ),
    ("other", &["other"]),
];
