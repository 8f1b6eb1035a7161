//! Screening against the shipped register: real name variants that must be found, real
//! look-alike institutions that must not, and each matching feature on its own.

use super::formats;
use super::index::allowed_edits;
use super::*;

const REGISTER: &str = include_str!("../../register/partner-register.toml");

fn register() -> Register {
    let imported = formats::parse(REGISTER.as_bytes()).expect("the shipped register parses");
    Register::new(imported.entries)
}

const M: Certainty = Certainty::Match;
const P: Certainty = Certainty::Possible;

/// Real ways officers write the partners of the register: with a department after it,
/// before it, in Chinese with a department, and misspelt. Each must find its entry
/// with the given certainty (a misspelt place or distinctive word is only a possible
/// match: a person confirms it).
#[rustfmt::skip]
const MUST_MATCH: &[(&str, &str, Certainty)] = &[
    // Harbin Institute of Technology
    ("Harbin Institute of Technology, School of Physics", "hit", M),
    ("School of Physics, Harbin Institute of Technology", "hit", M),
    ("哈尔滨工业大学物理学院", "hit", M),
    ("Harbin Insitute of Technology", "hit", M),
    ("Dept. of Mechanical Engineering, HIT", "hit", M),
    ("State Key Laboratory of Robotics and System, Harbin Inst. of Tech.", "hit", M),
    ("哈工大航天学院", "hit", M),
    ("HARBIN INSTITUTE OF TECHNOLOGY", "hit", M),
    ("哈爾濱工業大學", "hit", M),
    ("Harbin Institute of Technology (HIT), Harbin, Heilongjiang, P.R. China", "hit", M),
    ("Institute of Technology, Harbin", "hit", M),
    ("Harbim Institute of Technology", "hit", P),
    // its campuses
    ("Harbin Institute of Technology (Shenzhen), School of Computer Science", "hit-shenzhen", M),
    ("School of Science, Harbin Institute of Technology, Shenzhen", "hit-shenzhen", M),
    ("哈尔滨工业大学（深圳）计算机科学与技术学院", "hit-shenzhen", M),
    ("Harbin Institute of Technolgy (Shenzhen)", "hit-shenzhen", M),
    ("Harbin Institute of Technology (Weihai), School of Ocean Engineering", "hit-weihai", M),
    ("School of Ocean Engineering, Harbin Institute of Technology, Weihai", "hit-weihai", M),
    ("哈尔滨工业大学（威海）海洋工程学院", "hit-weihai", M),
    ("Harbin Insitute of Technology, Weihai", "hit-weihai", M),
    // Harbin Engineering University
    ("Harbin Engineering University, College of Underwater Acoustic Engineering", "heu", M),
    ("College of Shipbuilding Engineering, Harbin Engineering University", "heu", M),
    ("哈尔滨工程大学水声工程学院", "heu", M),
    ("Harbin Enginering University", "heu", M),
    // Beihang University
    ("Beihang University, School of Materials Science and Engineering", "beihang", M),
    ("School of Physics, Beihang University", "beihang", M),
    ("北京航空航天大学材料科学与工程学院", "beihang", M),
    ("Beihang Univeristy", "beihang", M),
    ("Beihang, School of Physics", "beihang", M),
    ("Beijing University of Aeronautics & Astronautics, Dept. of Physics", "beihang", M),
    ("北航物理学院", "beihang", M),
    ("Bei-hang University", "beihang", M),
    ("Biehang University", "beihang", P),
    // Northwestern Polytechnical University
    ("Northwestern Polytechnical University, School of Aeronautics", "nwpu", M),
    ("School of Materials Science and Engineering, Northwestern Polytechnical University", "nwpu", M),
    ("西北工业大学航空学院", "nwpu", M),
    ("Northwestern Polytechnical Univrsity", "nwpu", M),
    ("NWPU, Xi'an", "nwpu", M),
    ("Northwestern Polytech. Univ.", "nwpu", M),
    // Beijing Institute of Technology
    ("Beijing Institute of Technology, School of Optics and Photonics", "bit", M),
    ("School of Mechatronical Engineering, Beijing Institute of Technology", "bit", M),
    ("北京理工大学光电学院", "bit", M),
    ("Beijing Insitute of Technology", "bit", M),
    ("Beijng Institute of Technology", "bit", P),
    // Nanjing University of Aeronautics and Astronautics
    ("Nanjing University of Aeronautics and Astronautics, College of Energy and Power Engineering", "nuaa", M),
    ("College of Automation Engineering, Nanjing University of Aeronautics and Astronautics", "nuaa", M),
    ("南京航空航天大学能源与动力学院", "nuaa", M),
    ("Nanjing University of Aeronautics and Astronatics", "nuaa", M),
    // Nanjing University of Science and Technology
    ("Nanjing University of Science and Technology, School of Chemical Engineering", "njust", M),
    ("School of Chemical Engineering, Nanjing University of Science & Technology", "njust", M),
    ("南京理工大学化学与化工学院", "njust", M),
    ("Nanjing University of Sceince and Technology", "njust", M),
    // National University of Defense Technology
    ("National University of Defense Technology, College of Science", "nudt", M),
    ("College of Science, National University of Defence Technology", "nudt", M),
    ("国防科技大学理学院", "nudt", M),
    ("National Univeristy of Defense Technology", "nudt", M),
    ("国防科学技术大学", "nudt", M),
    ("國防科學技術大學理學院", "nudt", M),
    ("Hunan Guofang Keji University", "nudt", M),
    // China Academy of Engineering Physics
    ("China Academy of Engineering Physics, Institute of Fluid Physics", "caep", M),
    ("Institute of Applied Electronics, China Academy of Engineering Physics", "caep", M),
    ("中国工程物理研究院流体物理研究所", "caep", M),
    ("China Acadamy of Engineering Physics", "caep", M),
    ("Ninth Academy", "caep", M),
    // China Aerospace Science and Technology Corporation and two of its institutes
    ("China Aerospace Science and Technology Corporation, 5th Academy", "casc", M),
    ("Beijing Institute of Control Engineering, China Aerospace Science and Technology Corporation", "casc", M),
    ("中国航天科技集团有限公司第五研究院", "casc", M),
    ("China Aerospace Science and Technology Corporaton", "casc", M),
    ("China Aerospace Science and Technology Corporation (CASC) 9th Academy 771 Research Institute, Xi'an", "casc-9a-771", M),
    ("Department of ASIC Design, CASC 9th Academy 771 Research Institute", "casc-9a-771", M),
    ("China Aerospace Science and Technology Corporation 9th Academy 771 Reserch Institute", "casc-9a-771", M),
    ("CASC 9th Academy 772 Research Institute, Beijing", "casc-9a-772", M),
    ("Radiation Hardening Laboratory, China Aerospace Science and Technology Corporation (CASC) 9th Academy 772 Research Institute", "casc-9a-772", M),
    ("China Aerospace Science and Technology Corporation 9th Academy 772 Research Insitute", "casc-9a-772", M),
    // University of Science and Technology of China and its quantum units
    ("University of Science and Technology of China, Department of Modern Physics", "ustc", M),
    ("Department of Chemistry, University of Science and Technology of China", "ustc", M),
    ("中国科学技术大学物理学院", "ustc", M),
    ("University of Science and Tecnology of China", "ustc", M),
    ("USTC, Hefei", "ustc", M),
    ("Hefei National Laboratory for Physical Sciences at Microscale, USTC", "ustc-hfnl", M),
    ("Division of Quantum Physics, Hefei National Laboratory for Physical Sciences at the Microscale", "ustc-hfnl", M),
    ("合肥微尺度物质科学国家研究中心量子物理研究部", "ustc-hfnl", M),
    ("Hefei National Laboratry for Physical Sciences at Microscale", "ustc-hfnl", M),
    ("CAS Key Laboratory of Quantum Information, University of Science and Technology of China", "cas-klqi", M),
    ("Key Laboratory of Quantum Information, Chinese Academy of Sciences", "cas-klqi", M),
    ("Chinese Academy of Sciences Key Laboratory of Quantum Information, Hefei", "cas-klqi", M),
    ("Chinese Academy of Sciences Key Laboratory of Quantum Informaton", "cas-klqi", M),
    ("CAS Centre for Excellence in Quantum Information and Quantum Physics, Hefei", "cas-cfe-qiqp", M),
    ("Hefei, CAS Centre for Excellence in Quantum Information and Quantum Physics", "cas-cfe-qiqp", M),
    ("Chinese Academy of Sciences Center for Excellence in Quantum Informaton and Quantum Physics", "cas-cfe-qiqp", M),
    // Chinese Academy of Sciences, its university and the Institute of Semiconductors
    ("Chinese Academy of Sciences, Institute of Physics", "cas", M),
    ("Institute of Physics, Chinese Academy of Sciences", "cas", M),
    ("中国科学院物理研究所", "cas", M),
    ("Chinese Acadamy of Sciences", "cas", M),
    ("Academy of Sciences, Chinese", "cas", M),
    ("University of Chinese Academy of Sciences, School of Physical Sciences", "ucas", M),
    ("School of Physical Sciences, University of Chinese Academy of Sciences", "ucas", M),
    ("中国科学院大学物理科学学院", "ucas", M),
    ("University of Chinese Acadamy of Sciences", "ucas", M),
    ("Institute of Semiconductors, Chinese Academy of Sciences, State Key Laboratory of Superlattices", "cas-ios", M),
    ("State Key Laboratory for Superlattices and Microstructures, Institute of Semiconductors, Chinese Academy of Sciences", "cas-ios", M),
    ("中国科学院半导体研究所超晶格国家重点实验室", "cas-ios", M),
    ("Insitute of Semiconductors, Chinese Academy of Sciences", "cas-ios", M),
    ("Institute of Semiconductors (Chinese Academy of Sciences)", "cas-ios", M),
    ("IOS-CAS, Beijing", "cas-ios", M),
    // Beijing Academy of Artificial Intelligence
    ("Beijing Academy of Artificial Intelligence, Language Model Group", "baai", M),
    ("Language Model Group, Beijing Academy of Artificial Intelligence", "baai", M),
    ("北京智源人工智能研究院大模型研究中心", "baai", M),
    ("Beijing Acadamy of Artificial Intelligence", "baai", M),
    // Chinese Institute for Brain Research
    ("Chinese Institute for Brain Research, Beijing, Laboratory of Neural Circuits", "cibr", M),
    ("Laboratory of Neural Circuits, Chinese Institute for Brain Research", "cibr", M),
    ("北京脑科学与类脑研究中心脑图谱平台", "cibr", M),
    ("Chinese Insitute for Brain Research", "cibr", M),
    // Shanghai Research Center for Brain Science and Brain-Inspired Intelligence
    ("Shanghai Research Center for Brain Science and Brain-Inspired Intelligence, Neural Circuits Platform", "shanghai-brain", M),
    ("Neural Circuits Platform, Shanghai Research Centre for Brain Science & Brain-inspired Intelligence", "shanghai-brain", M),
    ("上海脑科学与类脑研究中心神经环路平台", "shanghai-brain", M),
    ("Shanghai Reserch Center for Brain Science and Brain-Inspired Intelligence", "shanghai-brain", M),
    // BGI and its listed companies
    ("BGI Group, China National GeneBank", "bgi", M),
    ("China National GeneBank, BGI", "bgi", M),
    ("深圳华大基因科技有限公司研究院", "bgi", M),
    ("Beijing Genomics Insitute", "bgi", M),
    ("BGI Genomics Co., Ltd., Clinical Laboratory", "bgi-genomics", M),
    ("Clinical Laboratory, BGI Genomics", "bgi-genomics", M),
    ("深圳华大基因股份有限公司临床检验中心", "bgi-genomics", M),
    ("BGI Genomics Compnay Limited", "bgi-genomics", M),
    ("BGI Research, Shenzhen", "bgi-research", M),
    ("Institute of Genomics, BGI Research", "bgi-research", M),
    ("BGI Reserch", "bgi-research", M),
    ("BGI Tech Solutions (Hongkong) Co., Ltd., Sequencing Services", "bgi-tech-hk", M),
    ("Sequencing Services, BGI Tech Solutions (Hongkong) Co., Ltd.", "bgi-tech-hk", M),
    ("BGI Tech Solutions (Hongkong) Co., Limted", "bgi-tech-hk", M),
    ("Forensic Genomics International, Shenzhen", "bgi-fgi", M),
    ("DNA Laboratory, Forensic Genomics International", "bgi-fgi", M),
    ("Forensic Genomics Internatonal", "bgi-fgi", M),
    ("Xinjiang Silk Road BGI, Urumqi", "bgi-xinjiang-silk-road", M),
    ("Sequencing Centre, Xinjiang Silk Road BGI", "bgi-xinjiang-silk-road", M),
    ("Xinjang Silk Road BGI", "bgi-xinjiang-silk-road", P),
    ("Beijing Liuhe BGI, Beijing", "bgi-beijing-liuhe", M),
    ("Sequencing Laboratory, Beijing Liuhe BGI", "bgi-beijing-liuhe", M),
    ("Beijng Liuhe BGI", "bgi-beijing-liuhe", P),
    // Chinese Academy of Medical Sciences & Peking Union Medical College
    ("Chinese Academy of Medical Sciences & Peking Union Medical College, Institute of Basic Medical Sciences", "cams-pumc", M),
    ("Institute of Basic Medical Sciences, Chinese Academy of Medical Sciences", "cams-pumc", M),
    ("中国医学科学院基础医学研究所", "cams-pumc", M),
    ("Peking Union Medcal College", "cams-pumc", M),
    // Tianjin Medical University
    ("Tianjin Medical University Cancer Institute and Hospital", "tmu", M),
    ("School of Public Health, Tianjin Medical University", "tmu", M),
    ("天津医科大学肿瘤医院", "tmu", M),
    ("Tianjin Medical Univesity", "tmu", M),
    // Polar Research Institute of China
    ("Polar Research Institute of China, Key Laboratory for Polar Science", "pric", M),
    ("Key Laboratory for Polar Science, Polar Research Institute of China", "pric", M),
    ("中国极地研究中心极地冰川学研究室", "pric", M),
    ("Polar Reserch Institute of China", "pric", M),
    // Tsinghua University
    ("Tsinghua University, Department of Physics", "tsinghua", M),
    ("Department of Physics, Tsinghua University", "tsinghua", M),
    ("清华大学物理系", "tsinghua", M),
    ("Tsinghua Univeristy", "tsinghua", M),
    ("tsinghua university", "tsinghua", M),
    ("Tsinghua", "tsinghua", M),
    ("Tsinhua University", "tsinghua", P),
    // Huazhong University of Science and Technology
    ("Huazhong University of Science and Technology, School of Optical and Electronic Information", "hust", M),
    ("Wuhan National Laboratory for Optoelectronics, Huazhong University of Science and Technology", "hust", M),
    ("华中科技大学光学与电子信息学院", "hust", M),
    ("Huazhong University of Science and Tecnology", "hust", M),
];

