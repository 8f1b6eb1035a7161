#![recursion_limit = "256"]
//! The machine interface: `POST /api/v1/evaluate` and `GET /api/v1/rulebook`.

mod common;

use axum::http::StatusCode;
use serde_json::{Value, json};

use common::TestApp;

/// Every question answered so that nothing is raised.
fn clean() -> Value {
    json!({
        "area": "clinical_health", "sub_area": "clin_cardiovascular", "research_stage": "basic",
        "dual_use_potential": "no", "intended_military_use": "no", "surveillance_use": "no",
        "partner_name": "Fudan University", "partner_type": "university", "partner_location": "Shanghai",
        "partner_military_links": "no", "partner_restricted_list": "no", "affiliations_disclosed": "yes",
        "talent_programme": "no", "partner_funding": ["nsfc"], "local_rules_checked": "yes",
        "export_controlled_items": "no",
        "personal_data": "no", "human_genetic_resources": "no", "scientific_data_in_china": "no",
        "important_data": "no", "data_stored_in_china_only": "no",
        "equal_access": "full", "ipr_agreement": "signed", "publication_freedom": "yes",
        "fair_contribution": "yes", "mobility_equal": "yes",
        "human_subjects": "no", "animal_research": ["none"], "germline_editing": "no",
        "sensitive_topics": "no", "pressure_signs": "no", "dependency": "no", "shared_it_systems": "no",
        "benefits": [], "mitigations": [],
        "specialist_review": "yes", "visiting_researchers": "no", "personal_incentives": "no",
        "declined_elsewhere": "no", "china_export_control": "no", "non_human_genetic_resources": "no",
        "sanctions_exposure": "no"
    })
}

fn with(changes: Value) -> String {
    let mut answers = clean();
    for (k, v) in changes.as_object().expect("object") {
        if v.is_null() {
            answers.as_object_mut().expect("object").remove(k);
        } else {
            answers[k] = v.clone();
        }
    }
    json!({ "answers": answers }).to_string()
}

