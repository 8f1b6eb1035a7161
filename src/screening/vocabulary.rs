//! The words matching treats specially: filler words, abbreviations, and the words
//! that carry an organisation's identity (where it is and what kind of institution
//! it is), which are never taken as a misspelling of another word.

/// Words that never tell two organisations apart; they are skipped when names are compared.
pub const STOP_WORDS: [&str; 8] = ["the", "of", "and", "for", "at", "in", "on", "de"];

/// Abbreviations and spelling variants, mapped to one form on both sides of a comparison.
pub fn expand(word: &str) -> &str {
    match word {
        "univ" | "universiteit" | "universitat" | "universite" | "universidad" => "university",
        "inst" | "instit" | "institut" | "instituto" => "institute",
        "tech" | "techn" | "technol" => "technology",
        "acad" => "academy",
        "sci" | "sciences" => "science",
        "natl" => "national",
        "eng" | "engg" | "engin" | "engineer" => "engineering",
        "med" => "medical",
        "polytech" | "polytechnical" => "polytechnic",
        "coll" => "college",
        "lab" | "labs" | "laboratories" | "lab." => "laboratory",
        "ctr" | "cntr" | "centre" | "centres" | "centers" => "center",
        "res" => "research",
        "corp" | "corporations" => "corporation",
        "co" => "company",
        "ltd" => "limited",
        "intl" | "internat" => "international",
        "dept" | "dep" => "department",
        "sch" => "school",
        "hosp" => "hospital",
        "assoc" => "association",
        "grp" => "group",
        "defence" => "defense",
        "chinese" | "zhongguo" => "china",
        "aeronautic" => "aeronautics",
        "astronautic" => "astronautics",
        "univs" | "universities" => "university",
        "institutes" => "institute",
        "academies" => "academy",
        w => w,
    }
}

/// What a word says about an organisation, for deciding whether a typed word may be a
/// misspelling of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identity {
    /// A province, city, region or country: "Nanjing" and "Nanning" are two places.
    Place,
    /// A kind of institution or field: "Normal" and "Engineering" are two universities.
    Kind,
    /// Anything else ("Tsinghua", "Beihang").
    Plain,
}

/// The identity of a normalised word.
pub fn identity(word: &str) -> Identity {
    if PLACES.binary_search(&word).is_ok() {
        Identity::Place
    } else if KINDS.binary_search(&word).is_ok() {
        Identity::Kind
    } else {
        Identity::Plain
    }
}

/// Every place and kind word, known to the index even when no register name uses it,
/// so that a typed "Normal" is never read as a misspelling of another word.
pub fn known_words() -> impl Iterator<Item = &'static str> {
    PLACES.iter().chain(KINDS.iter()).copied()
}

/// After "of" or "for", these words keep a name the same organisation ("Academy of
/// Military Medical Sciences of the People's Liberation Army"); other words make a
/// longer, different name ("Nanjing University of Aeronautics and Astronautics").
pub fn continues_same_organisation(word: &str) -> bool {
    identity(word) == Identity::Place
        || matches!(
            word,
            "china"
                | "prc"
                | "pr"
                | "p"
                | "r"
                | "peoples"
                | "republic"
                | "pla"
                | "army"
                | "liberation"
                | "military"
                | "people"
                | "cas"
                | "cae"
        )
}

/// Provinces, regions, large cities and country words, sorted (binary search).
const PLACES: &[&str] = &[
    "anhui",
    "anshan",
    "anyang",
    "aomen",
    "baoding",
    "baotou",
    "beihai",
    "beijing",
    "bengbu",
    "binzhou",
    "canton",
    "central",
    "changchun",
    "changde",
    "changsha",
    "changzhou",
    "chengdu",
    "china",
    "chongqing",
    "dalian",
    "daqing",
    "datong",
    "dongguan",
    "east",
    "eastern",
    "foshan",
    "fujian",
    "fushun",
    "fuzhou",
    "gansu",
    "ganzhou",
    "guangdong",
    "guangxi",
    "guangzhou",
    "guilin",
    "guiyang",
    "guizhou",
    "haerbin",
    "haikou",
    "hainan",
    "handan",
    "hangzhou",
    "harbin",
    "hebei",
    "hefei",
    "heilongjiang",
    "henan",
    "hengyang",
    "hohhot",
    "hong",
    "hongkong",
    "huaian",
    "huainan",
    "huangshi",
    "huazhong",
    "hubei",
    "huhehaote",
    "huizhou",
    "hunan",
    "inner",
    "jiamusi",
    "jiangsu",
    "jiangxi",
    "jiaxing",
    "jilin",
    "jinan",
    "jingdezhen",
    "jinhua",
    "jining",
    "jinzhou",
    "jiujiang",
    "kaifeng",
    "kong",
    "kunming",
    "lanzhou",
    "lhasa",
    "liangshan",
    "lianyungang",
    "liaoning",
    "linyi",
    "liuzhou",
    "luoyang",
    "macao",
    "macau",
    "mianyang",
    "mongolia",
    "nanchang",
    "nanjing",
    "nanning",
    "nantong",
    "nanyang",
    "ningbo",
    "ningxia",
    "north",
    "northeast",
    "northeastern",
    "northern",
    "northwest",
    "northwestern",
    "peking",
    "qingdao",
    "qinghai",
    "qinhuangdao",
    "qiqihar",
    "quanzhou",
    "shaanxi",
    "shandong",
    "shanghai",
    "shantou",
    "shanxi",
    "shaoxing",
    "shenyang",
    "shenzhen",
    "shijiazhuang",
    "sichuan",
    "south",
    "southeast",
    "southeastern",
    "southern",
    "southwest",
    "southwestern",
    "suzhou",
    "taian",
    "taipei",
    "taiwan",
    "taiyuan",
    "tangshan",
    "tianjin",
    "tibet",
    "urumqi",
    "weifang",
    "weihai",
    "wenzhou",
    "west",
    "western",
    "wuhan",
    "wuhu",
    "wuxi",
    "xiamen",
    "xian",
    "xiangtan",
    "xining",
    "xinjiang",
    "xinxiang",
    "xizang",
    "xuzhou",
    "yanan",
    "yangzhou",
    "yantai",
    "yinchuan",
    "yunnan",
    "zhanjiang",
    "zhejiang",
    "zhengzhou",
    "zhenjiang",
    "zhongshan",
    "zhuhai",
];