/// Real institutions that look like flagged ones: none may match anything flagged.
#[rustfmt::skip]
const LOOK_ALIKES: &[&str] = &[
    "Xi'an Technological University", "西安工业大学",
    "Xi'an University of Technology", "西安理工大学",
    "Harbin Normal University", "哈尔滨师范大学",
    "Harbin University of Science and Technology", "哈尔滨理工大学",
    "Harbin Medical University", "哈尔滨医科大学",
    "Beijing Jiaotong University", "北京交通大学",
    "Beijing University of Technology", "北京工业大学",
    "沈阳理工大学", "Shenyang Ligong University",
    "Nanjing Tech University", "南京工业大学",
    "Nanjing University", "南京大学",
    "Nanjing University of Posts and Telecommunications",
    "Nanjing Normal University", "Nanjing Institute of Technology",
    "Hebei University of Technology", "河北工业大学",
    "Northwest University", "西北大学", "Northwestern University",
    "China Aerospace Science and Industry Corporation", "中国航天科工集团有限公司",
    "Beijing Institute of Petrochemical Technology",
    "Tianjin University", "天津大学",
    "Huazhong Agricultural University", "华中农业大学",
    "University of Science and Technology Beijing", "北京科技大学",
    "East China University of Science and Technology",
    "Suzhou University of Science and Technology",
    "Beijing Normal University", "北京师范大学",
    "Northeastern University", "东北大学",
    "Chinese Academy of Social Sciences", "中国社会科学院",
    "Chinese Academy of Agricultural Sciences", "中国农业科学院",
    "Chinese Academy of Engineering", "中国工程院",
    "Shanghai Jiao Tong University", "Peking University", "北京大学",
    "Hunan University", "National University of Singapore", "Xidian University",
    "China Southern Airlines", "中国南方航空", "东北航空公司",
];

