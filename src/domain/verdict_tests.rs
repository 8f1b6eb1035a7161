//! Table-driven tests of the verdict engine with the shipped rulebook: every rule,
//! every sub-area baseline and the unknown-is-not-safe principle.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::*;
use crate::domain::contract;

fn rulebook() -> Rulebook {
    Rulebook::parse(include_str!("../../rulebook/eu-knoc-2021-r1.toml"))
        .expect("revision 1 is valid")
}

/// Every question answered in the way that raises nothing, for a green sub-area.
fn clean() -> BTreeMap<&'static str, Value> {
    BTreeMap::from([
        ("area", json!("clinical_health")),
        ("sub_area", json!("clin_cardiovascular")),
        ("research_stage", json!("basic")),
        ("dual_use_potential", json!("no")),
        ("intended_military_use", json!("no")),
        ("surveillance_use", json!("no")),
        ("partner_name", json!("Fudan University")),
        ("partner_type", json!("university")),
        ("partner_location", json!("Shanghai")),
        ("partner_military_links", json!("no")),
        ("partner_restricted_list", json!("no")),
        ("affiliations_disclosed", json!("yes")),
        ("talent_programme", json!("no")),
        ("partner_funding", json!(["nsfc"])),
        ("local_rules_checked", json!("yes")),
        ("export_controlled_items", json!("no")),
        ("personal_data", json!("no")),
        ("human_genetic_resources", json!("no")),
        ("scientific_data_in_china", json!("no")),
        ("important_data", json!("no")),
        ("data_stored_in_china_only", json!("no")),
        ("equal_access", json!("full")),
        ("ipr_agreement", json!("signed")),
        ("publication_freedom", json!("yes")),
        ("fair_contribution", json!("yes")),
        ("mobility_equal", json!("yes")),
        ("human_subjects", json!("no")),
        ("animal_research", json!(["none"])),
        ("germline_editing", json!("no")),
        ("sensitive_topics", json!("no")),
        ("pressure_signs", json!("no")),
        ("dependency", json!("no")),
        ("shared_it_systems", json!("no")),
        ("benefits", json!([])),
        ("mitigations", json!([])),
    ])
}

fn answers_of(rb: &Rulebook, map: &BTreeMap<&'static str, Value>) -> Answers {
    let value = Value::Object(
        map.iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
    );
    Answers::from_json(rb, &value).unwrap_or_else(|e| panic!("invalid test answers: {e:?}"))
}

