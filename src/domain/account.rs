//! Accounts: roles and the validation of account forms.

use super::answers::FieldError;
use super::text::{Text, TextError};

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Grant-office officer: records and edits its own institution's cases.
    Officer,
    /// Reviewer: reads every submitted case, comments, returns and decides.
    Reviewer,
    /// Administrator: users, institutions, the register, settings, the audit log.
    Admin,
}

impl Role {
    pub fn code(self) -> &'static str {
        match self {
            Role::Officer => "officer",
            Role::Reviewer => "reviewer",
            Role::Admin => "admin",
        }
    }
    pub fn word(self) -> &'static str {
        match self {
            Role::Officer => "Grant-office officer",
            Role::Reviewer => "Reviewer",
            Role::Admin => "Administrator",
        }
    }
    pub fn parse(code: &str) -> Option<Role> {
        match code {
            "officer" => Some(Role::Officer),
            "reviewer" => Some(Role::Reviewer),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
    pub const ALL: [Role; 3] = [Role::Officer, Role::Reviewer, Role::Admin];
}

/// The role options of account forms: the three roles, and "lead officer" (an officer
/// who may invite officers of their own institution).
pub const ROLE_OPTIONS: [(&str, &str); 4] = [
    ("officer", "Grant-office officer"),
    (
        "lead_officer",
        "Lead officer (an officer who may invite for their institution)",
    ),
    ("reviewer", "Reviewer"),
    ("admin", "Administrator"),
];

/// A role option as chosen in a form: the role, and whether the officer is a lead officer.
pub fn parse_role_option(code: &str) -> Option<(Role, bool)> {
    match code {
        "lead_officer" => Some((Role::Officer, true)),
        other => Role::parse(other).map(|r| (r, false)),
    }
}

/// The form option of an account's role.
pub fn role_option(role: Role, lead_officer: bool) -> &'static str {
    if lead_officer && role == Role::Officer {
        "lead_officer"
    } else {
        role.code()
    }
}

/// The code, as stored.
impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// Shortest password accepted (OWASP ASVS 2.1.1 asks for at least 12 characters).
pub const MIN_PASSWORD: usize = 12;
const MAX_PASSWORD: usize = 128;
/// The longest email address (RFC 5321 allows 254 characters in a path).
pub const MAX_EMAIL: usize = 254;
/// The longest display or institution name.
pub const MAX_NAME: usize = 200;

/// An email address normalised for comparison, or a message.
pub fn parse_email(raw: &str) -> Result<String, String> {
    let wrong = || "Enter an email address like name@example.org.".to_owned();
    let email = Text::<MAX_EMAIL>::parse(raw).map_err(|_| wrong())?;
    let valid = email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
    }) && !email.chars().any(char::is_whitespace);
    if valid {
        Ok(email.to_lowercase())
    } else {
        Err(wrong())
    }
}

/// Checks a new password against the policy: long enough, and not common, breached or
/// a simple pattern (zxcvbn's bundled lists of common and leaked passwords, names and
/// words, keyboard walks and repeats; no network is used). `context` holds what else
/// the person typed (email, name): a password built from it is refused too.
pub fn check_password(password: &str, context: &[&str]) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_PASSWORD {
        return Err(format!(
            "Use at least {MIN_PASSWORD} characters; a short sentence is easy to remember."
        ));
    }
    if n > MAX_PASSWORD {
        return Err(format!("Use at most {MAX_PASSWORD} characters."));
    }
    if password.chars().any(char::is_control) {
        return Err(TextError::Control.message());
    }
    let strength = zxcvbn::zxcvbn(password, context);
    if (strength.score() as u8) < 3 {
        return Err(
            "This password is too easy to guess: it is common, has appeared in breaches, or \
             follows a simple pattern. A few unrelated words make a strong one."
                .to_owned(),
        );
    }
    Ok(())
}

/// The fields of a new account, as typed.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct NewUserInput {
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub institution_id: String,
    pub password: String,
}