fn describe(s: &Screening) -> String {
    let hits: Vec<String> = s
        .hits
        .iter()
        .map(|h| format!("{} ({:?}, {:?}: {})", h.entry.id, h.certainty, h.how, h.why))
        .collect();
    format!("{:?}: {:?} [{}]", s.typed, s.outcome, hits.join("; "))
}

#[test]
fn every_entry_is_found_however_officers_write_it() {
    let r = register();
    let mut failures = Vec::new();
    for &(typed, id, certainty) in MUST_MATCH {
        let s = r.screen(typed);
        let best = s.best();
        let ok = best.is_some_and(|h| h.entry.id == id && h.certainty == certainty);
        if !ok {
            failures.push(describe(&s));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} variants failed:\n{}",
        failures.len(),
        MUST_MATCH.len(),
        failures.join("\n")
    );
}

#[test]
fn the_table_covers_every_entry_four_ways() {
    let r = register();
    assert!(MUST_MATCH.len() >= 80);
    for entry in r.entries() {
        let rows: Vec<&str> = MUST_MATCH
            .iter()
            .filter(|(_, id, _)| *id == entry.id)
            .map(|(t, _, _)| *t)
            .collect();
        assert!(
            rows.len() >= 3,
            "{} has only {} variants",
            entry.id,
            rows.len()
        );
        let has_chinese_name = entry
            .all_names()
            .any(|(n, _)| n.chars().any(normalise::is_han));
        if has_chinese_name {
            assert!(
                rows.iter().any(|t| t.chars().any(normalise::is_han)),
                "{}: no Chinese variant",
                entry.id
            );
        }
    }
}

