//! Attachments through the real router, the real database and the local object store:
//! real PDF and PNG files, a lying extension, an oversized file, a name with path
//! characters, another institution, a missing token.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use common::{Client, TestApp};
use triage::state::{AttachmentSettings, RuntimeConfig};

/// A 1×1 PNG image.
const PNG: [u8; 70] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x64, 0x60, 0xf8, 0x5f,
    0x0f, 0x00, 0x02, 0x87, 0x01, 0x80, 0xeb, 0x47, 0xba, 0x92, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// A one-page PDF with a line of text, `padding` bytes of comment lines making it larger.
fn pdf(padding: usize) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_owned(),
        {
            let text = "BT /F1 12 Tf 72 770 Td (Export-control check: no licence needed) Tj ET";
            format!("<< /Length {} >>\nstream\n{text}\nendstream", text.len())
        },
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    while out.len() < padding {
        out.extend_from_slice(b"% padding to make the file larger than the limit......\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An app whose store is a fresh folder, with a file limit of `max_bytes`.
async fn app_with_store(max_bytes: u64) -> (TestApp, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("triage-attachments-{}", Uuid::new_v4()));
    let config = RuntimeConfig {
        attachments: AttachmentSettings {
            dir: dir.clone(),
            max_bytes,
        },
        ..RuntimeConfig::default()
    };
    (TestApp::with_config(config).await, dir)
}

/// The files in a folder and below it.
fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// Posts the upload form as a browser does: token, target, note, then the file.
async fn upload(
    client: &Client,
    case: &str,
    target: &str,
    note: &str,
    file_name: &str,
    content: &[u8],
) -> common::TestResponse {
    let token = client.csrf().await;
    upload_with_token(client, case, &token, target, note, file_name, content).await
}

async fn upload_with_token(
    client: &Client,
    case: &str,
    token: &str,
    target: &str,
    note: &str,
    file_name: &str,
    content: &[u8],
) -> common::TestResponse {
    let boundary = "----triage-attachment-boundary-91b2";
    let mut body: Vec<u8> = Vec::new();
    for (name, value) in [("_csrf", token), ("target", target), ("note", note)] {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{}\"\r\nContent-Type: application/octet-stream\r\n\r\n",
            file_name.replace('"', "%22")
        )
        .as_bytes(),
    );
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    client
        .send(
            Request::post(format!("/assessments/{case}/attachments"))
                .header(
                    header::CONTENT_TYPE,
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(Body::from(body))
                .expect("request"),
        )
        .await
}

/// A submitted case with the export-control check ticked as a mitigation.
async fn case_with_mitigation(app: &TestApp) -> String {
    let project = app.create_project("Battery materials with Fudan").await;
    let id = app.start_assessment(&project).await;
    app.save_step(
        &id,
        1,
        &[("area", "green_development"), ("sub_area", "green_grid")],
    )
    .await;
    app.save_step(&id, 9, &[("mitigations", "export_control_check")])
        .await;
    assert_eq!(app.submit(&id).await.status, StatusCode::SEE_OTHER);
    id
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&app.db.pool)
        .await
        .expect("count")
}