/// A valid new account; the institution is checked against the database by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub email: String,
    pub display_name: Text<MAX_NAME>,
    pub role: Role,
    /// An officer who may invite officers of their own institution.
    pub lead_officer: bool,
    pub institution_id: Option<uuid::Uuid>,
    pub password: String,
}

impl NewUserInput {
    pub fn parse(&self) -> Result<NewUser, Vec<FieldError>> {
        let mut errors = Vec::new();
        let email = parse_email(&self.email)
            .map_err(|m| errors.push(FieldError::new("email", m)))
            .ok();
        let display_name = match Text::<MAX_NAME>::required(&self.display_name) {
            Ok(name) => Some(name),
            Err(TextError::Control) => {
                errors.push(FieldError::new(
                    "display_name",
                    TextError::Control.message(),
                ));
                None
            }
            Err(_) => {
                errors.push(FieldError::new(
                    "display_name",
                    "Give a name of 1 to 200 characters.",
                ));
                None
            }
        };
        let option = parse_role_option(&self.role);
        let role = option.map(|(r, _)| r);
        if role.is_none() {
            errors.push(FieldError::new("role", "Choose a role."));
        }
        let institution_id = match self.institution_id.trim() {
            "" => None,
            raw => match uuid::Uuid::parse_str(raw) {
                Ok(id) => Some(id),
                Err(_) => {
                    errors.push(FieldError::new(
                        "institution_id",
                        "Choose an institution from the list.",
                    ));
                    None
                }
            },
        };
        if role == Some(Role::Officer)
            && institution_id.is_none()
            && !errors.iter().any(|e| e.field == "institution_id")
        {
            errors.push(FieldError::new(
                "institution_id",
                "An officer belongs to an institution.",
            ));
        }
        if let Err(m) = check_password(&self.password, &[&self.email, &self.display_name]) {
            errors.push(FieldError::new("password", m));
        }
        match (email, role, display_name) {
            (Some(email), Some(role), Some(display_name)) if errors.is_empty() => Ok(NewUser {
                email,
                display_name,
                role,
                lead_officer: option.is_some_and(|(_, lead)| lead),
                institution_id: if role == Role::Officer {
                    institution_id
                } else {
                    None
                },
                password: self.password.clone(),
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_lowercased_and_checked() {
        assert_eq!(
            parse_email("  Ana@Example.ORG "),
            Ok("ana@example.org".to_owned())
        );
        for bad in [
            "",
            "ana",
            "ana@",
            "@example.org",
            "ana@example",
            "a b@example.org",
            "ana@.org",
        ] {
            assert!(parse_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn short_common_and_patterned_passwords_are_refused() {
        assert!(check_password("short", &[]).is_err());
        for weak in [
            "aaaaaaaaaaaa",
            "password1234",
            "qwertyuiopasdf",
            "123456789012",
            "Password2024!",
        ] {
            assert!(check_password(weak, &[]).is_err(), "{weak}");
        }
        assert!(check_password("ana.jansen@example.org", &["ana.jansen@example.org"]).is_err());
        for strong in [
            "correct horse battery staple",
            "lantern kestrel orchard 1887",
        ] {
            assert!(check_password(strong, &[]).is_ok(), "{strong}");
        }
    }

    #[test]
    fn an_officer_needs_an_institution_and_others_get_none() {
        let input = NewUserInput {
            email: "o@example.org".into(),
            display_name: "O".into(),
            role: "officer".into(),
            password: "lantern kestrel orchard 1887".into(),
            ..Default::default()
        };
        assert_eq!(
            input.parse().expect_err("no institution")[0].field,
            "institution_id"
        );
        let reviewer = NewUserInput {
            role: "reviewer".into(),
            institution_id: uuid::Uuid::new_v4().to_string(),
            ..input
        };
        assert_eq!(reviewer.parse().expect("valid").institution_id, None);
    }
}