#[test]
fn look_alike_institutions_match_nothing() {
    let r = register();
    assert!(LOOK_ALIKES.len() >= 30);
    let failures: Vec<String> = LOOK_ALIKES
        .iter()
        .map(|typed| r.screen(typed))
        .filter(|s| s.outcome != Outcome::NoMatch)
        .map(|s| describe(&s))
        .collect();
    assert!(
        failures.is_empty(),
        "look-alikes matched:\n{}",
        failures.join("\n")
    );
}

#[test]
fn normalisation_forgives_width_case_accents_punctuation_and_abbreviations() {
    let r = register();
    for typed in [
        "ＨＡＲＢＩＮ　ＩＮＳＴＩＴＵＴＥ　ＯＦ　ＴＥＣＨＮＯＬＯＧＹ",
        "harbin institute of technology",
        "Hárbín Ínstitute of Téchnology",
        "Harbin-Institute-of-Technology!!",
        "[Harbin Institute of Technology]",
        "Harbin Inst. Tech.",
        "Harbin Inst. of Tech., Harbin",
        "哈尔滨 工业 大学",
        "哈爾濱工業大學（本部）",
    ] {
        let s = r.screen(typed);
        assert_eq!(
            s.best().map(|h| h.entry.id.as_str()),
            Some("hit"),
            "{}",
            describe(&s)
        );
    }
    let s = r.screen("Univ. of Sci. & Tech. of China");
    assert_eq!(
        s.best().map(|h| h.entry.id.as_str()),
        Some("ustc"),
        "{}",
        describe(&s)
    );
}

