//! Screening benchmark (not a test): builds a register of about 50,000 names (the
//! curated register plus generated organisations shaped like those of official lists,
//! with Latin and Chinese names and aliases) and times lookups of a realistic mix of
//! typed partner names: every curated name with departments before and after it,
//! Chinese names with departments, misspellings, look-alikes, generated names with
//! departments, and names that are in no list.
//!
//!   cargo bench --bench screening                 # lookups: p50, p99, max
//!   cargo bench --bench screening -- --csl N FILE # writes a CSL CSV of N organisations
//!
//! Run on the target machine; the figures go into the closing note and the README.

use std::time::Instant;

use triage::screening::formats;
use triage::screening::{Entry, Flag, FlagKind, List, Name, NameKind, Register};

const CURATED: &str = include_str!("../register/partner-register.toml");

const PLACES: [(&str, &str); 24] = [
    ("Beijing", "北京"),
    ("Shanghai", "上海"),
    ("Tianjin", "天津"),
    ("Chongqing", "重庆"),
    ("Shenzhen", "深圳"),
    ("Guangzhou", "广州"),
    ("Hangzhou", "杭州"),
    ("Nanjing", "南京"),
    ("Wuhan", "武汉"),
    ("Chengdu", "成都"),
    ("Xi'an", "西安"),
    ("Harbin", "哈尔滨"),
    ("Changsha", "长沙"),
    ("Hefei", "合肥"),
    ("Jinan", "济南"),
    ("Qingdao", "青岛"),
    ("Dalian", "大连"),
    ("Shenyang", "沈阳"),
    ("Suzhou", "苏州"),
    ("Xiamen", "厦门"),
    ("Kunming", "昆明"),
    ("Lanzhou", "兰州"),
    ("Zhengzhou", "郑州"),
    ("Fuzhou", "福州"),
];

const FIELDS: [(&str, &str); 20] = [
    ("Photonics", "光电"),
    ("Microelectronics", "微电子"),
    ("Aerospace", "航天"),
    ("Precision Instruments", "精密仪器"),
    ("Semiconductor", "半导体"),
    ("Quantum", "量子"),
    ("Materials", "材料"),
    ("Robotics", "机器人"),
    ("Optics", "光学"),
    ("Electronics", "电子"),
    ("Intelligent Systems", "智能系统"),
    ("Navigation", "导航"),
    ("Radar", "雷达"),
    ("Marine Equipment", "海洋装备"),
    ("Composite", "复合材料"),
    ("Laser", "激光"),
    ("Software", "软件"),
    ("Power", "电力"),
    ("Vision", "视觉"),
    ("Communication", "通信"),
];

const WORDS: [&str; 40] = [
    "Huarui",
    "Zhongke",
    "Tianyi",
    "Hengtong",
    "Jinghua",
    "Xinda",
    "Kunlun",
    "Haiyang",
    "Changfeng",
    "Ruixin",
    "Dongfang",
    "Huaxin",
    "Yuanwang",
    "Tianhe",
    "Guoxin",
    "Zhiyuan",
    "Shenghong",
    "Lingyun",
    "Xinghai",
    "Boyuan",
    "Hongda",
    "Jiayu",
    "Minghao",
    "Qiancheng",
    "Ruida",
    "Sanjiang",
    "Taiji",
    "Weiye",
    "Xianfeng",
    "Yongxin",
    "Zhongtian",
    "Anheng",
    "Baoli",
    "Chuangxin",
    "Dingsheng",
    "Fengyuan",
    "Guangda",
    "Haitai",
    "Jinqiao",
    "Longxin",
];

const KINDS: [(&str, &str); 5] = [
    ("Technology Co., Ltd.", "科技有限公司"),
    ("Research Institute", "研究所"),
    ("Industrial Group Co., Ltd.", "工业集团有限公司"),
    ("Trading Co., Ltd.", "贸易有限公司"),
    ("Electronic Equipment Co., Ltd.", "电子设备有限公司"),
];

/// About `n` organisations shaped like those of official lists, deterministic.
fn generated(n: usize) -> Vec<Entry> {
    let mut out = Vec::with_capacity(n);
    let mut i = 0usize;
    while out.len() < n {
        let (place, place_cn) = PLACES[i % PLACES.len()];
        let (field, field_cn) = FIELDS[(i / PLACES.len()) % FIELDS.len()];
        let word = WORDS[(i / (PLACES.len() * FIELDS.len())) % WORDS.len()];
        let (kind, kind_cn) =
            KINDS[(i / (PLACES.len() * FIELDS.len() * WORDS.len())) % KINDS.len()];
        let serial = i / (PLACES.len() * FIELDS.len() * WORDS.len() * KINDS.len());
        let name = if serial == 0 {
            format!("{place} {word} {field} {kind}")
        } else {
            format!("{place} {word} {field} No. {serial} {kind}")
        };
        out.push(Entry {
            id: format!("gen:{i}"),
            list: List::UsCsl,
            names: vec![
                Name {
                    name: format!(
                        "{place_cn}{word}{field_cn}{kind_cn}{}",
                        if serial == 0 {
                            String::new()
                        } else {
                            serial.to_string()
                        }
                    ),
                    kind: NameKind::Chinese,
                },
                Name {
                    name: format!(
                        "{word} {field} {} ({place})",
                        kind.split(' ').next().unwrap_or(kind)
                    ),
                    kind: NameKind::Alias,
                },
            ],
            name,
            kind: "private_company".to_owned(),
            city: String::new(),
            province: String::new(),
            country: "CN".to_owned(),
            parent: None,
            flags: vec![Flag {
                flag: FlagKind::RestrictedList,
                source: "Entity List (EL) - Bureau of Industry and Security".to_owned(),
                url: String::new(),
                date: "2024-05-09".to_owned(),
                detail: String::new(),
            }],
            note: String::new(),
        });
        i += 1;
    }
    out
}

