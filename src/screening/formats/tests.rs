//! Register files: each format read, recognised from its content, and refused with
//! the line and field at fault.

use super::*;
use crate::screening::entry::{FlagKind, NameKind};

fn csl_row(fields: &[(&str, &str)]) -> String {
    csl::HEADER
        .iter()
        .map(|h| {
            let value = fields.iter().find(|(k, _)| k == h).map_or("", |(_, v)| *v);
            if value.contains(',') || value.contains('"') {
                format!("\"{}\"", value.replace('"', "\"\""))
            } else {
                value.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn csl(rows: &[String]) -> String {
    format!("{}\n{}\n", csl::HEADER.join(","), rows.join("\n"))
}

#[test]
fn the_consolidated_screening_list_is_read_as_published() {
    let text = csl(&[
        csl_row(&[
            ("_id", "a1"),
            (
                "source",
                "Entity List (EL) - Bureau of Industry and Security",
            ),
            ("programs", "EAR"),
            ("name", "Harbin Institute of Technology"),
            (
                "addresses",
                "92 West Dazhi Street, Nan Gang District, Harbin, Heilongjiang, CN",
            ),
            ("federal_register_notice", "85 FR 34495"),
            ("start_date", "2020-06-05"),
            ("license_requirement", "For all items subject to the EAR."),
            ("alt_names", "HIT; Harbin Gongye Daxue; 哈尔滨工业大学"),
            (
                "source_information_url",
                "https://www.bis.doc.gov/index.php/the-denied-persons-list",
            ),
        ]),
        csl_row(&[
            ("_id", "a2"),
            (
                "source",
                "Military End User (MEU) List - Bureau of Industry and Security",
            ),
            ("name", "HARBIN INSTITUTE OF TECHNOLOGY"),
            ("addresses", "Harbin, CN; Shenzhen, CN; Hong Kong, HK"),
            ("start_date", "2021-01-15"),
        ]),
        csl_row(&[
            ("_id", "p1"),
            (
                "source",
                "Specially Designated Nationals (SDN) - Treasury Department",
            ),
            ("type", "Individual"),
            ("name", "ZHANG, Wei"),
        ]),
        csl_row(&[
            ("_id", "p2"),
            (
                "source",
                "Entity List (EL) - Bureau of Industry and Security",
            ),
            ("name", "LI Ming"),
            ("nationalities", "CN"),
        ]),
        csl_row(&[
            ("_id", "v1"),
            (
                "source",
                "Specially Designated Nationals (SDN) - Treasury Department",
            ),
            ("type", "Vessel"),
            ("name", "SEA STAR"),
        ]),
    ]);
    assert_eq!(detect(text.as_bytes()).unwrap(), Format::UsCsl);
    let imported = parse(text.as_bytes()).unwrap();
    assert_eq!(
        imported.entries.len(),
        1,
        "two rows of one organisation become one entry"
    );
    let e = &imported.entries[0];
    assert_eq!(e.id, "us-csl:harbin-institute-of-technology");
    assert_eq!(e.list, List::UsCsl);
    assert_eq!(e.country, "CN, HK");
    assert!(
        e.names
            .iter()
            .any(|n| n.name == "哈尔滨工业大学" && n.kind == NameKind::Chinese)
    );
    assert!(
        e.names
            .iter()
            .any(|n| n.name == "HIT" && n.kind == NameKind::Alias)
    );
    let restricted: Vec<_> = e
        .flags
        .iter()
        .filter(|f| f.flag == FlagKind::RestrictedList)
        .collect();
    assert_eq!(restricted.len(), 2, "one flag per listing");
    assert_eq!(restricted[0].date, "2020-06-05");
    assert!(
        restricted[0].detail.contains("85 FR 34495") && restricted[0].detail.contains("EAR"),
        "{}",
        restricted[0].detail
    );
    assert!(
        e.flags
            .iter()
            .any(|f| f.flag == FlagKind::MilitaryLinks && f.source.contains("Military End User"))
    );
    assert_eq!(
        imported.skipped,
        [
            ("people".to_owned(), 1),
            (
                "people (no type, but a birth date or nationality)".to_owned(),
                1
            ),
            ("vessels".to_owned(), 1)
        ]
    );
}

#[test]
fn opensanctions_entities_are_read_and_filtered_by_schema_and_topic() {
    let lines = [
        r#"{"id":"NK-abc","schema":"Organization","caption":"National University of Defense Technology","properties":{"name":["National University of Defense Technology"],"alias":["NUDT","国防科技大学"],"previousName":["国防科学技术大学"],"country":["cn"],"topics":["export.control"]},"datasets":["us_trade_csl"],"first_seen":"2019-06-24T00:00:00"}"#,
        r#"{"id":"Q1","schema":"Person","properties":{"name":["Someone"],"topics":["sanction"]}}"#,
        r#"{"id":"Q2","schema":"Company","properties":{"name":["Harmless Trading Ltd"],"topics":["role.pep"]}}"#,
        "",
    ];
    let text = lines.join("\n");
    assert_eq!(detect(text.as_bytes()).unwrap(), Format::OpenSanctions);
    let imported = parse(text.as_bytes()).unwrap();
    assert_eq!(imported.entries.len(), 1);
    let e = &imported.entries[0];
    assert_eq!((e.id.as_str(), e.list), ("os:nk-abc", List::OpenSanctions));
    assert!(
        e.names
            .iter()
            .any(|n| n.name == "国防科学技术大学" && n.kind == NameKind::Former)
    );
    assert!(
        e.names
            .iter()
            .any(|n| n.name == "国防科技大学" && n.kind == NameKind::Chinese)
    );
    assert_eq!(e.flags[0].flag, FlagKind::RestrictedList);
    assert_eq!(e.flags[0].date, "2019-06-24");
    assert_eq!(
        e.flags[0].url,
        "https://www.opensanctions.org/entities/NK-abc/"
    );
    assert_eq!(imported.skipped.len(), 2);
}

#[test]
fn the_curated_formats_are_read() {
    let toml = include_str!("../../../register/partner-register.toml");
    assert_eq!(detect(toml.as_bytes()).unwrap(), Format::CuratedToml);
    let imported = parse(toml.as_bytes()).unwrap();
    assert!(imported.entries.iter().all(|e| e.list == List::Curated));
    let csv = "name,aliases,city,province,kind,flags,note,source,as_of\n\
               Harbin Institute of Technology,HIT|哈尔滨工业大学|Harbin Inst. of Technology,Harbin,Heilongjiang,university,military_links|restricted_list,note,US Entity List,2020-06\n";
    let imported = parse(csv.as_bytes()).unwrap();
    let e = &imported.entries[0];
    assert_eq!(e.id, "harbin-institute-of-technology");
    assert_eq!(
        e.names.iter().map(|n| n.kind).collect::<Vec<_>>(),
        [NameKind::Abbreviation, NameKind::Chinese, NameKind::Alias]
    );
    assert_eq!(e.flags.len(), 2);
    assert!(
        e.flags
            .iter()
            .all(|f| f.source == "US Entity List" && f.date == "2020-06")
    );
}

#[test]
fn a_bad_file_is_refused_with_its_line_and_field() {
    let ok = csl_row(&[
        ("_id", "a"),
        (
            "source",
            "Entity List (EL) - Bureau of Industry and Security",
        ),
        ("name", "A Co"),
    ]);
    for (text, expected) in [
        (String::new(), "the file is empty".to_owned()),
        ("hello,world\n1,2\n".to_owned(), "line 1: header: not a register file".to_owned()),
        (
            format!("{}\n{ok}\n", csl::HEADER[..28].join(",")),
            "line 1: header: not the Consolidated Screening List header".to_owned(),
        ),
        (csl(&[ok.clone(), "a,b,c".into()]), "line 3: row: 3 fields instead of 29".into()),
        (
            csl(&[ok.clone(), csl_row(&[("_id", "b"), ("source", "Entity List (EL) - Bureau of Industry and Security"), ("name", "")])]),
            "line 3: name: empty".into(),
        ),
        (
            csl(&[csl_row(&[("_id", "b"), ("source", "SDN"), ("name", "B Co"), ("start_date", "-9999-01-01")])]),
            "line 2: start_date: `-9999-01-01` is not a date".into(),
        ),
        (
            csl(&[csl_row(&[("_id", "b"), ("source", "SDN"), ("name", "B Co"), ("type", "Spaceship")])]),
            "line 2: type: `Spaceship`".into(),
        ),
        (
            "{\"id\":\"a\",\"schema\":\"Company\",\"properties\":{\"topics\":[\"sanction\"],\"name\":[\"A\"]}}\n{not json\n".into(),
            "line 2: JSON:".into(),
        ),
        (
            "{\"schema\":\"Company\",\"properties\":{}}\n".into(),
            "line 1: id: missing".into(),
        ),
        (
            "[[entry]]\nid = \"a\"\nname = \"A\"\nkind = \"ministry\"\n".into(),
            "line 1: entry `a`, kind `ministry`: not one of".into(),
        ),
        (
            "[[entry]]\nid = \"a\"\nname = \"A\"\nkind = \"other\"\n\n[[entry]]\nid = \"b\"\nname = \"B\"\nkind = \"other\"\nparent = \"zzz\"\n".into(),
            "line 6: entry `b`, parent: no entry has the id `zzz`".into(),
        ),
        (
            "[[entry]]\nid = \"a\"\nname = \"A\"\nkind = \"other\"\nparent = \"b\"\n[[entry]]\nid = \"b\"\nname = \"B\"\nkind = \"other\"\nparent = \"a\"\n".into(),
            "line 1: entry `a`, parent: the parents form a cycle".into(),
        ),
        (
            "[[entry]]\nid = \"a\"\nname = \"A\"\nkind = \"other\"\n[[entry.flags]]\nflag = \"restricted_list\"\nsource = \"\"\n".into(),
            "line 1: entry `a`, flag `restricted_list`: the source is empty".into(),
        ),
        (
            "[[entry]]\nid = \"a\"\nname = \"A\"\nkind = \"other\"\ncolour = \"red\"\n".into(),
            "line 5: TOML: unknown field `colour`".into(),
        ),
        (
            "name,aliases,city,province,kind,flags,note,source,as_of\nA,,X,Y,university,spying,,src,\n".into(),
            "line 2: flags: unknown flag `spying`".into(),
        ),
    ] {
        let err = parse(text.as_bytes()).expect_err(&expected).to_string();
        assert!(err.starts_with(&expected), "`{err}` should start with `{expected}`");
    }
}