#[test]
fn the_longest_fitting_name_wins_and_the_shorter_is_set_aside() {
    let r = register();
    let s = r.screen("Institute of Semiconductors, Chinese Academy of Sciences");
    assert_eq!(s.hits.len(), 1, "{}", describe(&s));
    assert_eq!(s.hits[0].entry.id, "cas-ios");
    assert!(
        s.set_aside
            .iter()
            .any(|n| n.contains("Chinese Academy of Sciences")),
        "{:?}",
        s.set_aside
    );
    let s = r.screen("中国科学院大学");
    assert_eq!(s.best().map(|h| h.entry.id.as_str()), Some("ucas"));
    let s = r.screen("哈尔滨工业大学（深圳）");
    assert_eq!(s.best().map(|h| h.entry.id.as_str()), Some("hit-shenzhen"));
    assert_eq!(s.best().map(|h| h.ancestors[0].id.as_str()), Some("hit"));
}

#[test]
fn two_organisations_in_one_text_are_both_found() {
    let r = register();
    let s = r.screen("Tsinghua University and Harbin Institute of Technology");
    let ids: Vec<&str> = s.hits.iter().map(|h| h.entry.id.as_str()).collect();
    assert!(
        ids.contains(&"tsinghua") && ids.contains(&"hit"),
        "{}",
        describe(&s)
    );
}