fn codes(body: &Value) -> Vec<String> {
    body["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["code"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn a_clean_green_project_evaluates_green_with_the_documented_shape() {
    let app = TestApp::new().await;
    let r = app.post_json("/api/v1/evaluate", &with(json!({}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let body = r.json();
    assert_eq!(body["verdict"], "green");
    assert_eq!(body["baseline"], "green");
    assert_eq!(body["rulebook_version"], app.state.rulebook_now().version());
    assert_eq!(body["findings"], json!([]));
    assert_eq!(body["benefits"]["level"], "low");
    assert!(body["benefits"]["reasons"].is_array());
}

#[tokio::test]
async fn findings_carry_every_documented_field() {
    let app = TestApp::new().await;
    let r = app
        .post_json(
            "/api/v1/evaluate",
            &with(json!({"personal_data": "yes", "mitigations": ["legal_compliance_review", "data_management_plan"]})),
        )
        .await;
    let body = r.json();
    let f = &body["findings"][0];
    assert_eq!(f["code"], "personal_data");
    assert_eq!(f["severity"], "orange");
    assert_eq!(f["resolved"], true);
    assert_eq!(f["question"], "personal_data");
    assert_eq!(
        f["resolved_by"],
        json!(["legal_compliance_review", "data_management_plan"])
    );
    for key in ["title", "why", "source"] {
        assert!(f[key].as_str().is_some_and(|s| !s.is_empty()), "{key}");
    }
    assert_eq!(
        body["verdict"], "green",
        "a resolved finding no longer counts"
    );
}

#[tokio::test]
async fn verdicts_follow_the_rules_for_areas_register_matches_and_mitigations() {
    let app = TestApp::new().await;
    let cases: Vec<(&str, Value, &str, &[&str])> = vec![
        (
            "red sub-area",
            json!({"area": "quantum", "sub_area": "quantum_communication"}),
            "red",
            &[],
        ),
        (
            "orange sub-area",
            json!({"area": "ai", "sub_area": "ai_nlp"}),
            "orange",
            &[],
        ),
        (
            "earth observation opening",
            json!({"area": "deep_space", "sub_area": "space_earth_observation"}),
            "orange",
            &[],
        ),
        (
            "register: Seven Sons university with restricted flag",
            json!({"partner_name": "Harbin Institute of Technology"}),
            "red",
            &["restricted_list"],
        ),
        (
            "register: alias and dual use",
            json!({"partner_name": "BUAA", "area": "ai", "sub_area": "ai_chips"}),
            "red",
            &["military_links_dual_use", "restricted_list"],
        ),
        (
            "register: military links outside dual use",
            json!({"partner_name": "Huazhong University of Science and Technology"}),
            "orange",
            &["military_links", "register_conflict_military_links"],
        ),
        (
            "register: misspelled",
            json!({"partner_name": "Harbin Insitute of Technology"}),
            "red",
            &["restricted_list"],
        ),
        (
            "register: unflagged entry",
            json!({"partner_name": "Chinese Academy of Sciences"}),
            "green",
            &[],
        ),
        (
            "not in register and not confused",
            json!({"partner_name": "Harbin Medical University"}),
            "green",
            &[],
        ),
        (
            "Nanjing University is not NJUST",
            json!({"partner_name": "Nanjing University"}),
            "green",
            &[],
        ),
        (
            "NJUST itself, on the Entity List since December 2020",
            json!({"partner_name": "Nanjing University of Science and Technology"}),
            "red",
            &["restricted_list", "military_links"],
        ),
        (
            "mitigated data",
            json!({"important_data": "yes", "mitigations": ["legal_compliance_review", "data_management_plan"]}),
            "green",
            &["important_data"],
        ),
        (
            "half-mitigated data",
            json!({"important_data": "yes", "mitigations": ["legal_compliance_review"]}),
            "orange",
            &["important_data"],
        ),
        (
            "mitigations never lower red",
            json!({"germline_editing": "yes", "mitigations": ["ethics_approval", "legal_compliance_review"]}),
            "red",
            &["germline_editing"],
        ),
        (
            "unknown is not safe",
            json!({"dependency": "unknown"}),
            "orange",
            &["unknown_dependency"],
        ),
        (
            "unanswered is not safe",
            json!({"pressure_signs": null}),
            "orange",
            &["unknown_pressure_signs"],
        ),
    ];
    for (case, changes, verdict, expected_codes) in cases {
        let r = app.post_json("/api/v1/evaluate", &with(changes)).await;
        assert_eq!(r.status, StatusCode::OK, "{case}: {}", r.body);
        let body = r.json();
        assert_eq!(body["verdict"], verdict, "{case}: {}", body["findings"]);
        let found = codes(&body);
        for code in expected_codes {
            assert!(
                found.iter().any(|c| c == code),
                "{case}: {code} missing from {found:?}"
            );
        }
        if expected_codes.is_empty() {
            assert!(found.is_empty(), "{case}: unexpected {found:?}");
        }
    }
}

#[tokio::test]
async fn every_bad_field_is_named_at_once_with_422() {
    let app = TestApp::new().await;
    let body = json!({"answers": {
        "sub_area": "quantum_sensing",
        "area": "ai",
        "nonsense": "yes",
        "dependency": "maybe",
        "benefits": "unique_access",
        "mitigations": ["not_a_mitigation"],
        "partner_name": 42,
        "partner_funding": ["nsfc", 7]
    }})
    .to_string();
    let r = app.post_json("/api/v1/evaluate", &body).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let errors = r.json()["errors"].as_array().expect("errors").clone();
    let mut fields: Vec<&str> = errors
        .iter()
        .map(|e| e["field"].as_str().unwrap_or_default())
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "benefits",
            "dependency",
            "mitigations",
            "nonsense",
            "partner_funding",
            "partner_name",
            "sub_area"
        ]
    );
    assert!(
        errors
            .iter()
            .all(|e| e["message"].as_str().is_some_and(|m| !m.is_empty()))
    );
}

#[tokio::test]
async fn a_missing_area_is_a_422() {
    let app = TestApp::new().await;
    let r = app
        .post_json("/api/v1/evaluate", r#"{"answers": {"dependency": "no"}}"#)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["errors"][0]["field"], "area");
    let r = app
        .post_json("/api/v1/evaluate", r#"{"answers": {}}"#)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app.post_json("/api/v1/evaluate", r#"{"nothing": 1}"#).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["errors"][0]["field"], "answers");
    let r = app
        .post_json("/api/v1/evaluate", r#"{"answers": [1, 2]}"#)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn malformed_json_is_a_400_in_json() {
    let app = TestApp::new().await;
    for body in [
        "{",
        "not json",
        "",
        "{\"answers\": {\"area\": \"ai\",}}",
        "\u{0}",
    ] {
        let r = app.post_json("/api/v1/evaluate", body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body:?}");
        assert!(r.json()["errors"].is_array());
    }
}

#[tokio::test]
async fn a_body_that_is_not_json_is_refused_in_json() {
    let app = TestApp::new().await;
    let r = app.post_form("/api/v1/evaluate", &[("answers", "x")]).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(r.json()["errors"].is_array());
}

#[tokio::test]
async fn the_evaluate_api_stores_nothing() {
    let app = TestApp::new().await;
    app.post_json("/api/v1/evaluate", &with(json!({}))).await;
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM assessments")
        .fetch_one(&app.db.pool)
        .await
        .expect("count");
    assert_eq!(n, 0);
}

#[tokio::test]
async fn the_rulebook_is_served_with_steps_questions_options_and_coloured_sub_areas() {
    let app = TestApp::new().await;
    let r = app.get("/api/v1/rulebook").await;
    assert_eq!(r.status, StatusCode::OK);
    let body = r.json();
    assert_eq!(body["version"], app.state.rulebook_now().version());
    let steps = body["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), 9);
    let questions: Vec<&Value> = steps
        .iter()
        .flat_map(|s| s["questions"].as_array().expect("questions"))
        .collect();
    let area = questions
        .iter()
        .find(|q| q["id"] == "area")
        .expect("area question");
    assert_eq!(area["options"].as_array().expect("options").len(), 12);
    let yn = questions
        .iter()
        .find(|q| q["id"] == "dependency")
        .expect("dependency");
    let values: Vec<&str> = yn["options"]
        .as_array()
        .expect("yn options")
        .iter()
        .filter_map(|o| o["value"].as_str())
        .collect();
    assert_eq!(values, ["yes", "no", "unknown"]);
    let quantum = body["areas"]
        .as_array()
        .expect("areas")
        .iter()
        .find(|a| a["code"] == "quantum")
        .expect("quantum");
    assert!(
        quantum["sub_areas"]
            .as_array()
            .expect("subs")
            .iter()
            .all(|s| s["colour"] == "red")
    );
}

/// (case, answer changes, expected verdict, findings that must be raised, and
/// whether each of them is resolved)
type Golden = (
    &'static str,
    Value,
    &'static str,
    &'static [(&'static str, bool)],
);

#[tokio::test]
async fn revision_2_golden_cases_from_the_paper_and_the_contract() {
    let app = TestApp::new().await;
    let cases: Vec<Golden> = vec![
        (
            "a screening does not stand in for a missing fact",
            json!({"partner_military_links": "unknown", "mitigations": ["affiliation_screening"]}),
            "orange",
            &[("unknown_partner_military_links", false)],
        ),
        (
            "a biotech project without a sub-area takes the worst sub-area",
            json!({"area": "biotech", "sub_area": null}),
            "orange",
            &[("unknown_sub_area", false)],
        ),
        (
            "a military-linked partner on work nobody assessed for dual use",
            json!({"partner_military_links": "yes", "dual_use_potential": "unknown"}),
            "red",
            &[("military_links_dual_use_unassessed", false)],
        ),
        (
            "a licence judged unnecessary needs the officer's confirmation",
            json!({"export_controlled_items": "yes", "export_licence": "not_needed"}),
            "orange",
            &[("export_licence_unconfirmed", false)],
        ),
        (
            "confirmed by the export-control check",
            json!({"export_controlled_items": "yes", "export_licence": "not_needed", "mitigations": ["export_control_check"]}),
            "green",
            &[("export_licence_unconfirmed", true)],
        ),
        (
            "AI vision with a mere capability is orange, not red",
            json!({"area": "ai", "sub_area": "ai_vision_graphics", "dual_use_potential": "yes", "surveillance_use": "no", "mitigations": ["export_control_check", "access_controls"]}),
            "orange",
            &[("dual_use_potential", true)],
        ),
        (
            "foreseeable surveillance use is red",
            json!({"area": "ai", "sub_area": "ai_vision_graphics", "surveillance_use": "yes"}),
            "red",
            &[("surveillance_use", false)],
        ),
        (
            "specialists are owed on an orange baseline",
            json!({"area": "integrated_circuits", "sub_area": "ic_medical_chips", "specialist_review": "no"}),
            "orange",
            &[("no_specialist_review", false)],
        ),
        (
            "visitors sponsored by the military",
            json!({"visiting_researchers": "yes", "visitor_funding": ["military_sponsor"], "mitigations": ["affiliation_screening", "access_controls"]}),
            "red",
            &[
                ("military_visitor_sponsor", false),
                ("visiting_researchers", true),
            ],
        ),
        (
            "a visitor whose sponsor is not known",
            json!({"visiting_researchers": "yes", "visitor_funding": ["unknown"], "mitigations": ["affiliation_screening", "access_controls"]}),
            "orange",
            &[
                ("unknown_visitor_funding", false),
                ("visiting_researchers", true),
            ],
        ),
        (
            "cherry-picking is weighed by a reviewer",
            json!({"declined_elsewhere": "yes", "mitigations": ["interference_briefing", "exit_strategy"]}),
            "orange",
            &[("declined_elsewhere", false)],
        ),
        (
            "Nagoya: genetic resources with an access-and-benefit-sharing agreement",
            json!({"area": "biotech", "sub_area": "bio_crop_livestock_breeding", "non_human_genetic_resources": "yes", "mitigations": ["legal_compliance_review", "abs_agreement"]}),
            "green",
            &[("non_human_genetic_resources", true)],
        ),
        (
            "China's export controls on results",
            json!({"china_export_control": "yes", "mitigations": ["legal_compliance_review"]}),
            "orange",
            &[("china_export_control", false)],
        ),
        (
            "participants under Chinese countermeasures",
            json!({"sanctions_exposure": "yes", "mitigations": ["interference_briefing", "exit_strategy"]}),
            "green",
            &[("sanctions_exposure", true)],
        ),
        (
            "payments to EU participants",
            json!({"personal_incentives": "yes"}),
            "orange",
            &[("personal_incentives", false)],
        ),
        (
            "the paper's red fields stay red whatever is recorded",
            json!({"area": "polar", "sub_area": "polar_glaciology", "mitigations": ["legal_compliance_review", "export_control_check", "data_management_plan", "access_controls", "ethics_approval", "affiliation_screening", "interference_briefing", "exit_strategy", "diversification", "abs_agreement"]}),
            "red",
            &[],
        ),
        (
            "an extra partner unit changes nothing",
            json!({"partner_unit": "School of Public Health"}),
            "green",
            &[],
        ),
    ];
    for (case, changes, verdict, expected) in cases {
        let r = app.post_json("/api/v1/evaluate", &with(changes)).await;
        assert_eq!(r.status, StatusCode::OK, "{case}: {}", r.body);
        let body = r.json();
        assert_eq!(body["verdict"], verdict, "{case}: {}", body["findings"]);
        assert!(
            body["rulebook_version"]
                .as_str()
                .is_some_and(|v| v.starts_with("eu-knoc-2021-r2@")),
            "{case}"
        );
        for (code, resolved) in expected {
            let f = body["findings"]
                .as_array()
                .expect("findings")
                .iter()
                .find(|f| f["code"] == *code)
                .unwrap_or_else(|| panic!("{case}: no {code} in {}", body["findings"]));
            assert_eq!(f["resolved"], *resolved, "{case}: {code}");
        }
        if expected.is_empty() && verdict == "green" {
            assert_eq!(body["findings"], json!([]), "{case}");
        }
    }
}

#[tokio::test]
async fn revision_2_questions_and_options_are_validated_by_name() {
    let app = TestApp::new().await;
    let body = json!({"answers": {
        "area": "biotech",
        "sub_area": "ai_chips",
        "visitor_funding": ["csc_scholarship", "bitcoin"],
        "specialist_review": "perhaps",
        "mitigations": ["abs_agreement", "prayer"],
        "partner_unit": 7
    }})
    .to_string();
    let r = app.post_json("/api/v1/evaluate", &body).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let mut fields: Vec<String> = r.json()["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().unwrap_or_default().to_owned())
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "mitigations",
            "partner_unit",
            "specialist_review",
            "sub_area",
            "visitor_funding"
        ]
    );
}

#[tokio::test]
async fn the_rulebook_api_serves_revision_2_with_the_new_questions() {
    let app = TestApp::new().await;
    let body = app.get("/api/v1/rulebook").await.json();
    let version = body["version"].as_str().expect("version");
    assert!(version.starts_with("eu-knoc-2021-r2@"), "{version}");
    assert_eq!(body["contract"], 2);
    let questions: Vec<&Value> = body["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .flat_map(|s| s["questions"].as_array().expect("questions"))
        .collect();
    let ids: Vec<&str> = questions.iter().filter_map(|q| q["id"].as_str()).collect();
    for id in [
        "specialist_review",
        "visiting_researchers",
        "visitor_funding",
        "personal_incentives",
        "declined_elsewhere",
        "china_export_control",
        "non_human_genetic_resources",
        "sanctions_exposure",
        "partner_unit",
    ] {
        assert!(ids.contains(&id), "{id}");
    }
    let name = ids
        .iter()
        .position(|id| *id == "partner_name")
        .expect("name");
    assert_eq!(ids[name + 1], "partner_unit");
    assert!(
        questions
            .iter()
            .all(|q| q["how"].as_str().is_some_and(|h| !h.is_empty())),
        "every question says how to find the answer"
    );
    let mitigations = questions
        .iter()
        .find(|q| q["id"] == "mitigations")
        .expect("mitigations");
    assert!(
        mitigations["options"]
            .as_array()
            .expect("options")
            .iter()
            .any(|o| o["value"] == "abs_agreement")
    );
}
