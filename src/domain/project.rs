//! A proposed joint project, validated from raw form input.

use time::Date;
use time::macros::format_description;

use super::answers::FieldError;

/// The project fields as typed, kept verbatim so a form with errors can be shown again.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct ProjectInput {
    pub title: String,
    pub acronym: String,
    pub summary: String,
    pub lead_researcher: String,
    pub department: String,
    pub planned_start: String,
    pub duration_months: String,
    pub funding_programme: String,
}

/// A valid project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProject {
    pub title: String,
    pub acronym: Option<String>,
    pub summary: String,
    pub lead_researcher: String,
    pub department: Option<String>,
    pub planned_start: Option<Date>,
    pub duration_months: Option<i32>,
    pub funding_programme: Option<String>,
}

impl ProjectInput {
    /// Validates every field, returning all errors at once.
    pub fn parse(&self) -> Result<NewProject, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut text = |field: &str, value: &str, required: bool, max: usize| -> Option<String> {
            let v = value.trim();
            if v.is_empty() {
                if required {
                    errors.push(FieldError::new(field, "Required."));
                }
                return None;
            }
            if v.chars().count() > max {
                errors.push(FieldError::new(field, format!("At most {max} characters.")));
                return None;
            }
            if v.chars()
                .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
            {
                errors.push(FieldError::new(field, "Contains control characters."));
                return None;
            }
            Some(v.to_owned())
        };
        let title = text("title", &self.title, true, 200);
        let acronym = text("acronym", &self.acronym, false, 30);
        let summary = text("summary", &self.summary, false, 5000);
        let lead_researcher = text("lead_researcher", &self.lead_researcher, true, 200);
        let department = text("department", &self.department, false, 200);
        let funding_programme = text("funding_programme", &self.funding_programme, false, 200);

        let planned_start = match self.planned_start.trim() {
            "" => None,
            s => match Date::parse(s, format_description!("[year]-[month]-[day]")) {
                Ok(d) if (2000..=2100).contains(&d.year()) => Some(d),
                Ok(_) => {
                    errors.push(FieldError::new(
                        "planned_start",
                        "Give a year between 2000 and 2100.",
                    ));
                    None
                }
                Err(_) => {
                    errors.push(FieldError::new(
                        "planned_start",
                        "Use the form YYYY-MM-DD, e.g. 2027-03-01.",
                    ));
                    None
                }
            },
        };
        let duration_months = match self.duration_months.trim() {
            "" => None,
            s => match s.parse::<i32>() {
                Ok(n) if (1..=240).contains(&n) => Some(n),
                _ => {
                    errors.push(FieldError::new(
                        "duration_months",
                        "A whole number of months from 1 to 240.",
                    ));
                    None
                }
            },
        };
        match (title, lead_researcher) {
            (Some(title), Some(lead_researcher)) if errors.is_empty() => Ok(NewProject {
                title,
                acronym,
                summary: summary.unwrap_or_default(),
                lead_researcher,
                department,
                planned_start,
                duration_months,
                funding_programme,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> ProjectInput {
        ProjectInput {
            title: "  Soil microbiome and drought  ".into(),
            lead_researcher: "Dr. A. Jansen".into(),
            planned_start: "2027-03-01".into(),
            duration_months: "36".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_valid_project_is_trimmed_and_parsed() {
        let p = valid().parse().expect("valid");
        assert_eq!(p.title, "Soil microbiome and drought");
        assert_eq!(p.duration_months, Some(36));
        assert_eq!(p.acronym, None);
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let input = ProjectInput {
            title: " ".into(),
            lead_researcher: "".into(),
            planned_start: "01/03/2027".into(),
            duration_months: "-3".into(),
            acronym: "X".repeat(31),
            ..Default::default()
        };
        let errors = input.parse().expect_err("invalid");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "title",
                "acronym",
                "lead_researcher",
                "planned_start",
                "duration_months"
            ]
        );
    }

    #[test]
    fn control_characters_are_refused() {
        let input = ProjectInput {
            title: "evil\u{0}title".into(),
            ..valid()
        };
        assert_eq!(input.parse().expect_err("invalid")[0].field, "title");
    }
}