#[test]
fn acronyms_match_only_exactly_and_as_a_word_of_their_own() {
    let r = register();
    for (typed, expected) in [
        ("BIT", Some("bit")),
        ("bit", Some("bit")),
        ("B.I.T.", Some("bit")),
        ("School of Physics, HIT", Some("hit")),
        ("NUDT", Some("nudt")),
        ("a hit project with Fudan", None),
        ("HITS", None),
        ("BIH", None),
        ("NUD", None),
        ("NUDTT", None),
        ("NJUS", None),
        ("CASIC", None),
        ("BJUT", None),
        ("THU-Berlin", Some("tsinghua")),
        ("ORBIT Labs", None),
    ] {
        let s = r.screen(typed);
        assert_eq!(
            s.best().map(|h| h.entry.id.as_str()),
            expected,
            "{}",
            describe(&s)
        );
    }
}

#[test]
fn chinese_script_is_never_matched_by_character_edits() {
    let r = register();
    for typed in [
        "西安工业大学",
        "河北工业大学",
        "哈尔滨工大",
        "北京理大学",
        "南京理工学院",
        "中国科学技大学",
    ] {
        let s = r.screen(typed);
        assert_eq!(s.outcome, Outcome::NoMatch, "{}", describe(&s));
    }
    // A short form counts only at the start of a run of Chinese text.
    assert_eq!(
        r.screen("北航材料学院").best().map(|h| h.entry.id.as_str()),
        Some("beihang")
    );
    assert_eq!(r.screen("东北航空公司").outcome, Outcome::NoMatch);
}

#[test]
fn places_and_kinds_of_institution_are_never_corrected_into_others() {
    let r = register();
    for typed in [
        "Harbin Normal University",
        "Nanning University of Aeronautics and Astronautics",
        "Hebei Institute of Technology",
        "Beijing Institute of Technological",
        "Harbin Institute of Technological",
        "Xian Institute of Technology",
    ] {
        let s = r.screen(typed);
        assert!(
            s.hits
                .iter()
                .all(|h| h.certainty == Certainty::Possible || h.entry.flags.is_empty()),
            "{}",
            describe(&s)
        );
        assert_ne!(s.outcome, Outcome::Match, "{}", describe(&s));
    }
}

#[test]
fn the_misspelling_threshold_is_one_edit_up_to_eight_letters_and_two_beyond() {
    assert_eq!(allowed_edits(4), 0);
    assert_eq!(allowed_edits(5), 1);
    assert_eq!(allowed_edits(8), 1);
    assert_eq!(allowed_edits(9), 2);
    let r = register();
    // One edit in an eight-letter word is forgiven, two are not.
    assert_eq!(
        r.screen("Harbin Insitute of Technology").outcome,
        Outcome::Match
    );
    assert_eq!(
        r.screen("Harbin Insitut of Technology").outcome,
        Outcome::NoMatch
    );
    // A kind of institution is corrected only at one edit, whatever its length.
    assert_eq!(
        r.screen("Harbin Institute of Tecnologi").outcome,
        Outcome::NoMatch
    );
    // Two edits in a distinctive word of ten letters are found, for a person to confirm.
    let s = r.screen("Hefei National Laboratory for Physical Sciences at Mikroscael");
    assert_eq!(
        (s.outcome, s.best().map(|h| h.entry.id.as_str())),
        (Outcome::Possible, Some("ustc-hfnl")),
        "{}",
        describe(&s)
    );
    // Words shorter than five letters are taken as written.
    assert_eq!(r.screen("BGI Resarch").outcome, Outcome::Match);
    assert_eq!(r.screen("BGU Research").outcome, Outcome::NoMatch);
}

#[test]
fn a_name_that_continues_into_another_organisation_is_only_possible() {
    let r = register();
    let s = r.screen("Tianjin Medical University of Traditional Chinese Medicine");
    assert_eq!(s.outcome, Outcome::Possible, "{}", describe(&s));
    assert!(matches!(s.hits[0].how, How::Continues { .. }));
    assert!(
        s.hits[0].why.contains("different organisation"),
        "{}",
        s.hits[0].why
    );
    // "of China" or "of the PLA" keep it the same organisation.
    assert_eq!(
        r.screen("Polar Research Institute of China").outcome,
        Outcome::Match
    );
}