/// The typed names a day of officers might enter.
fn typed_mix(curated: &[Entry], generated: &[Entry]) -> Vec<String> {
    let mut mix = Vec::new();
    for e in curated {
        for (name, _) in e.all_names() {
            mix.push(name.to_owned());
            mix.push(format!("{name}, School of Physics"));
            mix.push(format!(
                "State Key Laboratory of Optics, {name}, Beijing, P.R. China"
            ));
            mix.push(format!("{name}物理学院"));
            mix.push(name.replacen("Institute", "Insitute", 1).replacen(
                "University",
                "Univeristy",
                1,
            ));
        }
    }
    for look_alike in [
        "Xi'an Technological University",
        "西安工业大学",
        "Harbin Normal University",
        "Beijing Jiaotong University",
        "沈阳理工大学",
        "Nanjing Tech University",
        "Tianjin University",
        "Peking University",
        "Fudan University",
        "University of Amsterdam",
        "Technische Universität München",
        "Chinese Academy of Social Sciences",
    ] {
        mix.push(look_alike.to_owned());
        mix.push(format!("Department of Chemistry, {look_alike}"));
    }
    for e in generated.iter().step_by(25) {
        mix.push(format!("R&D Centre, {}", e.name));
        mix.push(format!("{}研发中心", e.names[0].name));
        mix.push(e.names[1].name.clone());
    }
    mix
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn write_csl(n: usize, path: &str) {
    let header = "_id,source,entity_number,type,programs,name,title,addresses,federal_register_notice,start_date,end_date,standard_order,license_requirement,license_policy,call_sign,vessel_type,gross_tonnage,gross_registered_tonnage,vessel_flag,vessel_owner,remarks,source_list_url,alt_names,citizenships,dates_of_birth,nationalities,places_of_birth,source_information_url,ids";
    let mut out = String::from(header);
    out.push('\n');
    for (i, e) in generated(n).iter().enumerate() {
        let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        let aliases: Vec<&str> = e.names.iter().map(|n| n.name.as_str()).collect();
        out.push_str(&format!(
            "gen{i},Entity List (EL) - Bureau of Industry and Security,,,EAR,{},,{},89 FR 41886,2024-05-09,,Y,For all items subject to the EAR.,Presumption of denial.,,,,,,,,https://www.trade.gov/consolidated-screening-list,{},,,,,https://www.bis.gov/entity-list,\n",
            quote(&e.name),
            quote("1 Example Road, Haidian District, Beijing, CN"),
            quote(&aliases.join("; "))
        ));
    }
    std::fs::write(path, out).expect("writing the CSL file");
    println!("wrote {n} organisations to {path}");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--csl") {
        let n: usize = args
            .get(at + 1)
            .and_then(|v| v.parse().ok())
            .unwrap_or(20_000);
        let path = args
            .get(at + 2)
            .cloned()
            .unwrap_or_else(|| "csl.csv".to_owned());
        write_csl(n, &path);
        return;
    }
    let curated = formats::parse(CURATED.as_bytes())
        .expect("the curated register")
        .entries;
    let generated = generated(50_000 - curated.len() * 4);
    let names: usize = curated
        .iter()
        .chain(&generated)
        .map(|e| 1 + e.names.len())
        .sum();
    let mut entries = curated.clone();
    entries.extend(generated.iter().cloned());
    let started = Instant::now();
    let register = Register::new(entries);
    let build = started.elapsed();
    let mix = typed_mix(&curated, &generated);
    // Warm up: the first conversion loads hanconv's dictionaries.
    for typed in mix.iter().take(50) {
        let _ = register.screen(typed);
    }
    let mut times: Vec<f64> = Vec::with_capacity(mix.len() * 5);
    let mut found = 0usize;
    for _ in 0..5 {
        for typed in &mix {
            let t = Instant::now();
            let s = register.screen(typed);
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            found += usize::from(!s.hits.is_empty());
        }
    }
    times.sort_by(|a, b| a.total_cmp(b));
    println!(
        "register: {} entries, {names} names; index built in {:.0} ms",
        register.len(),
        build.as_secs_f64() * 1000.0
    );
    println!(
        "lookups: {} ({} distinct typed names x 5), {} found something",
        times.len(),
        mix.len(),
        found
    );
    println!(
        "latency per lookup: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times.last().copied().unwrap_or_default()
    );
}