/// Kinds of institution and fields that make one institution another, sorted.
const KINDS: &[&str] = &[
    "academy",
    "administration",
    "aeronautical",
    "aeronautics",
    "aerospace",
    "agricultural",
    "agriculture",
    "air",
    "applied",
    "architecture",
    "armed",
    "army",
    "art",
    "arts",
    "association",
    "astronautics",
    "automation",
    "aviation",
    "base",
    "biological",
    "biology",
    "branch",
    "bureau",
    "business",
    "campus",
    "center",
    "chemical",
    "chemistry",
    "civil",
    "clinic",
    "college",
    "commerce",
    "commission",
    "communication",
    "communications",
    "company",
    "computer",
    "computing",
    "corporation",
    "council",
    "defense",
    "department",
    "design",
    "development",
    "economic",
    "economics",
    "education",
    "electric",
    "electrical",
    "electronic",
    "electronics",
    "energy",
    "engineering",
    "enterprise",
    "environment",
    "environmental",
    "factory",
    "faculty",
    "federation",
    "film",
    "finance",
    "financial",
    "fine",
    "fisheries",
    "force",
    "foreign",
    "forestry",
    "foundation",
    "geological",
    "geology",
    "geosciences",
    "graduate",
    "group",
    "health",
    "holdings",
    "hospital",
    "hydraulic",
    "industrial",
    "industry",
    "information",
    "institute",
    "international",
    "jiaotong",
    "joint",
    "key",
    "laboratory",
    "language",
    "languages",
    "law",
    "liberation",
    "library",
    "light",
    "limited",
    "marine",
    "maritime",
    "materials",
    "mathematics",
    "mechanical",
    "media",
    "medical",
    "medicine",
    "metallurgical",
    "metallurgy",
    "military",
    "mineral",
    "minerals",
    "mining",
    "ministry",
    "minzu",
    "municipal",
    "museum",
    "music",
    "national",
    "nationalities",
    "naval",
    "navy",
    "normal",
    "nuclear",
    "observatory",
    "ocean",
    "oceanography",
    "ordnance",
    "park",
    "petrochemical",
    "petroleum",
    "pharmaceutical",
    "physics",
    "police",
    "political",
    "politics",
    "polytechnic",
    "posts",
    "power",
    "press",
    "provincial",
    "public",
    "railway",
    "research",
    "resources",
    "school",
    "science",
    "scientific",
    "security",
    "shipbuilding",
    "shipping",
    "society",
    "software",
    "space",
    "sports",
    "state",
    "station",
    "studies",
    "teachers",
    "technical",
    "technological",
    "technology",
    "telecommunications",
    "textile",
    "trade",
    "traditional",
    "transport",
    "transportation",
    "university",
    "water",
    "weapons",
    "works",
    "zone",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_lists_are_sorted_and_lower_case() {
        for list in [PLACES, KINDS] {
            assert!(
                list.windows(2).all(|w| w[0] < w[1]),
                "sorted, no duplicates"
            );
            assert!(
                list.iter()
                    .all(|w| w.chars().all(|c| c.is_ascii_lowercase()))
            );
        }
    }

    #[test]
    fn places_and_kinds_carry_identity() {
        assert_eq!(identity("nanning"), Identity::Place);
        assert_eq!(identity("xian"), Identity::Place);
        assert_eq!(identity("normal"), Identity::Kind);
        assert_eq!(identity("engineering"), Identity::Kind);
        assert_eq!(identity("technological"), Identity::Kind);
        assert_eq!(identity("tsinghua"), Identity::Plain);
        assert!(continues_same_organisation("china"));
        assert!(continues_same_organisation("pla"));
        assert!(!continues_same_organisation("aeronautics"));
        assert!(!continues_same_organisation("science"));
    }
}