fn eval_with(changes: &[(&'static str, Value)], register: Option<&RegisterHit>) -> Evaluation {
    let rb = rulebook();
    let mut map = clean();
    for (k, v) in changes {
        if v.is_null() {
            map.remove(k);
        } else {
            map.insert(k, v.clone());
        }
    }
    evaluate(&rb, &answers_of(&rb, &map), register)
}

fn eval(changes: &[(&'static str, Value)]) -> Evaluation {
    eval_with(changes, None)
}

fn finding<'a>(e: &'a Evaluation, code: &str) -> Option<&'a Finding> {
    e.findings.iter().find(|f| f.code == code)
}

fn hit(flags: &[&str]) -> RegisterHit {
    RegisterHit {
        entry: "Harbin Institute of Technology".into(),
        flags: flags.iter().map(|f| (*f).to_owned()).collect(),
        source: "US Entity List".into(),
        as_of: "2026-11".into(),
        close: false,
        ..RegisterHit::default()
    }
}

const ALL_MITIGATIONS: [&str; 9] = [
    "legal_compliance_review",
    "export_control_check",
    "data_management_plan",
    "access_controls",
    "ethics_approval",
    "affiliation_screening",
    "interference_briefing",
    "exit_strategy",
    "diversification",
];

#[test]
fn the_shipped_rulebook_is_valid_and_versioned() {
    let rb = rulebook();
    assert!(
        rb.version().starts_with("eu-knoc-2021@"),
        "{}",
        rb.version()
    );
    assert_eq!(rb.steps().len(), 9);
}

#[test]
fn a_clean_green_project_is_green_with_no_findings() {
    let e = eval(&[]);
    assert_eq!(e.findings, vec![], "unexpected findings");
    assert_eq!(e.verdict, Colour::Green);
    assert_eq!(e.baseline, Colour::Green);
}

#[test]
fn every_sub_area_has_the_catalogue_baseline() {
    use Colour::{Green as G, Orange as O, Red as R};
    let expected: &[(&str, &str, Colour)] = &[
        ("ai", "ai_fundamental_theory", O),
        ("ai", "ai_chips", O),
        ("ai", "ai_open_source_platforms", O),
        ("ai", "ai_reasoning_decision", O),
        ("ai", "ai_vision_graphics", O),
        ("ai", "ai_speech_video", O),
        ("ai", "ai_nlp", O),
        ("ai", "ai_governance_ethics", O),
        ("ai", "ai_health", O),
        ("quantum", "quantum_communication", R),
        ("quantum", "quantum_computing", R),
        ("quantum", "quantum_simulation", R),
        ("quantum", "quantum_sensing", R),
        ("integrated_circuits", "ic_design_tools", O),
        ("integrated_circuits", "ic_equipment_materials", O),
        ("integrated_circuits", "ic_advanced_processes", O),
        ("integrated_circuits", "ic_storage", O),
        ("integrated_circuits", "ic_wide_bandgap", O),
        ("integrated_circuits", "ic_medical_chips", O),
        ("brain", "brain_cognition", O),
        ("brain", "brain_connectivity_mapping", O),
        ("brain", "brain_diseases", O),
        ("brain", "brain_development", O),
        ("brain", "brain_like_computing", O),
        ("brain", "brain_computer_interface", O),
        ("brain", "neuroethics", O),
        ("biotech", "bio_crop_livestock_breeding", G),
        ("biotech", "bio_agri_microorganisms", G),
        ("biotech", "bio_vaccines", G),
        ("biotech", "bio_diagnostics", G),
        ("biotech", "bio_antibody_drugs", G),
        ("biotech", "bio_biopharmaceuticals", G),
        ("biotech", "bio_genomics", G),
        ("biotech", "bio_synthetic_biology", O),
        ("biotech", "bio_gene_cell_technology", O),
        ("biotech", "bio_biosafety", O),
        ("clinical_health", "clin_cancer", G),
        ("clinical_health", "clin_cardiovascular", G),
        ("clinical_health", "clin_respiratory_metabolic", G),
        ("clinical_health", "clin_active_health", G),
        ("clinical_health", "clin_regenerative_stem_cells", G),
        ("clinical_health", "clin_microbiome", G),
        ("clinical_health", "clin_novel_therapies", G),
        ("clinical_health", "clin_transmissible_diseases", G),
        ("clinical_health", "clin_chronic_diseases", G),
        ("clinical_health", "clin_antimicrobial_resistance", G),
        ("clinical_health", "clin_ehealth", G),
        ("deep_space", "space_astronomy", R),
        ("deep_space", "space_planetary_exploration", R),
        ("deep_space", "space_launch_vehicles", R),
        ("deep_space", "space_earth_observation", O),
        ("deep_ground", "ground_underground_physics", O),
        ("deep_ground", "ground_radioactive_waste", O),
        ("deep_ground", "ground_exploration_equipment", O),
        ("deep_sea", "sea_ocean_climate", O),
        ("deep_sea", "sea_resources", O),
        ("deep_sea", "sea_equipment", O),
        ("polar", "polar_glaciology", R),
        ("polar", "polar_oceanography", R),
        ("polar", "polar_biology", R),
        ("polar", "polar_monitoring_platforms", R),
        ("polar", "polar_governance_security", R),
        ("green_development", "green_renewables_efficiency", G),
        ("green_development", "green_urbanization", G),
        ("green_development", "green_aviation", G),
        ("green_development", "green_finance", G),
        ("green_development", "green_circular_economy", G),
        ("green_development", "green_water_waste", G),
        ("green_development", "green_emobility", G),
        ("green_development", "green_grid", G),
        ("other", "other", O),
    ];
    let total: usize = contract::AREAS.iter().map(|(_, subs)| subs.len()).sum();
    assert_eq!(expected.len(), total, "the table must list every sub-area");
    let rb = rulebook();
    for (area, sub, colour) in expected {
        let e = eval(&[("area", json!(area)), ("sub_area", json!(sub))]);
        assert_eq!(e.baseline, *colour, "baseline of {sub}");
        // Clean answers raise nothing except the dual-use caveats nobody answered: none here.
        assert_eq!(
            e.verdict, *colour,
            "verdict of a clean {sub} project: {:?}",
            e.findings
        );
        assert_eq!(rb.sub_area(sub).map(|(a, _)| a.code.as_str()), Some(*area));
    }
}

#[test]
fn without_a_sub_area_the_area_colour_is_the_baseline() {
    use Colour::{Green as G, Orange as O, Red as R};
    for (area, colour) in [
        ("ai", O),
        ("quantum", R),
        ("integrated_circuits", O),
        ("brain", O),
        ("biotech", G),
        ("clinical_health", G),
        ("deep_space", R),
        ("deep_ground", O),
        ("deep_sea", O),
        ("polar", R),
        ("green_development", G),
        ("other", O),
    ] {
        let e = eval(&[("area", json!(area)), ("sub_area", Value::Null)]);
        assert_eq!(e.baseline, colour, "area {area}");
    }
}

/// (case, answer changes, register flags, expected finding, its severity, resolved, verdict)
type RuleCase = (
    &'static str,
    Vec<(&'static str, Value)>,
    Option<&'static [&'static str]>,
    &'static str,
    Colour,
    bool,
    Colour,
);

/// Cases that hold alike under revision 1 and revision 2.
fn shared_rule_cases() -> Vec<RuleCase> {
    use Colour::{Green as G, Orange as O, Red as R};
    let all_mitigations = json!(ALL_MITIGATIONS);
    vec![
        (
            "restricted list answered yes",
            vec![("partner_restricted_list", json!("yes"))],
            None,
            "restricted_list",
            R,
            false,
            R,
        ),
        (
            "restricted list from the register",
            vec![],
            Some(&["restricted_list"]),
            "restricted_list",
            R,
            false,
            R,
        ),
        (
            "restricted list is never mitigated",
            vec![
                ("partner_restricted_list", json!("yes")),
                ("mitigations", all_mitigations.clone()),
            ],
            None,
            "restricted_list",
            R,
            false,
            R,
        ),
        (
            "military links in a dual-use sub-area",
            vec![
                ("area", json!("ai")),
                ("sub_area", json!("ai_chips")),
                ("partner_military_links", json!("yes")),
            ],
            None,
            "military_links_dual_use",
            R,
            false,
            R,
        ),
        (
            "military links with dual-use potential",
            vec![
                ("partner_military_links", json!("yes")),
                ("dual_use_potential", json!("yes")),
            ],
            None,
            "military_links_dual_use",
            R,
            false,
            R,
        ),
        (
            "military funding in a dual-use sub-area",
            vec![
                ("area", json!("deep_sea")),
                ("sub_area", json!("sea_equipment")),
                ("partner_funding", json!(["military_defence"])),
            ],
            None,
            "military_links_dual_use",
            R,
            false,
            R,
        ),
        (
            "defence-affiliated partner in a dual-use sub-area",
            vec![
                ("area", json!("brain")),
                ("sub_area", json!("brain_computer_interface")),
                ("partner_type", json!("defence_affiliated")),
            ],
            None,
            "military_links_dual_use",
            R,
            false,
            R,
        ),
        (
            "register military links in quantum",
            vec![
                ("area", json!("quantum")),
                ("sub_area", json!("quantum_sensing")),
            ],
            Some(&["military_links"]),
            "military_links_dual_use",
            R,
            false,
            R,
        ),
        (
            "military links outside dual use",
            vec![("partner_military_links", json!("yes"))],
            None,
            "military_links",
            O,
            false,
            O,
        ),
        (
            "military links outside dual use are never mitigated",
            vec![
                ("partner_military_links", json!("yes")),
                ("mitigations", all_mitigations.clone()),
            ],
            None,
            "military_links",
            O,
            false,
            O,
        ),
        (
            "intended military use",
            vec![("intended_military_use", json!("yes"))],
            None,
            "intended_military_use",
            R,
            false,
            R,
        ),
        (
            "surveillance use",
            vec![("surveillance_use", json!("yes"))],
            None,
            "surveillance_use",
            R,
            false,
            R,
        ),
        (
            "germline editing",
            vec![("germline_editing", json!("yes"))],
            None,
            "germline_editing",
            R,
            false,
            R,
        ),
        (
            "controlled items, licence not applied",
            vec![
                ("export_controlled_items", json!("yes")),
                ("export_licence", json!("not_applied")),
            ],
            None,
            "export_without_licence",
            R,
            false,
            R,
        ),
        (
            "controlled items, licence unanswered",
            vec![("export_controlled_items", json!("yes"))],
            None,
            "export_without_licence",
            R,
            false,
            R,
        ),
        (
            "controlled items, licence applied for",
            vec![
                ("export_controlled_items", json!("yes")),
                ("export_licence", json!("applied")),
            ],
            None,
            "export_licence_pending",
            O,
            false,
            O,
        ),
        (
            "pressure signs",
            vec![
                ("pressure_signs", json!("yes")),
                ("mitigations", all_mitigations.clone()),
            ],
            None,
            "pressure_signs",
            O,
            false,
            O,
        ),
        (
            "no equal access",
            vec![("equal_access", json!("none"))],
            None,
            "no_equal_access",
            O,
            false,
            O,
        ),
        (
            "publication not free",
            vec![("publication_freedom", json!("no"))],
            None,
            "publication_restricted",
            O,
            false,
            O,
        ),
        (
            "no IPR agreement",
            vec![("ipr_agreement", json!("none"))],
            None,
            "ipr_not_signed",
            O,
            false,
            O,
        ),
        (
            "draft IPR agreement",
            vec![("ipr_agreement", json!("draft"))],
            None,
            "ipr_not_signed",
            O,
            false,
            O,
        ),
        (
            "unfair contribution",
            vec![("fair_contribution", json!("no"))],
            None,
            "unfair_contribution",
            O,
            false,
            O,
        ),
        (
            "unequal mobility",
            vec![("mobility_equal", json!("no"))],
            None,
            "unequal_mobility",
            O,
            false,
            O,
        ),
        (
            "dual-use potential, open",
            vec![
                ("dual_use_potential", json!("yes")),
                ("mitigations", json!(["export_control_check"])),
            ],
            None,
            "dual_use_potential",
            O,
            false,
            O,
        ),
        (
            "dual-use potential, mitigated",
            vec![
                ("dual_use_potential", json!("yes")),
                (
                    "mitigations",
                    json!(["export_control_check", "access_controls"]),
                ),
            ],
            None,
            "dual_use_potential",
            O,
            true,
            G,
        ),
        (
            "talent programme, open",
            vec![("talent_programme", json!("yes"))],
            None,
            "talent_programme",
            O,
            false,
            O,
        ),
        (
            "talent programme, mitigated",
            vec![
                ("talent_programme", json!("yes")),
                (
                    "mitigations",
                    json!(["affiliation_screening", "access_controls"]),
                ),
            ],
            None,
            "talent_programme",
            O,
            true,
            G,
        ),
        (
            "talent programme from the register",
            vec![],
            Some(&["talent_programme"]),
            "talent_programme",
            O,
            false,
            O,
        ),
        (
            "personal data, open",
            vec![
                ("personal_data", json!("yes")),
                ("mitigations", json!(["legal_compliance_review"])),
            ],
            None,
            "personal_data",
            O,
            false,
            O,
        ),
        (
            "personal data, mitigated",
            vec![
                ("personal_data", json!("yes")),
                (
                    "mitigations",
                    json!(["legal_compliance_review", "data_management_plan"]),
                ),
            ],
            None,
            "personal_data",
            O,
            true,
            G,
        ),
        (
            "scientific data export, mitigated",
            vec![
                ("scientific_data_in_china", json!("yes")),
                (
                    "mitigations",
                    json!(["legal_compliance_review", "data_management_plan"]),
                ),
            ],
            None,
            "scientific_data_export",
            O,
            true,
            G,
        ),
        (
            "scientific data export, open",
            vec![("scientific_data_in_china", json!("yes"))],
            None,
            "scientific_data_export",
            O,
            false,
            O,
        ),
        (
            "important data, open",
            vec![("important_data", json!("yes"))],
            None,
            "important_data",
            O,
            false,
            O,
        ),
        (
            "important data, mitigated",
            vec![
                ("important_data", json!("yes")),
                (
                    "mitigations",
                    json!(["legal_compliance_review", "data_management_plan"]),
                ),
            ],
            None,
            "important_data",
            O,
            true,
            G,
        ),
        (
            "human genetic resources, two of three",
            vec![
                ("human_genetic_resources", json!("yes")),
                (
                    "mitigations",
                    json!(["legal_compliance_review", "data_management_plan"]),
                ),
            ],
            None,
            "human_genetic_resources",
            O,
            false,
            O,
        ),
        (
            "human genetic resources, mitigated",
            vec![
                ("human_genetic_resources", json!("yes")),
                (
                    "mitigations",
                    json!([
                        "legal_compliance_review",
                        "data_management_plan",
                        "ethics_approval"
                    ]),
                ),
            ],
            None,
            "human_genetic_resources",
            O,
            true,
            G,
        ),
        (
            "data localisation, open",
            vec![("data_stored_in_china_only", json!("yes"))],
            None,
            "data_localisation",
            O,
            false,
            O,
        ),
        (
            "data localisation, mitigated",
            vec![
                ("data_stored_in_china_only", json!("yes")),
                ("mitigations", json!(["data_management_plan"])),
            ],
            None,
            "data_localisation",
            O,
            true,
            G,
        ),
        (
            "human subjects without approval",
            vec![
                ("human_subjects", json!("yes")),
                ("ethics_approval_both", json!("no")),
            ],
            None,
            "ethics_approval_missing",
            O,
            false,
            O,
        ),
        (
            "human subjects, approval as mitigation",
            vec![
                ("human_subjects", json!("yes")),
                ("ethics_approval_both", json!("no")),
                ("mitigations", json!(["ethics_approval"])),
            ],
            None,
            "ethics_approval_missing",
            O,
            true,
            G,
        ),
        (
            "non-human primates, open",
            vec![(
                "animal_research",
                json!(["non_human_primates", "other_vertebrates"]),
            )],
            None,
            "non_human_primates",
            O,
            false,
            O,
        ),
        (
            "non-human primates, mitigated",
            vec![
                ("animal_research", json!(["non_human_primates"])),
                ("mitigations", json!(["ethics_approval"])),
            ],
            None,
            "non_human_primates",
            O,
            true,
            G,
        ),
        (
            "sensitive topics, one of two",
            vec![
                ("sensitive_topics", json!("yes")),
                ("mitigations", json!(["interference_briefing"])),
            ],
            None,
            "sensitive_topics",
            O,
            false,
            O,
        ),
        (
            "sensitive topics, mitigated",
            vec![
                ("sensitive_topics", json!("yes")),
                (
                    "mitigations",
                    json!(["interference_briefing", "exit_strategy"]),
                ),
            ],
            None,
            "sensitive_topics",
            O,
            true,
            G,
        ),
        (
            "dependency, open",
            vec![("dependency", json!("yes"))],
            None,
            "dependency",
            O,
            false,
            O,
        ),
        (
            "dependency, mitigated",
            vec![
                ("dependency", json!("yes")),
                ("mitigations", json!(["diversification"])),
            ],
            None,
            "dependency",
            O,
            true,
            G,
        ),
        (
            "shared IT, open",
            vec![("shared_it_systems", json!("yes"))],
            None,
            "shared_it_systems",
            O,
            false,
            O,
        ),
        (
            "shared IT, mitigated",
            vec![
                ("shared_it_systems", json!("yes")),
                ("mitigations", json!(["access_controls"])),
            ],
            None,
            "shared_it_systems",
            O,
            true,
            G,
        ),
        (
            "partial access, open",
            vec![("equal_access", json!("partial"))],
            None,
            "partial_access",
            O,
            false,
            O,
        ),
        (
            "partial access, mitigated",
            vec![
                ("equal_access", json!("partial")),
                ("mitigations", json!(["data_management_plan"])),
            ],
            None,
            "partial_access",
            O,
            true,
            G,
        ),
        (
            "local rules not checked, open",
            vec![("local_rules_checked", json!("no"))],
            None,
            "local_rules_not_checked",
            O,
            false,
            O,
        ),
        (
            "local rules not checked, mitigated",
            vec![
                ("local_rules_checked", json!("no")),
                ("mitigations", json!(["legal_compliance_review"])),
            ],
            None,
            "local_rules_not_checked",
            O,
            true,
            G,
        ),
        (
            "affiliations undisclosed, open",
            vec![("affiliations_disclosed", json!("no"))],
            None,
            "affiliations_undisclosed",
            O,
            false,
            O,
        ),
        (
            "affiliations undisclosed, mitigated",
            vec![
                ("affiliations_disclosed", json!("no")),
                ("mitigations", json!(["affiliation_screening"])),
            ],
            None,
            "affiliations_undisclosed",
            O,
            true,
            G,
        ),
        (
            "no partner named",
            vec![("partner_name", Value::Null)],
            None,
            "unknown_partner",
            O,
            false,
            O,
        ),
        (
            "blank partner name",
            vec![("partner_name", json!("   "))],
            None,
            "unknown_partner",
            O,
            false,
            O,
        ),
        (
            "unknown partner funding",
            vec![("partner_funding", json!(["nsfc", "unknown"]))],
            None,
            "unknown_partner",
            O,
            false,
            O,
        ),
        (
            "register contradicts a no",
            vec![],
            Some(&["military_links"]),
            "register_conflict_military_links",
            O,
            false,
            O,
        ),
    ]
}

fn rule_cases() -> Vec<RuleCase> {
    use Colour::{Green as G, Orange as O};
    let mut cases = shared_rule_cases();
    // Revision 1 only: a screening resolves an unidentified partner (revision 2 refuses that).
    cases.extend(vec![(
        "unknown partner, screened",
        vec![
            ("partner_funding", json!(["unknown"])),
            ("mitigations", json!(["affiliation_screening"])),
        ],
        None,
        "unknown_partner",
        O,
        true,
        G,
    )]);
    cases
}

#[test]
fn every_rule_raises_its_finding_with_the_right_severity_and_resolution() {
    for (case, changes, flags, code, severity, resolved, verdict) in rule_cases() {
        let register = flags.map(hit);
        let e = eval_with(&changes, register.as_ref());
        let f = finding(&e, code)
            .unwrap_or_else(|| panic!("{case}: no finding {code} in {:#?}", e.findings));
        assert_eq!(f.severity, severity, "{case}: severity");
        assert_eq!(f.resolved, resolved, "{case}: resolved");
        assert_eq!(
            e.verdict, verdict,
            "{case}: verdict; findings {:#?}",
            e.findings
        );
        assert!(
            !f.title.is_empty()
                && !f.why.is_empty()
                && !f.source.is_empty()
                && !f.remedy.is_empty(),
            "{case}: explained"
        );
        assert!(
            !f.trigger.is_empty() && !f.hint.is_empty(),
            "{case}: trigger and hint"
        );
        assert!(
            rulebook().question(&f.question).is_some(),
            "{case}: question {}",
            f.question
        );
    }
}

#[test]
fn answers_that_raise_nothing_leave_a_green_project_green() {
    for (case, changes) in [
        (
            "licence obtained",
            vec![
                ("export_controlled_items", json!("yes")),
                ("export_licence", json!("obtained")),
            ],
        ),
        (
            "licence not needed",
            vec![
                ("export_controlled_items", json!("yes")),
                ("export_licence", json!("not_needed")),
            ],
        ),
        (
            "human subjects with approval",
            vec![
                ("human_subjects", json!("yes")),
                ("ethics_approval_both", json!("yes")),
            ],
        ),
        (
            "other vertebrates",
            vec![("animal_research", json!(["other_vertebrates"]))],
        ),
        (
            "applied research",
            vec![("research_stage", json!("applied"))],
        ),
        ("no research stage", vec![("research_stage", Value::Null)]),
        ("no location", vec![("partner_location", Value::Null)]),
        (
            "every benefit",
            vec![(
                "benefits",
                json!([
                    "global_challenge",
                    "unique_access",
                    "partner_excellence",
                    "mutual_benefit",
                    "multilateral_framework",
                    "training_mobility"
                ]),
            )],
        ),
    ] {
        let e = eval(&changes);
        assert_eq!(e.verdict, Colour::Green, "{case}: {:#?}", e.findings);
        assert!(e.findings.is_empty(), "{case}: {:#?}", e.findings);
    }
}

#[test]
fn questions_that_branching_does_not_ask_raise_nothing() {
    // A licence answer without controlled items, an approval answer without human subjects.
    let e = eval(&[
        ("export_licence", json!("not_applied")),
        ("ethics_approval_both", json!("no")),
    ]);
    assert_eq!(e.verdict, Colour::Green, "{:#?}", e.findings);
    assert!(e.findings.is_empty());
}

#[test]
fn unknown_or_unanswered_yes_no_questions_are_not_yet_cleared() {
    let rb = rulebook();
    let by_group: &[(&[&str], &[&str])] = &[
        (
            &[
                "partner_military_links",
                "partner_restricted_list",
                "affiliations_disclosed",
                "talent_programme",
            ],
            &["affiliation_screening"],
        ),
        (&["export_controlled_items"], &["export_control_check"]),
        (
            &[
                "personal_data",
                "human_genetic_resources",
                "scientific_data_in_china",
                "important_data",
                "data_stored_in_china_only",
                "local_rules_checked",
            ],
            &["legal_compliance_review"],
        ),
        (
            &[
                "dual_use_potential",
                "intended_military_use",
                "surveillance_use",
                "publication_freedom",
                "fair_contribution",
                "mobility_equal",
                "human_subjects",
                "germline_editing",
                "sensitive_topics",
                "pressure_signs",
                "dependency",
                "shared_it_systems",
            ],
            &[],
        ),
    ];
    let mut covered = 0;
    for (questions, resolved_by) in by_group {
        for q in *questions {
            for how in [json!("unknown"), Value::Null] {
                let e = eval(&[(q, how.clone())]);
                let code = format!("unknown_{q}");
                let f = finding(&e, &code)
                    .unwrap_or_else(|| panic!("{q} = {how}: no {code} in {:#?}", e.findings));
                assert_eq!(f.severity, Colour::Orange, "{q}");
                assert!(!f.resolved, "{q}");
                assert_eq!(
                    e.verdict,
                    Colour::Orange,
                    "{q} = {how}: unknown is never green"
                );
                let expected: Vec<String> = resolved_by.iter().map(|s| (*s).to_owned()).collect();
                assert_eq!(f.resolved_by, expected, "{q}: resolved by");

                // The mitigation that establishes the fact clears it; without one, nothing does.
                let e = eval(&[(q, how.clone()), ("mitigations", json!(ALL_MITIGATIONS))]);
                let f = finding(&e, &code).expect("still listed");
                assert_eq!(
                    f.resolved,
                    !resolved_by.is_empty(),
                    "{q}: resolved with every mitigation"
                );
            }
            covered += 1;
        }
    }
    // Every yes/no question of the catalogue is covered, bar the branched one tested below.
    let yn = rb
        .steps()
        .iter()
        .flat_map(|s| &s.questions)
        .filter(|q| q.kind == QuestionKind::Yn && q.asked_when.is_none())
        .count();
    assert_eq!(covered, yn);
}

#[test]
fn an_unknown_ethics_approval_is_not_cleared_when_it_is_asked() {
    let e = eval(&[
        ("human_subjects", json!("yes")),
        ("ethics_approval_both", json!("unknown")),
    ]);
    assert!(finding(&e, "unknown_ethics_approval_both").is_some());
    assert!(finding(&e, "ethics_approval_missing").is_some());
    let e = eval(&[("ethics_approval_both", json!("unknown"))]);
    assert!(
        finding(&e, "unknown_ethics_approval_both").is_none(),
        "not asked without human subjects"
    );
}

#[test]
fn unknown_access_and_unanswered_choices_are_not_yet_cleared() {
    for (q, how) in [
        ("equal_access", json!("unknown")),
        ("equal_access", Value::Null),
        ("ipr_agreement", Value::Null),
        ("partner_type", Value::Null),
        ("partner_funding", Value::Null),
        ("animal_research", Value::Null),
    ] {
        let e = eval(&[(q, how.clone())]);
        let code = format!("unknown_{q}");
        assert!(
            finding(&e, &code).is_some(),
            "{q} = {how}: {:#?}",
            e.findings
        );
        assert_eq!(e.verdict, Colour::Orange, "{q}");
    }
}

#[test]
fn an_empty_questionnaire_is_never_green() {
    let rb = rulebook();
    let answers = answers_of(&rb, &BTreeMap::from([("area", json!("green_development"))]));
    let e = evaluate(&rb, &answers, None);
    assert_eq!(e.baseline, Colour::Green);
    assert_eq!(e.verdict, Colour::Orange);
    assert!(
        e.findings.len() >= 20,
        "every open question counts: {}",
        e.findings.len()
    );
    assert!(e.findings.iter().all(|f| f.severity == Colour::Orange));
}

#[test]
fn no_area_at_all_evaluates_without_panicking() {
    let rb = rulebook();
    let e = evaluate(&rb, &Answers::default(), None);
    assert_eq!(e.verdict, Colour::Orange);
    assert_eq!(e.baseline, Colour::Orange);
}

#[test]
fn mitigations_never_lower_an_area_baseline() {
    let e = eval(&[
        ("area", json!("ai")),
        ("sub_area", json!("ai_health")),
        ("mitigations", json!(ALL_MITIGATIONS)),
    ]);
    assert_eq!(e.verdict, Colour::Orange);
    let e = eval(&[
        ("area", json!("polar")),
        ("sub_area", json!("polar_biology")),
        ("mitigations", json!(ALL_MITIGATIONS)),
    ]);
    assert_eq!(e.verdict, Colour::Red);
}

#[test]
fn a_green_project_with_every_caveat_handled_is_green() {
    let e = eval(&[
        ("dual_use_potential", json!("yes")),
        ("personal_data", json!("yes")),
        ("human_genetic_resources", json!("yes")),
        ("human_subjects", json!("yes")),
        ("ethics_approval_both", json!("yes")),
        ("shared_it_systems", json!("yes")),
        ("dependency", json!("yes")),
        ("equal_access", json!("partial")),
        ("mitigations", json!(ALL_MITIGATIONS)),
    ]);
    assert_eq!(e.verdict, Colour::Green, "{:#?}", e.findings);
    assert!(e.findings.len() >= 6);
    assert!(e.findings.iter().all(|f| f.resolved));
}

#[test]
fn the_verdict_is_the_worst_open_finding_and_red_comes_first() {
    let e = eval(&[
        ("dependency", json!("yes")),
        ("surveillance_use", json!("yes")),
        ("shared_it_systems", json!("yes")),
        ("mitigations", json!(["access_controls"])),
    ]);
    assert_eq!(e.verdict, Colour::Red);
    let order: Vec<(&str, Colour, bool)> = e
        .findings
        .iter()
        .map(|f| (f.code.as_str(), f.severity, f.resolved))
        .collect();
    assert_eq!(
        order,
        [
            ("surveillance_use", Colour::Red, false),
            ("dependency", Colour::Orange, false),
            ("shared_it_systems", Colour::Orange, true),
        ]
    );
}

#[test]
fn hints_say_what_is_missing_and_what_the_verdict_would_become() {
    let e = eval(&[
        ("personal_data", json!("yes")),
        ("mitigations", json!(["legal_compliance_review"])),
    ]);
    let f = finding(&e, "personal_data").expect("finding");
    let rb = rulebook();
    assert!(
        f.hint
            .contains(&rb.mitigation_label("data_management_plan")),
        "{}",
        f.hint
    );
    assert!(
        !f.hint
            .contains(&rb.mitigation_label("legal_compliance_review")),
        "{}",
        f.hint
    );
    assert!(f.hint.contains("Green"), "{}", f.hint);
}

#[test]
fn a_register_match_raises_its_flags_even_against_a_no_and_shows_the_conflict() {
    let e = eval_with(
        &[("area", json!("ai")), ("sub_area", json!("ai_nlp"))],
        Some(&hit(&["military_links", "restricted_list"])),
    );
    assert_eq!(e.verdict, Colour::Red);
    for code in [
        "restricted_list",
        "military_links_dual_use",
        "register_conflict_military_links",
        "register_conflict_restricted_list",
    ] {
        let f = finding(&e, code).unwrap_or_else(|| panic!("no {code}: {:#?}", e.findings));
        assert!(
            f.trigger.contains("Harbin Institute of Technology"),
            "{code}: {}",
            f.trigger
        );
    }
    assert_eq!(
        finding(&e, "restricted_list").map(|f| f.question.as_str()),
        Some("partner_name")
    );
    assert_eq!(
        e.register.as_ref().map(|r| r.entry.as_str()),
        Some("Harbin Institute of Technology")
    );
}

#[test]
fn a_register_match_without_flags_raises_nothing() {
    let e = eval_with(&[], Some(&hit(&[])));
    assert!(e.findings.is_empty(), "{:#?}", e.findings);
    assert_eq!(e.verdict, Colour::Green);
}

#[test]
fn a_close_spelling_match_says_so() {
    let mut close = hit(&["restricted_list"]);
    close.close = true;
    let e = eval_with(&[], Some(&close));
    assert!(
        finding(&e, "restricted_list")
            .expect("finding")
            .trigger
            .contains("close spelling")
    );
}

#[test]
fn benefit_levels_count_benefits_and_strategic_agenda_sub_areas() {
    let level = |changes: &[(&'static str, Value)]| eval(changes).benefits.level;
    assert_eq!(level(&[]), BenefitLevel::Low);
    assert_eq!(
        level(&[("benefits", json!(["unique_access"]))]),
        BenefitLevel::Medium
    );
    assert_eq!(
        level(&[("benefits", json!(["unique_access", "mutual_benefit"]))]),
        BenefitLevel::Medium
    );
    assert_eq!(
        level(&[(
            "benefits",
            json!(["unique_access", "mutual_benefit", "global_challenge"])
        )]),
        BenefitLevel::High
    );
    // Cancer research is on the EU-China 2020 Strategic Agenda: it counts by itself, once.
    let cancer = [("sub_area", json!("clin_cancer"))];
    assert_eq!(level(&cancer), BenefitLevel::Medium);
    let e = eval(&[
        ("sub_area", json!("clin_cancer")),
        (
            "benefits",
            json!(["strategic_agenda_topic", "unique_access"]),
        ),
    ]);
    assert_eq!(e.benefits.level, BenefitLevel::Medium, "{:?}", e.benefits);
    let e = eval(&[
        ("sub_area", json!("clin_cancer")),
        ("benefits", json!(["unique_access", "mutual_benefit"])),
    ]);
    assert_eq!(e.benefits.level, BenefitLevel::High);
    assert_eq!(e.benefits.reasons.len(), 3);
    for agenda in [
        "clin_antimicrobial_resistance",
        "clin_ehealth",
        "green_grid",
        "bio_vaccines",
    ] {
        let area = rulebook()
            .sub_area(agenda)
            .map(|(a, _)| a.code.clone())
            .expect("sub-area");
        assert_eq!(
            level(&[("area", json!(area)), ("sub_area", json!(agenda))]),
            BenefitLevel::Medium,
            "{agenda}"
        );
    }
    let e = eval(&[
        ("area", json!("deep_space")),
        ("sub_area", json!("space_earth_observation")),
    ]);
    assert_eq!(e.benefits.level, BenefitLevel::Medium);
    // Benefits never change the colour.
    assert_eq!(e.verdict, Colour::Orange);
}

#[test]
fn the_research_stage_is_stated_but_raises_nothing() {
    let e = eval(&[("research_stage", json!("experimental_development"))]);
    assert!(e.research_stage.is_some());
    assert!(e.findings.is_empty());
}

#[test]
fn evaluation_is_deterministic_and_round_trips_through_json() {
    let changes = [
        ("personal_data", json!("yes")),
        ("pressure_signs", json!("unknown")),
    ];
    let a = eval(&changes);
    let b = eval(&changes);
    assert_eq!(a, b);
    let stored = serde_json::to_string(&a).expect("serialise");
    let back: Evaluation = serde_json::from_str(&stored).expect("deserialise");
    assert_eq!(a, back);
}

// ====================================================================== revision 2
// The tests above run revision 1, which old assessments keep. Those below run the
// shipped rulebook, revision 2: a case for every new and every revised rule, golden
// cases from the paper and the contract, and a check that every rule of the active
// rulebook and every finding kind the engine generates has a case here.

fn r2() -> Rulebook {
    Rulebook::parse(include_str!("../../rulebook/rulebook.toml"))
        .expect("the shipped rulebook (revision 2) is valid")
}

/// Every mitigation of revision 2.
const ALL_MITIGATIONS_R2: [&str; 10] = [
    "legal_compliance_review",
    "export_control_check",
    "data_management_plan",
    "access_controls",
    "ethics_approval",
    "affiliation_screening",
    "interference_briefing",
    "exit_strategy",
    "diversification",
    "abs_agreement",
];

/// Revision 1's clean answers plus revision 2's new questions, answered so that
/// nothing is raised.
fn clean2() -> BTreeMap<&'static str, Value> {
    let mut map = clean();
    map.extend([
        ("specialist_review", json!("yes")),
        ("visiting_researchers", json!("no")),
        ("personal_incentives", json!("no")),
        ("declined_elsewhere", json!("no")),
        ("china_export_control", json!("no")),
        ("non_human_genetic_resources", json!("no")),
        ("sanctions_exposure", json!("no")),
    ]);
    map
}

fn eval2_with(changes: &[(&'static str, Value)], register: Option<&RegisterHit>) -> Evaluation {
    let rb = r2();
    let mut map = clean2();
    for (k, v) in changes {
        if v.is_null() {
            map.remove(k);
        } else {
            map.insert(k, v.clone());
        }
    }
    evaluate(&rb, &answers_of(&rb, &map), register)
}

fn eval2(changes: &[(&'static str, Value)]) -> Evaluation {
    eval2_with(changes, None)
}

/// Revision 2: the shared cases and a case for every new and revised rule.
fn rule_cases_r2() -> Vec<RuleCase> {
    use Colour::{Green as G, Orange as O, Red as R};
    let all = json!(ALL_MITIGATIONS_R2);
    let orange_sub = || -> Vec<(&'static str, Value)> {
        vec![("area", json!("ai")), ("sub_area", json!("ai_nlp"))]
    };
    let with = |mut base: Vec<(&'static str, Value)>, more: Vec<(&'static str, Value)>| {
        base.extend(more);
        base
    };
    let mut cases = shared_rule_cases();
    cases.extend(vec![
        (
            "revised: military links, dual use unknown",
            vec![
                ("partner_military_links", json!("yes")),
                ("dual_use_potential", json!("unknown")),
            ],
            None,
            "military_links_dual_use_unassessed",
            R,
            false,
            R,
        ),
        (
            "revised: military links, dual use unanswered",
            vec![
                ("partner_military_links", json!("yes")),
                ("dual_use_potential", Value::Null),
            ],
            None,
            "military_links_dual_use_unassessed",
            R,
            false,
            R,
        ),
        (
            "revised: military funding, dual use unknown",
            vec![
                ("partner_funding", json!(["military_defence"])),
                ("dual_use_potential", json!("unknown")),
            ],
            None,
            "military_links_dual_use_unassessed",
            R,
            false,
            R,
        ),
        (
            "revised: register military links, dual use unanswered",
            vec![("dual_use_potential", Value::Null)],
            Some(&["military_links"][..]),
            "military_links_dual_use_unassessed",
            R,
            false,
            R,
        ),
        (
            "revised: unassessed dual use is never mitigated",
            vec![
                ("partner_military_links", json!("yes")),
                ("dual_use_potential", json!("unknown")),
                ("mitigations", all.clone()),
            ],
            None,
            "military_links_dual_use_unassessed",
            R,
            false,
            R,
        ),
        (
            "revised: surveillance use intended or foreseeable",
            vec![("surveillance_use", json!("yes"))],
            None,
            "surveillance_use",
            R,
            false,
            R,
        ),
        (
            "new: visitors sponsored by the military",
            vec![
                ("visiting_researchers", json!("yes")),
                (
                    "visitor_funding",
                    json!(["csc_scholarship", "military_sponsor"]),
                ),
            ],
            None,
            "military_visitor_sponsor",
            R,
            false,
            R,
        ),
        (
            "new: military sponsor is never mitigated",
            vec![
                ("visiting_researchers", json!("yes")),
                ("visitor_funding", json!(["military_sponsor"])),
                ("mitigations", all.clone()),
            ],
            None,
            "military_visitor_sponsor",
            R,
            false,
            R,
        ),
        (
            "revised: military links outside dual use, dual use assessed",
            vec![("partner_military_links", json!("yes"))],
            None,
            "military_links",
            O,
            false,
            O,
        ),
        (
            "new: declined elsewhere, whatever is recorded",
            vec![
                ("declined_elsewhere", json!("yes")),
                ("mitigations", all.clone()),
            ],
            None,
            "declined_elsewhere",
            O,
            false,
            O,
        ),
        (
            "new: no specialist review on an orange baseline",
            with(
                orange_sub(),
                vec![
                    ("specialist_review", json!("no")),
                    ("mitigations", all.clone()),
                ],
            ),
            None,
            "no_specialist_review",
            O,
            false,
            O,
        ),
        (
            "new: no specialist review on a red baseline",
            vec![
                ("area", json!("polar")),
                ("sub_area", json!("polar_biology")),
                ("specialist_review", json!("no")),
            ],
            None,
            "no_specialist_review",
            O,
            false,
            R,
        ),
        (
            "new: specialist review unknown on an orange baseline",
            with(orange_sub(), vec![("specialist_review", json!("unknown"))]),
            None,
            "unknown_specialist_review",
            O,
            false,
            O,
        ),
        (
            "new: specialist review unanswered on an orange baseline",
            with(
                orange_sub(),
                vec![
                    ("specialist_review", Value::Null),
                    ("mitigations", all.clone()),
                ],
            ),
            None,
            "unknown_specialist_review",
            O,
            false,
            O,
        ),
        (
            "new: no sub-area makes biotech's baseline orange, so specialists are owed",
            vec![
                ("area", json!("biotech")),
                ("sub_area", Value::Null),
                ("specialist_review", Value::Null),
            ],
            None,
            "unknown_specialist_review",
            O,
            false,
            O,
        ),
        (
            "revised: no partner named, screening ticked",
            vec![
                ("partner_name", Value::Null),
                ("mitigations", json!(["affiliation_screening"])),
            ],
            None,
            "unknown_partner",
            O,
            false,
            O,
        ),
        (
            "revised: partner funding not known, screening ticked",
            vec![
                ("partner_funding", json!(["nsfc", "unknown"])),
                ("mitigations", all.clone()),
            ],
            None,
            "unknown_partner",
            O,
            false,
            O,
        ),
        (
            "new: visiting researchers, open",
            vec![
                ("visiting_researchers", json!("yes")),
                ("visitor_funding", json!(["csc_scholarship"])),
                ("mitigations", json!(["affiliation_screening"])),
            ],
            None,
            "visiting_researchers",
            O,
            false,
            O,
        ),
        (
            "new: visiting researchers, mitigated",
            vec![
                ("visiting_researchers", json!("yes")),
                ("visitor_funding", json!(["csc_scholarship", "eu_funding"])),
                (
                    "mitigations",
                    json!(["affiliation_screening", "access_controls"]),
                ),
            ],
            None,
            "visiting_researchers",
            O,
            true,
            G,
        ),
        (
            "new: personal incentives, open",
            vec![("personal_incentives", json!("yes"))],
            None,
            "personal_incentives",
            O,
            false,
            O,
        ),
        (
            "new: personal incentives, mitigated",
            vec![
                ("personal_incentives", json!("yes")),
                ("mitigations", json!(["affiliation_screening"])),
            ],
            None,
            "personal_incentives",
            O,
            true,
            G,
        ),
        (
            "new: Chinese export controls, one of two",
            vec![
                ("china_export_control", json!("yes")),
                ("mitigations", json!(["legal_compliance_review"])),
            ],
            None,
            "china_export_control",
            O,
            false,
            O,
        ),
        (
            "new: Chinese export controls, mitigated",
            vec![
                ("china_export_control", json!("yes")),
                (
                    "mitigations",
                    json!(["legal_compliance_review", "exit_strategy"]),
                ),
            ],
            None,
            "china_export_control",
            O,
            true,
            G,
        ),
        (
            "new: non-human genetic resources, one of two",
            vec![
                ("non_human_genetic_resources", json!("yes")),
                ("mitigations", json!(["legal_compliance_review"])),
            ],
            None,
            "non_human_genetic_resources",
            O,
            false,
            O,
        ),
        (
            "new: non-human genetic resources, mitigated",
            vec![
                ("non_human_genetic_resources", json!("yes")),
                (
                    "mitigations",
                    json!(["legal_compliance_review", "abs_agreement"]),
                ),
            ],
            None,
            "non_human_genetic_resources",
            O,
            true,
            G,
        ),
        (
            "new: licence judged not needed, unconfirmed",
            vec![
                ("export_controlled_items", json!("yes")),
                ("export_licence", json!("not_needed")),
            ],
            None,
            "export_licence_unconfirmed",
            O,
            false,
            O,
        ),
        (
            "new: licence judged not needed, confirmed by the check",
            vec![
                ("export_controlled_items", json!("yes")),
                ("export_licence", json!("not_needed")),
                ("mitigations", json!(["export_control_check"])),
            ],
            None,
            "export_licence_unconfirmed",
            O,
            true,
            G,
        ),
        (
            "new: exposure to countermeasures, one of two",
            vec![
                ("sanctions_exposure", json!("yes")),
                ("mitigations", json!(["exit_strategy"])),
            ],
            None,
            "sanctions_exposure",
            O,
            false,
            O,
        ),
        (
            "new: exposure to countermeasures, mitigated",
            vec![
                ("sanctions_exposure", json!("yes")),
                (
                    "mitigations",
                    json!(["interference_briefing", "exit_strategy"]),
                ),
            ],
            None,
            "sanctions_exposure",
            O,
            true,
            G,
        ),
        (
            "register contradicts a no on military links",
            vec![],
            Some(&["military_links"][..]),
            "register_conflict_military_links",
            O,
            false,
            O,
        ),
        (
            "register contradicts a no on listing",
            vec![],
            Some(&["restricted_list"][..]),
            "register_conflict_restricted_list",
            O,
            false,
            R,
        ),
        (
            "register contradicts a no on talent programmes",
            vec![],
            Some(&["talent_programme"][..]),
            "register_conflict_talent_programme",
            O,
            false,
            O,
        ),
    ]);
    cases
}

/// Every question of revision 2 with a "not yet cleared" rule: how it is left unknown,
/// what else must be answered for it to be asked, and the mitigations that would
/// establish the fact (never resolving it).
type UnknownCase = (
    &'static str,
    Value,
    &'static [(&'static str, &'static str)],
    &'static [&'static str],
);

fn unknown_cases_r2() -> Vec<UnknownCase> {
    let screening: &'static [&'static str] = &["affiliation_screening"];
    let legal: &'static [&'static str] = &["legal_compliance_review"];
    let export: &'static [&'static str] = &["export_control_check"];
    let answer_only: &'static [&'static str] = &[];
    let unknown = || json!("unknown");
    vec![
        ("sub_area", Value::Null, &[], answer_only),
        ("dual_use_potential", unknown(), &[], export),
        ("intended_military_use", unknown(), &[], answer_only),
        ("surveillance_use", unknown(), &[], answer_only),
        ("partner_type", Value::Null, &[], screening),
        ("partner_military_links", unknown(), &[], screening),
        ("partner_restricted_list", unknown(), &[], screening),
        ("affiliations_disclosed", unknown(), &[], screening),
        ("talent_programme", unknown(), &[], screening),
        ("partner_funding", Value::Null, &[], screening),
        ("local_rules_checked", unknown(), &[], legal),
        ("visiting_researchers", unknown(), &[], answer_only),
        (
            "visitor_funding",
            json!(["csc_scholarship", "unknown"]),
            &[("visiting_researchers", "yes")],
            screening,
        ),
        (
            "visitor_funding",
            Value::Null,
            &[("visiting_researchers", "yes")],
            screening,
        ),
        ("personal_incentives", unknown(), &[], screening),
        ("declined_elsewhere", unknown(), &[], answer_only),
        ("export_controlled_items", unknown(), &[], export),
        ("china_export_control", unknown(), &[], legal),
        ("personal_data", unknown(), &[], legal),
        ("human_genetic_resources", unknown(), &[], legal),
        ("scientific_data_in_china", unknown(), &[], legal),
        ("important_data", unknown(), &[], legal),
        ("data_stored_in_china_only", unknown(), &[], legal),
        ("non_human_genetic_resources", unknown(), &[], legal),
        ("equal_access", unknown(), &[], answer_only),
        ("ipr_agreement", Value::Null, &[], answer_only),
        ("publication_freedom", unknown(), &[], answer_only),
        ("fair_contribution", unknown(), &[], answer_only),
        ("mobility_equal", unknown(), &[], answer_only),
        ("human_subjects", unknown(), &[], answer_only),
        (
            "ethics_approval_both",
            unknown(),
            &[("human_subjects", "yes")],
            answer_only,
        ),
        ("animal_research", Value::Null, &[], answer_only),
        ("germline_editing", unknown(), &[], answer_only),
        ("sensitive_topics", unknown(), &[], answer_only),
        ("pressure_signs", unknown(), &[], answer_only),
        ("dependency", unknown(), &[], answer_only),
        ("shared_it_systems", unknown(), &[], answer_only),
        ("sanctions_exposure", unknown(), &[], answer_only),
    ]
}

#[test]
fn revision_2_raises_every_rule_with_the_right_severity_and_resolution() {
    let rb = r2();
    for (case, changes, flags, code, severity, resolved, verdict) in rule_cases_r2() {
        let register = flags.map(hit);
        let e = eval2_with(&changes, register.as_ref());
        let f = finding(&e, code)
            .unwrap_or_else(|| panic!("{case}: no finding {code} in {:#?}", e.findings));
        assert_eq!(f.severity, severity, "{case}: severity");
        assert_eq!(f.resolved, resolved, "{case}: resolved");
        assert_eq!(
            e.verdict, verdict,
            "{case}: verdict; findings {:#?}",
            e.findings
        );
        assert!(
            !f.title.is_empty()
                && !f.why.is_empty()
                && !f.source.is_empty()
                && !f.remedy.is_empty(),
            "{case}: explained"
        );
        assert!(
            !f.trigger.is_empty() && !f.hint.is_empty(),
            "{case}: trigger and hint"
        );
        assert!(
            rb.question(&f.question).is_some(),
            "{case}: question {}",
            f.question
        );
    }
}

#[test]
fn in_revision_2_only_an_answer_clears_a_missing_fact() {
    for (question, how, needs, established_by) in unknown_cases_r2() {
        let mut changes: Vec<(&'static str, Value)> =
            needs.iter().map(|(q, v)| (*q, json!(v))).collect();
        changes.push((question, how.clone()));
        let code = format!("unknown_{question}");
        let e = eval2(&changes);
        let f = finding(&e, &code)
            .unwrap_or_else(|| panic!("{question} = {how}: no {code} in {:#?}", e.findings));
        assert_eq!(f.severity, Colour::Orange, "{question}");
        assert!(!f.resolved, "{question}");
        assert!(f.is_uncleared(), "{question}");
        assert!(
            e.verdict >= Colour::Orange,
            "{question} = {how}: unknown is never green"
        );
        assert!(
            f.resolved_by.is_empty(),
            "{question}: no mitigation resolves it"
        );
        let expected: Vec<String> = established_by.iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(f.established_by, expected, "{question}: established by");
        assert_eq!(f.note, None, "{question}: nothing ticked, nothing to note");

        // Every mitigation ticked: still not cleared; the establishing ones are pointed out.
        changes.push(("mitigations", json!(ALL_MITIGATIONS_R2)));
        let e = eval2(&changes);
        let f = finding(&e, &code).expect("still listed");
        assert!(!f.resolved, "{question}: resolved by mitigations");
        assert!(
            e.verdict >= Colour::Orange,
            "{question}: mitigations made it green"
        );
        match (established_by.is_empty(), &f.note) {
            (true, None) => {}
            (false, Some(note)) => assert!(
                note.contains("ticked but") && note.contains("record what"),
                "{question}: {note}"
            ),
            (_, note) => panic!("{question}: unexpected note {note:?}"),
        }
    }
}

/// Every finding kind revision 2 can raise: each rule's code, the "not yet cleared"
/// finding of each question with an unknown rule, and a conflict for each register flag.
fn finding_kinds(rb: &Rulebook) -> Vec<String> {
    let mut kinds: Vec<String> = rb.rules().iter().map(|r| r.code.clone()).collect();
    kinds.extend(
        rb.steps()
            .iter()
            .flat_map(|s| &s.questions)
            .filter(|q| q.unknown.is_some())
            .map(|q| format!("{UNCLEARED_PREFIX}{}", q.id)),
    );
    kinds.extend(
        rb.register_flags()
            .iter()
            .map(|f| format!("register_conflict_{}", f.flag)),
    );
    kinds
}

#[test]
fn every_rule_and_every_generated_finding_of_the_active_rulebook_has_a_case() {
    let rb = r2();
    let mut covered: Vec<String> = rule_cases_r2().iter().map(|c| c.3.to_owned()).collect();
    covered.extend(
        unknown_cases_r2()
            .iter()
            .map(|(q, ..)| format!("{UNCLEARED_PREFIX}{q}")),
    );
    let missing: Vec<String> = finding_kinds(&rb)
        .into_iter()
        .filter(|k| !covered.contains(k))
        .collect();
    assert!(
        missing.is_empty(),
        "findings of the rulebook without a case in the verdict table: {missing:?}"
    );
    // And the table names no finding the rulebook cannot raise.
    let kinds = finding_kinds(&rb);
    let stray: Vec<&String> = covered.iter().filter(|c| !kinds.contains(c)).collect();
    assert!(
        stray.is_empty(),
        "cases for findings that do not exist: {stray:?}"
    );
}

#[test]
fn a_clean_project_is_green_under_revision_2_too() {
    let e = eval2(&[]);
    assert_eq!(e.findings, vec![], "unexpected findings");
    assert_eq!(e.verdict, Colour::Green);
    assert_eq!(e.rulebook_version, r2().version());
}

#[test]
fn revision_2_answers_that_raise_nothing_leave_a_green_project_green() {
    for (case, changes) in [
        (
            "licence obtained",
            vec![
                ("export_controlled_items", json!("yes")),
                ("export_licence", json!("obtained")),
            ],
        ),
        (
            "specialist review no on a green baseline",
            vec![("specialist_review", json!("no"))],
        ),
        (
            "specialist review unknown on a green baseline",
            vec![("specialist_review", json!("unknown"))],
        ),
        (
            "specialist review unanswered on a green baseline",
            vec![("specialist_review", Value::Null)],
        ),
        (
            "visitor funding not asked without visitors",
            vec![("visitor_funding", json!(["military_sponsor", "unknown"]))],
        ),
        (
            "an extra partner unit",
            vec![("partner_unit", json!("School of Public Health"))],
        ),
        ("no partner unit", vec![("partner_unit", Value::Null)]),
        (
            "green development without a sub-area is still green at baseline",
            vec![
                ("area", json!("green_development")),
                ("sub_area", json!("green_grid")),
            ],
        ),
    ] {
        let e = eval2(&changes);
        assert_eq!(e.verdict, Colour::Green, "{case}: {:#?}", e.findings);
        assert!(e.findings.is_empty(), "{case}: {:#?}", e.findings);
    }
}

#[test]
fn revision_2_without_a_sub_area_takes_the_worst_sub_area_and_is_not_yet_cleared() {
    use Colour::{Green as G, Orange as O, Red as R};
    for (area, colour) in [
        ("ai", O),
        ("quantum", R),
        ("integrated_circuits", O),
        ("brain", O),
        ("biotech", O),
        ("clinical_health", G),
        ("deep_space", R),
        ("deep_ground", O),
        ("deep_sea", O),
        ("polar", R),
        ("green_development", G),
        ("other", O),
    ] {
        let e = eval2(&[("area", json!(area)), ("sub_area", Value::Null)]);
        assert_eq!(e.baseline, colour, "area {area}");
        assert!(
            e.baseline_reason.contains("worst colour"),
            "{}",
            e.baseline_reason
        );
        let f = finding(&e, "unknown_sub_area").expect("the missing sub-area is a finding");
        assert!(!f.resolved);
        assert_eq!(e.verdict, colour.max(Colour::Orange), "area {area}");
    }
}

#[test]
fn golden_cases_from_the_paper_and_the_issue_differ_between_the_revisions_as_intended() {
    // Ticking the partner screening no longer clears "Military links: Don't know".
    let screened_unknown = [
        ("partner_military_links", json!("unknown")),
        ("mitigations", json!(["affiliation_screening"])),
    ];
    let old = eval(&screened_unknown);
    assert_eq!(
        old.verdict,
        Colour::Green,
        "revision 1 let the screening resolve it"
    );
    let new = eval2(&screened_unknown);
    assert_eq!(new.verdict, Colour::Orange);
    let f = finding(&new, "unknown_partner_military_links").expect("finding");
    assert!(!f.resolved);
    let note = f
        .note
        .as_deref()
        .expect("the memo says the screening is ticked");
    assert!(
        note.contains("Partner and affiliation screening is ticked but the answer is still")
            && note.contains("Don't know")
            && note.contains("record what it found"),
        "{note}"
    );

    // A biotech project without a sub-area is no longer green with no findings.
    let no_sub = [("area", json!("biotech")), ("sub_area", Value::Null)];
    assert_eq!(eval(&no_sub).verdict, Colour::Green);
    assert!(eval(&no_sub).findings.is_empty());
    let new = eval2(&no_sub);
    assert_eq!(new.baseline, Colour::Orange);
    assert!(finding(&new, "unknown_sub_area").is_some());

    // A military-linked partner on work whose dual use nobody assessed is red, not orange.
    let unassessed = [
        ("partner_military_links", json!("yes")),
        ("dual_use_potential", json!("unknown")),
    ];
    assert_eq!(eval(&unassessed).verdict, Colour::Orange);
    assert_eq!(eval2(&unassessed).verdict, Colour::Red);

    // "Export licence not needed" now needs the export-control officer's confirmation.
    let not_needed = [
        ("export_controlled_items", json!("yes")),
        ("export_licence", json!("not_needed")),
    ];
    assert_eq!(eval(&not_needed).verdict, Colour::Green);
    assert_eq!(eval2(&not_needed).verdict, Colour::Orange);

    // Surveillance is about intended or foreseeable use: a vision project whose results
    // could serve surveillance only as a capability is orange (dual use), as AI is.
    let vision = [
        ("area", json!("ai")),
        ("sub_area", json!("ai_vision_graphics")),
        ("dual_use_potential", json!("yes")),
        ("surveillance_use", json!("no")),
        (
            "mitigations",
            json!(["export_control_check", "access_controls"]),
        ),
    ];
    let e = eval2(&vision);
    assert_eq!(e.verdict, Colour::Orange, "{:#?}", e.findings);
    assert!(finding(&e, "surveillance_use").is_none());
    let mut foreseeable = vision.to_vec();
    foreseeable.push(("surveillance_use", json!("yes")));
    assert_eq!(eval2(&foreseeable).verdict, Colour::Red);

    // Green fields with every caveat handled stay green; red and orange fields keep
    // their colour whatever is recorded (conclusion of section 2.2).
    let cancer = eval2(&[
        ("sub_area", json!("clin_cancer")),
        ("human_subjects", json!("yes")),
        ("ethics_approval_both", json!("yes")),
        ("personal_data", json!("yes")),
        ("human_genetic_resources", json!("yes")),
        ("visiting_researchers", json!("yes")),
        ("visitor_funding", json!(["csc_scholarship"])),
        ("mitigations", json!(ALL_MITIGATIONS_R2)),
    ]);
    assert_eq!(cancer.verdict, Colour::Green, "{:#?}", cancer.findings);
    assert_eq!(
        cancer.benefits.level,
        BenefitLevel::Medium,
        "cancer is on the Strategic Agenda"
    );
    let quantum = eval2(&[
        ("area", json!("quantum")),
        ("sub_area", json!("quantum_sensing")),
        ("mitigations", json!(ALL_MITIGATIONS_R2)),
    ]);
    assert_eq!(quantum.verdict, Colour::Red);
    let earth = eval2(&[
        ("area", json!("deep_space")),
        ("sub_area", json!("space_earth_observation")),
        ("mitigations", json!(ALL_MITIGATIONS_R2)),
    ]);
    assert_eq!(earth.verdict, Colour::Orange);
}

#[test]
fn revision_1_evaluations_carry_none_of_revision_2s_new_fields() {
    // Old assessments are stored as JSON; evaluating them again must give the same bytes.
    let e = eval(&[
        ("partner_military_links", json!("unknown")),
        ("mitigations", json!(ALL_MITIGATIONS)),
    ]);
    let json = serde_json::to_string(&e).expect("serialise");
    assert!(
        !json.contains("established_by") && !json.contains("\"note\""),
        "{json}"
    );
}

#[test]
fn counts_are_the_same_everywhere_open_includes_not_yet_cleared() {
    let e = eval2(&[
        ("dependency", json!("yes")),
        ("pressure_signs", json!("unknown")),
        ("shared_it_systems", json!("yes")),
        ("mitigations", json!(["access_controls"])),
    ]);
    let counts = e.counts();
    assert_eq!((counts.open, counts.uncleared, counts.resolved), (2, 1, 1));
    assert_eq!(counts.raised(), 1);
    assert_eq!(
        counts.summary(),
        "2 open findings (1 not yet cleared), 1 resolved by mitigations"
    );
}

#[test]
fn next_steps_list_questions_then_missing_mitigations() {
    use crate::domain::memo::next_steps;
    let rb = r2();
    let answers = [
        ("partner_military_links", json!("unknown")),
        ("pressure_signs", Value::Null),
        ("personal_data", json!("yes")),
        ("human_genetic_resources", json!("yes")),
        ("germline_editing", json!("yes")),
        (
            "mitigations",
            json!(["affiliation_screening", "legal_compliance_review"]),
        ),
    ];
    let e = eval2(&answers);
    let steps = next_steps(
        &rb,
        &e,
        &[
            "affiliation_screening".to_owned(),
            "legal_compliance_review".to_owned(),
        ],
    );
    let questions: Vec<&str> = steps.answer.iter().map(|q| q.id.as_str()).collect();
    assert_eq!(questions, ["partner_military_links", "pressure_signs"]);
    assert!(
        steps.answer[0].note.is_some(),
        "the ticked screening is pointed out"
    );
    let mitigations: Vec<&str> = steps.record.iter().map(|m| m.code.as_str()).collect();
    assert_eq!(mitigations, ["data_management_plan", "ethics_approval"]);
    assert_eq!(
        steps.record[0].findings.len(),
        2,
        "personal data and genetic resources"
    );
    assert_eq!(steps.red, 1);
}
