//! Attachments as the domain sees them: what a file is evidence for, which kinds of file
//! are accepted (recognised from the content, with a name that must fit it), and how a
//! name given by a browser is made safe to store and show.

use uuid::Uuid;

/// What a file is evidence for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The case as a whole.
    Case,
    /// One of the case's ticked mitigations, by code.
    Mitigation(String),
    /// A comment on the case.
    Comment(Uuid),
}

impl Target {
    /// The stored pair (kind, reference).
    pub fn parts(&self) -> (&'static str, String) {
        match self {
            Target::Case => ("case", String::new()),
            Target::Mitigation(code) => ("mitigation", code.clone()),
            Target::Comment(id) => ("comment", id.to_string()),
        }
    }

    /// Reads a stored pair; anything else is `None` (an error for the caller).
    pub fn from_parts(kind: &str, reference: &str) -> Option<Target> {
        match (kind, reference) {
            ("case", "") => Some(Target::Case),
            ("mitigation", code) if !code.is_empty() => Some(Target::Mitigation(code.to_owned())),
            ("comment", id) => Uuid::parse_str(id).ok().map(Target::Comment),
            _ => None,
        }
    }

    /// The form's value: `case`, `mitigation:CODE` or `comment:ID`.
    pub fn form_value(&self) -> String {
        match self {
            Target::Case => "case".to_owned(),
            Target::Mitigation(code) => format!("mitigation:{code}"),
            Target::Comment(id) => format!("comment:{id}"),
        }
    }

    /// Reads the form's value; the caller checks that the mitigation or comment belongs
    /// to the case.
    pub fn from_form(value: &str) -> Option<Target> {
        let value = value.trim();
        if value == "case" {
            return Some(Target::Case);
        }
        let (kind, reference) = value.split_once(':')?;
        match kind {
            "mitigation" | "comment" => Target::from_parts(kind, reference),
            _ => None,
        }
    }
}

/// A kind of file triage accepts, as recognised from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    /// The media type the file is stored and served with.
    pub media_type: &'static str,
    /// What it is, in words ("a PDF document").
    pub description: &'static str,
    /// The name endings that fit it; the first is suggested.
    pub extensions: &'static [&'static str],
}

/// Accepted kinds recognised by their content signature (media types as the sniffing
/// crate names them).
const SIGNED_KINDS: &[Kind] = &[
    Kind {
        media_type: "application/pdf",
        description: "a PDF document",
        extensions: &["pdf"],
    },
    Kind {
        media_type: "image/png",
        description: "a PNG image",
        extensions: &["png"],
    },
    Kind {
        media_type: "image/jpeg",
        description: "a JPEG image",
        extensions: &["jpg", "jpeg"],
    },
    Kind {
        media_type: "image/gif",
        description: "a GIF image",
        extensions: &["gif"],
    },
    Kind {
        media_type: "image/webp",
        description: "a WebP image",
        extensions: &["webp"],
    },
    Kind {
        media_type: "image/tiff",
        description: "a TIFF image",
        extensions: &["tif", "tiff"],
    },
    Kind {
        media_type: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        description: "a Word document",
        extensions: &["docx"],
    },
    Kind {
        media_type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        description: "an Excel workbook",
        extensions: &["xlsx"],
    },
    Kind {
        media_type: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        description: "a PowerPoint presentation",
        extensions: &["pptx"],
    },
    Kind {
        media_type: "application/msword",
        description: "a Word 97-2003 document",
        extensions: &["doc"],
    },
    Kind {
        media_type: "application/vnd.ms-excel",
        description: "an Excel 97-2003 workbook",
        extensions: &["xls"],
    },
    Kind {
        media_type: "application/vnd.ms-powerpoint",
        description: "a PowerPoint 97-2003 presentation",
        extensions: &["ppt"],
    },
    Kind {
        media_type: "application/vnd.oasis.opendocument.text",
        description: "an OpenDocument text",
        extensions: &["odt"],
    },
    Kind {
        media_type: "application/vnd.oasis.opendocument.spreadsheet",
        description: "an OpenDocument spreadsheet",
        extensions: &["ods"],
    },
    Kind {
        media_type: "application/vnd.oasis.opendocument.presentation",
        description: "an OpenDocument presentation",
        extensions: &["odp"],
    },
    Kind {
        media_type: "application/rtf",
        description: "an RTF document",
        extensions: &["rtf"],
    },
];