#[test]
fn every_result_says_which_name_matched_which_part_and_how() {
    let r = register();
    let s = r.screen("Harbin Institute of Technology, School of Physics");
    let h = s.best().unwrap();
    assert_eq!(
        (h.name.as_str(), h.typed_part.as_str()),
        (
            "Harbin Institute of Technology",
            "Harbin Institute of Technology"
        )
    );
    assert_eq!((h.start, h.end, &h.how), (0, 30, &How::Words));
    assert!(
        h.why.contains("appears as whole words") && h.why.contains("School of Physics"),
        "{}",
        h.why
    );
    let h = r.screen("哈尔滨工业大学物理学院").hits.remove(0);
    assert_eq!(
        (h.name.as_str(), h.how.clone()),
        ("哈尔滨工业大学", How::Han)
    );
    assert!(h.why.contains("contiguous run of characters"), "{}", h.why);
    let h = r.screen("Harbin Insitute of Technology").hits.remove(0);
    assert_eq!(
        h.how,
        How::Misspelt {
            corrections: vec![("insitute".into(), "institute".into())]
        }
    );
    assert!(
        h.why
            .contains("\u{201c}insitute\u{201d} as \u{201c}institute\u{201d}"),
        "{}",
        h.why
    );
    let h = r.screen("Beihang").hits.remove(0);
    assert_eq!(
        (h.name_kind, h.how.clone()),
        (NameKind::Abbreviation, How::Exact)
    );
    let s = r.screen("Fudan University");
    assert_eq!((s.outcome, s.hits.len()), (Outcome::NoMatch, 0));
}

#[test]
fn garbage_finds_nothing_and_never_panics() {
    let r = register();
    let long = "Harbin Institute of Technology ".repeat(400);
    for typed in [
        "",
        " ",
        "\t\n",
        "(((",
        "\u{0}",
        "\u{0}\u{1}\u{7f}",
        "🙂🙂",
        "&&&",
        "of the and",
        "\u{200b}",
        "\u{301}",
        "....",
        "University",
        "Institute of Technology",
        "China",
        "大学",
    ] {
        assert_eq!(r.screen(typed).outcome, Outcome::NoMatch, "{typed:?}");
    }
    // Only the first part of a huge text is read, and it is still screened.
    assert_eq!(
        r.screen(&long).best().map(|h| h.entry.id.as_str()),
        Some("hit")
    );
    let pieces = [
        "Harbin",
        " Inst.",
        "(",
        ")",
        "（",
        "】",
        ",",
        "哈尔滨",
        "é",
        "\u{301}",
        "\u{0}",
        "🙂",
        "&",
        "'",
        "ﬁ",
        "ＨＩＴ",
        "\u{10FFFF}",
        "cas",
        "1",
        "of",
    ];
    let mut seed: u64 = 7;
    for _ in 0..3000 {
        let mut typed = String::new();
        for _ in 0..seed % 12 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            typed.push_str(pieces[(seed >> 33) as usize % pieces.len()]);
        }
        let _ = r.screen(&typed);
    }
}

#[test]
fn the_shipped_register_is_sourced_and_dated() {
    let r = register();
    assert!(r.len() >= 30);
    for entry in r.entries() {
        for flag in &entry.flags {
            assert!(
                !flag.source.is_empty(),
                "{}: a flag without a source",
                entry.id
            );
            assert!(
                flag.date.is_empty() || entry::is_partial_date(&flag.date),
                "{}: {}",
                entry.id,
                flag.date
            );
        }
        if let Some(parent) = &entry.parent {
            assert!(
                r.get(parent).is_some(),
                "{}: parent {parent} missing",
                entry.id
            );
        }
    }
    // The Seven Sons are all on the Entity List.
    for id in ["hit", "heu", "beihang", "nwpu", "bit", "nuaa", "njust"] {
        let e = r.get(id).unwrap();
        assert!(e.flag_kinds().contains(&FlagKind::RestrictedList), "{id}");
        assert!(e.flag_kinds().contains(&FlagKind::MilitaryLinks), "{id}");
    }
}