#[tokio::test]
async fn a_pdf_and_an_image_are_stored_hashed_listed_and_downloaded_as_attachments() {
    let (app, dir) = app_with_store(25 * 1024 * 1024).await;
    let case = case_with_mitigation(&app).await;
    let document = pdf(0);
    let r = upload(
        &app,
        &case,
        "mitigation:export_control_check",
        "Signed by the export-control officer",
        "export-check.pdf",
        &document,
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = upload(&app, &case, "case", "", "lab photo.PNG", &PNG).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    let page = app.get(&format!("/assessments/{case}/attachments")).await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains("export-check.pdf");
    page.assert_contains(&sha256(&document));
    page.assert_contains("Mitigation: Export-control check");
    page.assert_contains("Signed by the export-control officer");
    page.assert_contains("lab photo.PNG");
    page.assert_contains(&sha256(&PNG));
    page.assert_contains("image/png");

    // The case page and the printable report list each file with its SHA-256, and the
    // record digest covers them.
    let case_page = app.get(&format!("/assessments/{case}")).await;
    case_page.assert_contains(&sha256(&document));
    let report = app.get(&format!("/assessments/{case}/report")).await;
    report.assert_contains("Evidence and attachments");
    report.assert_contains(&sha256(&PNG));
    report.assert_contains("attached files' SHA-256");

    // The bytes are in the local store, under keys triage chose.
    let stored = files_under(&dir);
    assert_eq!(stored.len(), 2, "{stored:?}");
    assert!(stored.iter().all(|p| p.starts_with(dir.join("cases"))));

    // A reviewer downloads the PDF: the same bytes, as an attachment, never sniffed.
    let (_, reviewer) = app.signed_in("reviewer", None).await;
    let id: Uuid =
        sqlx::query_scalar("SELECT id FROM attachments WHERE file_name = 'export-check.pdf'")
            .fetch_one(&app.db.pool)
            .await
            .expect("the PDF's record");
    let r = reviewer
        .get(&format!("/assessments/{case}/attachments/{id}"))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.bytes, document);
    assert_eq!(r.headers[header::CONTENT_TYPE], "application/pdf");
    assert_eq!(r.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    let disposition = r.headers[header::CONTENT_DISPOSITION]
        .to_str()
        .expect("ascii");
    assert!(
        disposition.starts_with("attachment; filename=\"export-check.pdf\""),
        "{disposition}"
    );
    // Every download is audited, with the file's digest.
    let audited = count(
        &app,
        &format!(
            "SELECT count(*) FROM audit_log WHERE action = 'attachment.download' AND details->>'sha256' = '{}'",
            sha256(&document)
        ),
    )
    .await;
    assert_eq!(audited, 1);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM audit_log WHERE action = 'attachment.add'"
        )
        .await,
        2
    );
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn a_file_whose_name_lies_about_its_content_is_refused_and_the_form_kept() {
    let (app, dir) = app_with_store(25 * 1024 * 1024).await;
    let case = app.submitted_case("Lying extension").await;
    // An image called a PDF.
    let r = upload(&app, &case, "case", "The data plan", "data-plan.pdf", &PNG).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    r.assert_contains("its content is a PNG image");
    r.assert_contains("href=\"#file\"");
    r.assert_contains("The data plan");
    // A program called a PDF: not a kind triage accepts at all.
    let mut program = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00".to_vec();
    program.resize(512, 0);
    let r = upload(&app, &case, "case", "", "report.pdf", &program).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    r.assert_contains("which triage does not accept");
    // Text called a PDF.
    let r = upload(&app, &case, "case", "", "notes.pdf", b"just some notes\n").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(count(&app, "SELECT count(*) FROM attachments").await, 0);
    assert!(files_under(&dir).is_empty(), "{:?}", files_under(&dir));
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn an_oversized_file_is_refused_with_the_form_kept_and_nothing_left_in_the_store() {
    let (app, dir) = app_with_store(100_000).await;
    let case = case_with_mitigation(&app).await;
    let big = pdf(180_000);
    let r = upload(
        &app,
        &case,
        "mitigation:export_control_check",
        "Scanned at 600 dpi",
        "scan.pdf",
        &big,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    r.assert_contains("larger than 100 KB");
    r.assert_contains("Scanned at 600 dpi");
    r.assert_contains("value=\"mitigation:export_control_check\" selected");
    assert_eq!(count(&app, "SELECT count(*) FROM attachments").await, 0);
    assert!(files_under(&dir).is_empty(), "{:?}", files_under(&dir));
    // Within the limit, the same kind of file is taken.
    let r = upload(&app, &case, "case", "", "small.pdf", &pdf(50_000)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn a_name_with_path_characters_is_cut_to_its_last_part_and_stored_under_trials_key() {
    let (app, dir) = app_with_store(25 * 1024 * 1024).await;
    let case = app.submitted_case("Path characters").await;
    let r = upload(
        &app,
        &case,
        "case",
        "",
        "..\\..\\windows\\..\\../../etc/evidence:1.txt",
        b"Export-control officer: checked on 2026-12-01.\n",
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let (id, name): (Uuid, String) = sqlx::query_as("SELECT id, file_name FROM attachments")
        .fetch_one(&app.db.pool)
        .await
        .expect("the record");
    assert_eq!(name, "evidence_1.txt");
    let r = app
        .get(&format!("/assessments/{case}/attachments/{id}"))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers[header::CONTENT_TYPE], "text/plain; charset=utf-8");
    assert!(
        r.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .expect("ascii")
            .starts_with("attachment; filename=\"evidence_1.txt\"")
    );
    let stored = files_under(&dir);
    assert_eq!(stored.len(), 1);
    assert!(stored[0].starts_with(dir.join("cases").join(&case)));
    assert!(!stored[0].to_string_lossy().contains("evidence"));
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn another_institution_gets_404_and_a_missing_token_stores_nothing() {
    let (app, dir) = app_with_store(25 * 1024 * 1024).await;
    let case = app.submitted_case("Kept to institution A").await;
    let r = upload(&app, &case, "case", "", "plan.pdf", &pdf(0)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let id: Uuid = sqlx::query_scalar("SELECT id FROM attachments")
        .fetch_one(&app.db.pool)
        .await
        .expect("the record");
    let (_, other) = app.signed_in("officer", Some(app.institution_b)).await;
    let download = format!("/assessments/{case}/attachments/{id}");
    let r = other.get(&download).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(!r.bytes.starts_with(b"%PDF"));
    assert_eq!(
        other
            .get(&format!("/assessments/{case}/attachments"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let r = upload(&other, &case, "case", "", "other.pdf", &pdf(0)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // The file of one case is not reachable through another case's address.
    let mine = app.submitted_case("Another case of A").await;
    assert_eq!(
        app.get(&format!("/assessments/{mine}/attachments/{id}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // A form without the session's token is refused before the file is read.
    let r = upload_with_token(&app, &case, "forged", "case", "", "forged.pdf", &pdf(0)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(count(&app, "SELECT count(*) FROM attachments").await, 1);
    assert_eq!(files_under(&dir).len(), 1);
    assert!(
        count(
            &app,
            "SELECT count(*) FROM audit_log WHERE action = 'access.csrf'"
        )
        .await
            >= 1
    );
    std::fs::remove_dir_all(dir).ok();
}
