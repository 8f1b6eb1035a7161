//! A proposed joint project, validated from raw form input.

use time::Date;

use super::answers::FieldError;
use super::text::{MultiLine, Text, TextError, parse_day};

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
    pub title: Text<200>,
    pub acronym: Option<Text<30>>,
    pub summary: MultiLine<5000>,
    pub lead_researcher: Text<200>,
    pub department: Option<Text<200>>,
    pub planned_start: Option<Date>,
    pub duration_months: Option<i32>,
    pub funding_programme: Option<Text<200>>,
}

/// Keeps the message of a refused text for its field, naming the field.
fn keep<T>(
    errors: &mut Vec<FieldError>,
    field: &str,
    label: &str,
    parsed: Result<T, TextError>,
) -> Option<T> {
    parsed
        .map_err(|e| errors.push(FieldError::new(field, e.message_for(label))))
        .ok()
}

impl ProjectInput {
    /// Validates every field, returning all errors at once.
    pub fn parse(&self) -> Result<NewProject, Vec<FieldError>> {
        let mut errors = Vec::new();
        let e = &mut errors;
        let title = keep(e, "title", "project title", Text::required(&self.title));
        let acronym = keep(e, "acronym", "acronym", Text::optional(&self.acronym));
        let summary = keep(e, "summary", "summary", MultiLine::parse(&self.summary));
        let lead_researcher = keep(
            e,
            "lead_researcher",
            "lead researcher",
            Text::required(&self.lead_researcher),
        );
        let department = keep(
            e,
            "department",
            "department or faculty",
            Text::optional(&self.department),
        );
        let funding_programme = keep(
            e,
            "funding_programme",
            "funding programme",
            Text::optional(&self.funding_programme),
        );

        let planned_start = match parse_day(&self.planned_start) {
            Ok(Some(d)) if (2000..=2100).contains(&d.year()) => Some(d),
            Ok(None) => None,
            Ok(Some(_)) => {
                errors.push(FieldError::new(
                    "planned_start",
                    "Enter a planned start between the years 2000 and 2100, for example 2027-03-01.",
                ));
                None
            }
            Err(_) => {
                errors.push(FieldError::new(
                    "planned_start",
                    "Enter the planned start as a date, for example 2027-03-01.",
                ));
                None
            }
        };
        let duration_months = match self.duration_months.trim() {
            "" => None,
            s => match s.parse::<i32>() {
                Ok(n) if (1..=240).contains(&n) => Some(n),
                _ => {
                    errors.push(FieldError::new(
                        "duration_months",
                        "Enter the duration in months as a whole number from 1 to 240, for example 36.",
                    ));
                    None
                }
            },
        };
        match (
            title,
            acronym,
            summary,
            lead_researcher,
            department,
            funding_programme,
        ) {
            (
                Some(title),
                Some(acronym),
                Some(summary),
                Some(lead_researcher),
                Some(department),
                Some(funding_programme),
            ) if errors.is_empty() => Ok(NewProject {
                title,
                acronym,
                summary,
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
        assert_eq!(p.title.as_str(), "Soil microbiome and drought");
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
