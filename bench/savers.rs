//! Officers saving wizard steps, for the benchmark (not a test): each saver signs in as
//! an officer, then loops until the time is up: open step 2 of its own draft (to read
//! the form's CSRF token and version, as a browser does) and save it with a partner
//! name, type and answers. Only the saves are timed. Printed: saves, saves/s, p50, p99,
//! max and the number of answers that were not the save's redirect (the first five of
//! them on standard error).
//!
//!   cargo bench --bench savers -- BASE_URL DURATION_SECS PASSWORD EMAIL=ASSESSMENT_ID...
//!
//! bench/run.sh starts 16 of them at the same time as a read run of wrk.

use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

type Http = Client<HttpConnector, Full<Bytes>>;

/// Partner names typed by the savers: curated register entries, a department around
/// one, Chinese script and names in no list, so the save screens as it does in use.
const PARTNERS: [&str; 6] = [
    "Tsinghua University",
    "Harbin Institute of Technology, School of Physics",
    "浙江大学",
    "Shenzhen Institute of Advanced Technology, CAS",
    "Nanjing Forestry University",
    "Fudan University, School of Life Sciences",
];

struct Saver {
    http: Http,
    base: String,
    cookies: Vec<(String, String)>,
}

impl Saver {
    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(
        &mut self,
        method: &str,
        path: &str,
        form: Option<String>,
    ) -> Result<(StatusCode, String), String> {
        let mut req = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header());
        if form.is_some() {
            req = req
                .header("content-type", "application/x-www-form-urlencoded")
                .header("origin", self.base.clone());
        }
        let req = req
            .body(Full::new(Bytes::from(form.unwrap_or_default())))
            .map_err(|e| e.to_string())?;
        let res = self.http.request(req).await.map_err(|e| e.to_string())?;
        let status = res.status();
        for value in res.headers().get_all("set-cookie") {
            let Ok(value) = value.to_str() else { continue };
            let pair = value.split(';').next().unwrap_or_default();
            if let Some((k, v)) = pair.split_once('=') {
                self.cookies.retain(|(name, _)| name != k);
                self.cookies.push((k.to_owned(), v.to_owned()));
            }
        }
        let body = res
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }
}

/// The value of the first `<input name="NAME" value="...">` of a page.
fn input_value(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\""))?;
    let tag_start = html[..at].rfind('<')?;
    let tag_end = at + html[at..].find('>')?;
    let tag = &html[tag_start..tag_end];
    let v = tag.find("value=\"")? + "value=\"".len();
    let len = tag[v..].find('"')?;
    Some(
        tag[v..v + len]
            .replace("&#x2B;", "+")
            .replace("&#x2F;", "/"),
    )
}

fn encode(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).expect("a form encodes")
}

async fn run(
    base: String,
    email: String,
    password: String,
    assessment: String,
    until: Instant,
    n: usize,
) -> Result<(Vec<Duration>, Vec<String>), String> {
    let http: Http = Client::builder(TokioExecutor::new()).build_http();
    let mut s = Saver {
        http,
        base,
        cookies: Vec::new(),
    };
    let (_, login) = s.send("GET", "/login", None).await?;
    let csrf = input_value(&login, "_csrf").ok_or("no CSRF token on /login")?;
    let (status, _) = s
        .send(
            "POST",
            "/login",
            Some(encode(&[
                ("_csrf", &csrf),
                ("email", &email),
                ("password", &password),
            ])),
        )
        .await?;
    if status != StatusCode::SEE_OTHER {
        return Err(format!("{email} could not sign in: {status}"));
    }
    let step = format!("/assessments/{assessment}/steps/2");
    let mut times = Vec::new();
    let mut errors = Vec::new();
    let mut i = n;
    while Instant::now() < until {
        let (status, page) = s.send("GET", &step, None).await?;
        if status != StatusCode::OK {
            errors.push(format!("GET {step}: {status}"));
            continue;
        }
        let csrf = input_value(&page, "_csrf").ok_or("no CSRF token on the step")?;
        let version = input_value(&page, "_version").ok_or("no version on the step")?;
        let partner = PARTNERS[i % PARTNERS.len()];
        i += 1;
        let form = encode(&[
            ("_csrf", &csrf),
            ("_version", &version),
            ("_action", "save"),
            ("partner_name", partner),
            ("partner_type", "university"),
            ("partner_location", "Beijing"),
            ("partner_military_links", "no"),
            ("partner_restricted_list", "no"),
            ("affiliations_disclosed", "yes"),
            ("talent_programme", "no"),
            ("partner_funding", "nsfc"),
            ("local_rules_checked", "yes"),
            ("visiting_researchers", "no"),
            ("personal_incentives", "no"),
            ("declined_elsewhere", "no"),
        ]);
        let started = Instant::now();
        let (status, _) = s.send("POST", &step, Some(form)).await?;
        let took = started.elapsed();
        if status == StatusCode::SEE_OTHER {
            times.push(took);
        } else {
            errors.push(format!("POST {step}: {status}"));
        }
    }
    Ok((times, errors))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if args.len() < 4 {
        eprintln!(
            "usage: cargo bench --bench savers -- BASE_URL DURATION_SECS PASSWORD EMAIL=ASSESSMENT_ID..."
        );
        std::process::exit(2);
    }
    let base = args[0].trim_end_matches('/').to_owned();
    let secs: u64 = args[1].parse().expect("DURATION_SECS is a number");
    let password = args[2].clone();
    let savers: Vec<(String, String)> = args[3..]
        .iter()
        .map(|a| {
            let (e, id) = a.split_once('=').expect("EMAIL=ASSESSMENT_ID");
            (e.to_owned(), id.to_owned())
        })
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let until = Instant::now() + Duration::from_secs(secs);
    let results = runtime.block_on(async {
        let tasks: Vec<_> = savers
            .into_iter()
            .enumerate()
            .map(|(n, (email, id))| {
                tokio::spawn(run(base.clone(), email, password.clone(), id, until, n))
            })
            .collect();
        let mut all = Vec::new();
        for t in tasks {
            all.push(t.await.expect("a saver ran"));
        }
        all
    });
    let mut times = Vec::new();
    let mut errors = Vec::new();
    for r in results {
        match r {
            Ok((t, e)) => {
                times.extend(t);
                errors.extend(e);
            }
            Err(e) => errors.push(e),
        }
    }
    times.sort();
    let ms = |d: Duration| format!("{:.2}ms", d.as_secs_f64() * 1000.0);
    println!(
        "saves={} saves_per_s={:.1} p50={} p99={} max={} errors={}",
        times.len(),
        times.len() as f64 / secs as f64,
        ms(percentile(&times, 50.0)),
        ms(percentile(&times, 99.0)),
        ms(times.last().copied().unwrap_or_default()),
        errors.len()
    );
    for e in errors.iter().take(5) {
        eprintln!("savers: {e}");
    }
}
