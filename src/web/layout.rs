//! What every page shares: the layout data, rendering and formatting helpers.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::error::AppResult;
use crate::state::AppState;
use crate::web::session::Ctx;

/// Data the base layout needs on every page.
pub struct Layout {
    pub title: String,
    /// Which main navigation entry is current.
    pub nav: &'static str,
    pub rulebook_version: String,
    /// A one-off confirmation after a redirect ("Draft saved").
    pub notice: Option<&'static str>,
    /// The session's CSRF token, put in every form.
    pub csrf: String,
    /// The signed-in user's name, if any.
    pub user_name: Option<String>,
    /// The signed-in user's role code ("officer", "reviewer", "admin"), or "".
    pub role: &'static str,
    /// No administrator exists yet: the page points visitors to the setup address in
    /// the server's log.
    pub setup_pending: bool,
}

impl Layout {
    pub fn new(state: &AppState, ctx: &Ctx, title: impl Into<String>, nav: &'static str) -> Self {
        Layout {
            title: title.into(),
            nav,
            rulebook_version: state.rulebook_now().version().to_owned(),
            notice: None,
            csrf: ctx.csrf.clone(),
            user_name: ctx.user.as_ref().map(|u| u.display_name.clone()),
            role: ctx.user.as_ref().map_or("", |u| u.role().code()),
            setup_pending: ctx.user.is_none() && state.setup_pending(),
        }
    }

    pub fn with_notice(mut self, notice: Option<&'static str>) -> Self {
        self.notice = notice;
        self
    }
}

/// Renders a page with a status; a template error becomes a logged 500.
pub fn render(status: StatusCode, page: &impl Template) -> AppResult<Response> {
    Ok((status, Html(page.render()?)).into_response())
}

/// Renders a page with 200 OK.
pub fn ok(page: &impl Template) -> AppResult<Response> {
    render(StatusCode::OK, page)
}

/// "2026-11-28 19:45 UTC".
pub fn datetime(t: &OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(format_description!(
            "[year]-[month]-[day] [hour]:[minute] UTC"
        ))
        .unwrap_or_default()
}

/// The fixed confirmations a redirect can ask for with `?notice=`; never user text.
pub fn notice(code: Option<&str>) -> Option<&'static str> {
    match code? {
        "saved" => Some("Draft saved. You can leave and resume at any time."),
        "created" => Some("Project created."),
        "draft_deleted" => Some("Draft deleted. The audit log keeps a record of it."),
        "project_updated" => Some("Project details saved."),
        "attached" => Some("File attached. Its SHA-256 is listed beside it."),
        "mitigations_saved" => Some("The mitigations' status is recorded."),
        "started" => Some("Assessment started. Your answers are saved at every step."),
        "submitted" => Some("Assessment submitted. The answers are now locked."),
        "signed_in" => Some("Signed in."),
        "signed_out" => Some("Signed out."),
        "half_signed_in_expired" => Some(
            "The sign-in was not finished in time. Sign in again with your password, then the code.",
        ),
        "commented" => Some("Comment added."),
        "returned" => Some("Case returned to the officer with your request."),
        "decided" => Some("Decision recorded."),
        "cosign_pending" => Some(
            "Decision recorded. It lowers a verdict this installation protects, so it takes effect when a second reviewer co-signs it.",
        ),
        "cosigned" => Some("Decision co-signed. It is now in effect."),
        "reopened" => Some("Decision reopened. The case waits for a decision again."),
        "assigned" => Some("Assignment saved."),
        "mail_delivery" => Some("Mail choice saved."),
        "answered" => {
            Some("Answer saved. When every request is answered, submit the assessment again.")
        }
        "password" => Some("Password changed."),
        "totp_on" => Some("Two-factor sign-in is on."),
        "totp_off" => Some("Two-factor sign-in is off."),
        "user_created" => Some("Account created."),
        "user_updated" => Some("Account updated."),
        "institution_created" => Some("Institution added."),
        "setup_done" => Some(
            "Setup finished: you are signed in as the first administrator. Invite the other accounts from Accounts.",
        ),
        "reset_sent" => Some(
            "If an account has this address, a link to choose a new password is on its way. It works once, within an hour.",
        ),
        "password_reset" => Some(
            "Your password was changed and every other session of your account has ended. Sign in with the new password.",
        ),
        "invited" => Some("Invitation sent. The link in it works once, within 72 hours."),
        "invitation_resent" => {
            Some("Invitation sent again with a new link; the old link no longer works.")
        }
        "invitation_revoked" => Some("Invitation revoked; its link no longer works."),
        "invitation_accepted" => Some("Welcome. Your account is ready and you are signed in."),
        "force_reset" => {
            Some("A password-reset link was sent to the account and its sessions have ended.")
        }
        "totp_reset" => Some(
            "Two-factor sign-in was reset; the account enrols again at its next sign-in when it is required.",
        ),
        "institution_renamed" => Some("Institution renamed."),
        "institution_merged" => Some("Institutions merged: the cases and accounts moved."),
        "institution_deactivated" => {
            Some("Institution deactivated: its accounts can no longer sign in.")
        }
        "institution_activated" => Some("Institution active again."),
        "sso_saved" => Some("Single sign-on settings saved."),
        "register_imported" => Some(
            "Partner register imported. Submitted cases are being screened again in the background.",
        ),
        "upload_discarded" => Some("Upload discarded; the register is unchanged."),
        "register_saved" => Some(
            "Register entry saved. Submitted cases are being screened again in the background.",
        ),
        "register_removed" => Some(
            "Register entry removed. Submitted cases are being screened again in the background.",
        ),
        "match_dismissed" => {
            Some("Register match dismissed; the computed verdict was recalculated.")
        }
        "screening_acknowledged" => Some("Screening change acknowledged."),
        "settings" => Some("Settings saved."),
        "rulebook_activated" => Some(
            "Rulebook activated. Every app server evaluates with it from its next request; stored assessments keep their verdicts.",
        ),
        _ => None,
    }
}

/// The query string that carries a notice.
#[derive(Debug, Default, serde::Deserialize)]
pub struct NoticeQuery {
    pub notice: Option<String>,
}