/// Plain text has no signature: a file with none is text when it is valid UTF-8 without
/// NUL bytes (checked while it streams) and is named as text.
const TEXT_KINDS: &[Kind] = &[
    Kind {
        media_type: "text/plain; charset=utf-8",
        description: "a text file",
        extensions: &["txt", "text", "md"],
    },
    Kind {
        media_type: "text/csv; charset=utf-8",
        description: "a CSV file",
        extensions: &["csv"],
    },
];

/// What the sniffer saw in the first bytes of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed<'a> {
    /// A content signature, by media type and what the sniffer calls the kind.
    Signature {
        media_type: &'a str,
        extension: &'a str,
    },
    /// No signature, and the first bytes could be text.
    MaybeText,
    /// No signature, and the first bytes are binary.
    Unknown,
}

/// The ending of a file name, lower-cased, without the dot.
pub fn extension(name: &str) -> Option<String> {
    let (stem, ext) = name.rsplit_once('.')?;
    (!stem.is_empty() && !ext.is_empty()).then(|| ext.to_lowercase())
}

fn listed(kinds: &[&Kind]) -> String {
    kinds
        .iter()
        .flat_map(|k| k.extensions.iter().take(1))
        .map(|e| format!(".{e}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The kinds accepted, for the form's hint.
pub fn accepted_endings() -> String {
    let all: Vec<&Kind> = SIGNED_KINDS.iter().chain(TEXT_KINDS).collect();
    listed(&all)
}

/// Decides whether a file is accepted from what its content is and what it is called.
/// The error says why, in words for the person who chose the file.
pub fn classify(sniffed: Sniffed<'_>, name: &str) -> Result<Kind, String> {
    let ending = extension(name);
    let fits = |kind: &Kind| {
        ending
            .as_deref()
            .is_some_and(|e| kind.extensions.contains(&e))
    };
    match sniffed {
        Sniffed::Signature {
            media_type,
            extension: seen,
        } => {
            let Some(kind) = SIGNED_KINDS.iter().find(|k| k.media_type == media_type) else {
                return Err(format!(
                    "The content of “{name}” is a .{seen} file ({media_type}), which triage does not accept. \
                     Attach a PDF, an image, an Office or OpenDocument file, or plain text ({}).",
                    accepted_endings()
                ));
            };
            if fits(kind) {
                Ok(*kind)
            } else {
                Err(format!(
                    "The file is called “{name}” but its content is {}. \
                     Rename it to end in .{} if that is what it is, or choose the right file.",
                    kind.description, kind.extensions[0]
                ))
            }
        }
        Sniffed::MaybeText => match TEXT_KINDS.iter().find(|k| fits(k)) {
            Some(kind) => Ok(*kind),
            None => Err(format!(
                "The content of “{name}” is not a kind of file triage recognises from its content \
                 (it looks like text, but the name does not end in .txt, .md or .csv). \
                 Attach a PDF, an image, an Office or OpenDocument file, or plain text ({}).",
                accepted_endings()
            )),
        },
        Sniffed::Unknown => Err(format!(
            "The content of “{name}” is not a kind of file triage accepts. \
             Attach a PDF, an image, an Office or OpenDocument file, or plain text ({}).",
            accepted_endings()
        )),
    }
}

/// Whether the first bytes of a file could begin a UTF-8 text: no NUL bytes, and valid
/// UTF-8 apart from a sequence cut off at the end.
pub fn could_be_text(head: &[u8]) -> bool {
    if head.contains(&0) {
        return false;
    }
    match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    }
}

/// Checks UTF-8 a chunk at a time, carrying a sequence cut between chunks.
#[derive(Debug, Default)]
pub struct Utf8Check {
    carry: Vec<u8>,
    bad: bool,
}

impl Utf8Check {
    pub fn feed(&mut self, chunk: &[u8]) {
        if self.bad {
            return;
        }
        let mut bytes = std::mem::take(&mut self.carry);
        bytes.extend_from_slice(chunk);
        if bytes.contains(&0) {
            self.bad = true;
            return;
        }
        match std::str::from_utf8(&bytes) {
            Ok(_) => {}
            Err(e) if e.error_len().is_none() => {
                self.carry = bytes[e.valid_up_to()..].to_vec();
            }
            Err(_) => self.bad = true,
        }
    }

    /// Whether everything fed was valid UTF-8 without NUL bytes.
    pub fn finish(self) -> bool {
        !self.bad && self.carry.is_empty()
    }
}

/// The name a file is stored and shown under: only its last path component (browsers and
/// tools may send `C:\dir\file` or `../../x`), without control characters, quotes, or
/// characters that mean something to a file system or a header; no leading dots; at most
/// 200 characters. Never used as a storage key.
pub fn sanitise_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .map(|c| {
            if c.is_control()
                || matches!(
                    c,
                    '"' | '\'' | '<' | '>' | ':' | '*' | '?' | '|' | ';' | '%'
                )
            {
                '_'
            } else {
                c
            }
        })
        .collect();
    let trimmed = cleaned.trim().trim_start_matches('.').trim();
    let mut name: String = trimmed.chars().take(200).collect();
    // Keep the ending when a long name was cut.
    if trimmed.chars().count() > 200
        && let Some(ext) = extension(trimmed)
    {
        let keep = 200 - ext.chars().count() - 1;
        name = trimmed.chars().take(keep).collect::<String>() + "." + &ext;
    }
    if name.is_empty() {
        "file".to_owned()
    } else {
        name
    }
}

/// The file name for a `Content-Disposition` header's plain `filename` parameter: ASCII
/// only (others become `_`); the full name goes in `filename*`.
pub fn ascii_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Percent-encodes a name for `filename*=UTF-8''...` (RFC 8187 attr-char kept).
pub fn rfc8187(name: &str) -> String {
    let mut out = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A size in words ("1.2 MB", "830 KB", "12 bytes").
pub fn size_words(bytes: i64) -> String {
    if bytes >= 1_000_000 {
        format!("{:.1} MB", bytes as f64 / 1_000_000.0)
    } else if bytes >= 1_000 {
        format!("{} KB", bytes / 1_000)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_their_path_and_dangerous_characters() {
        assert_eq!(sanitise_name("../../etc/passwd"), "passwd");
        assert_eq!(sanitise_name("C:\\Users\\x\\plan.pdf"), "plan.pdf");
        assert_eq!(sanitise_name("..hidden.txt"), "hidden.txt");
        assert_eq!(sanitise_name("a\"b<c>.pdf"), "a_b_c_.pdf");
        assert_eq!(sanitise_name("line\nbreak.txt"), "line_break.txt");
        assert_eq!(sanitise_name("/"), "file");
        assert_eq!(sanitise_name("数据管理计划.pdf"), "数据管理计划.pdf");
        let long = format!("{}.pdf", "x".repeat(300));
        let cut = sanitise_name(&long);
        assert_eq!(cut.chars().count(), 200);
        assert!(cut.ends_with(".pdf"));
    }

    #[test]
    fn the_content_decides_and_the_name_must_fit_it() {
        let pdf = Sniffed::Signature {
            media_type: "application/pdf",
            extension: "pdf",
        };
        assert_eq!(
            classify(pdf, "plan.PDF").unwrap().media_type,
            "application/pdf"
        );
        let lie = classify(pdf, "photo.png").unwrap_err();
        assert!(lie.contains("a PDF document"), "{lie}");
        let exe = Sniffed::Signature {
            media_type: "application/vnd.microsoft.portable-executable",
            extension: "exe",
        };
        assert!(classify(exe, "plan.pdf").is_err());
        assert!(classify(Sniffed::MaybeText, "notes.txt").is_ok());
        assert!(classify(Sniffed::MaybeText, "notes.pdf").is_err());
        assert!(classify(Sniffed::Unknown, "blob.txt").is_err());
        assert!(classify(pdf, "no-ending").is_err());
    }

    #[test]
    fn utf8_is_checked_across_chunks() {
        let text = "Ein Datenmanagementplan für 数据".as_bytes();
        let mut check = Utf8Check::default();
        for chunk in text.chunks(3) {
            check.feed(chunk);
        }
        assert!(check.finish());
        let mut bad = Utf8Check::default();
        bad.feed(&[0x66, 0xff, 0x66]);
        assert!(!bad.finish());
        let mut cut = Utf8Check::default();
        cut.feed(&[0x66, 0xe6]);
        assert!(!cut.finish());
        assert!(!could_be_text(b"a\0b"));
    }

    #[test]
    fn targets_round_trip() {
        let id = Uuid::new_v4();
        for t in [
            Target::Case,
            Target::Mitigation("export_check".into()),
            Target::Comment(id),
        ] {
            assert_eq!(Target::from_form(&t.form_value()), Some(t.clone()));
            let (k, r) = t.parts();
            assert_eq!(Target::from_parts(k, &r), Some(t));
        }
        assert_eq!(Target::from_form("comment:nope"), None);
        assert_eq!(Target::from_form("other:x"), None);
        assert_eq!(Target::from_parts("case", "x"), None);
    }

    #[test]
    fn header_names_are_safe() {
        assert_eq!(ascii_name("plan ü.pdf"), "plan _.pdf");
        assert_eq!(rfc8187("plan ü.pdf"), "plan%20%C3%BC.pdf");
    }
}
