//! Authentication building blocks: password hashing, TOTP, recovery codes and
//! random tokens. No web or database types here.

pub mod oidc;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{self, Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Block, Params, Version};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex, OnceLock};

use argon2::Argon2;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use totp_rs::{Secret, TOTP};

/// Argon2 needs 19 MiB for each hash. Hashes run on a few threads of their own, one per
/// slot: at most that many at once, the others queued. Unbounded, 32 simultaneous
/// sign-ins took the process from 12 MiB to 622 MiB; bounding only how many ran at
/// once on tokio's blocking threads still left 19 MiB behind in the allocator arena of
/// every thread that ever hashed (about 300 MiB), so the work stays on these threads.
static HASHERS: OnceLock<Hashers> = OnceLock::new();
/// Hashes running now, and the most that ever ran at once (for tests and the drill).
static HASHING_NOW: AtomicUsize = AtomicUsize::new(0);
static HASHING_PEAK: AtomicUsize = AtomicUsize::new(0);

type Job = Box<dyn FnOnce() + Send>;

/// The hashing threads and their queue.
struct Hashers {
    queue: Mutex<std::sync::mpsc::Sender<Job>>,
    threads: usize,
}

impl Hashers {
    fn start(threads: usize) -> Self {
        let threads = threads.max(1);
        let (queue, jobs) = std::sync::mpsc::channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
        for i in 0..threads {
            let jobs = jobs.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    loop {
                        // The lock is held only while waiting for the next job.
                        let job = jobs.lock().unwrap_or_else(|e| e.into_inner()).recv();
                        match job {
                            // A panicking hash fails its request; the thread goes on.
                            Ok(job) => {
                                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                            }
                            Err(_) => break,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a hashing thread");
            }
        }
        Hashers {
            queue: Mutex::new(queue),
            threads,
        }
    }
}

/// The default: one hash per core, at most four.
pub fn default_hash_concurrency() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
}

/// Sets how many hashes may run at once; only the first call (before any hashing) counts.
pub fn limit_hash_concurrency(slots: usize) {
    let _ = HASHERS.set(Hashers::start(slots));
}

/// How many hashes may run at once.
pub fn hash_concurrency() -> usize {
    hashers().threads
}

fn hashers() -> &'static Hashers {
    HASHERS.get_or_init(|| Hashers::start(default_hash_concurrency()))
}

/// The most hashes that ran at once since the program started.
pub fn hashing_peak() -> usize {
    HASHING_PEAK.load(Ordering::SeqCst)
}

/// Runs slow hashing on the hashing threads, off the async runtime, in turn.
async fn hashing<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> anyhow::Result<T> {
    let (done, result) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let running = HASHING_NOW.fetch_add(1, Ordering::SeqCst) + 1;
        HASHING_PEAK.fetch_max(running, Ordering::SeqCst);
        let out = work();
        HASHING_NOW.fetch_sub(1, Ordering::SeqCst);
        let _ = done.send(out);
    });
    hashers()
        .queue
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .send(job)
        .map_err(|_| anyhow::anyhow!("the hashing threads stopped"))?;
    result
        .await
        .map_err(|_| anyhow::anyhow!("a hashing thread stopped"))
}

thread_local! {
    /// Each hashing thread's argon2 memory, allocated once and reused: allocating 19 MiB
    /// for every hash left most of it behind in the allocator (measured: 115 MiB after
    /// 32 sign-ins on one thread).
    static MEMORY: std::cell::RefCell<Vec<Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs argon2 into `out` with this thread's reusable memory.
fn argon2_into(
    argon2: &Argon2,
    params: &Params,
    secret: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> argon2::Result<()> {
    MEMORY.with(|memory| {
        let mut memory = memory.borrow_mut();
        if memory.len() < params.block_count() {
            memory.resize(params.block_count(), Block::default());
        }
        argon2.hash_password_into_with_memory(
            secret,
            salt,
            out,
            &mut memory[..params.block_count()],
        )
    })
}

/// A new argon2id hash of a secret with a salt of its own, as a PHC string.
fn argon2_phc(secret: &[u8]) -> anyhow::Result<String> {
    let params = Params::default();
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt
        .as_salt()
        .decode_b64(&mut salt_bytes)
        .map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    let output = Output::init_with(Params::DEFAULT_OUTPUT_LEN, |out| {
        argon2_into(&argon2, &params, secret, salt_bytes, out)
            .map_err(|_| password_hash::Error::Password)
    })
    .map_err(|e| anyhow::anyhow!("hashing: {e}"))?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| anyhow::anyhow!("hashing: {e}"))?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(hash.to_string())
}

/// Whether a secret matches a stored argon2 PHC string (any parameters it names).
fn argon2_matches(secret: &[u8], phc: &str) -> bool {
    let verify = || -> Option<bool> {
        let parsed = PasswordHash::new(phc).ok()?;
        let expected = parsed.hash?;
        let algorithm = Algorithm::try_from(parsed.algorithm).ok()?;
        let version = match parsed.version {
            Some(v) => Version::try_from(v).ok()?,
            None => Version::default(),
        };
        let params = Params::try_from(&parsed).ok()?;
        let mut salt = [0u8; 64];
        let salt = parsed.salt?.decode_b64(&mut salt).ok()?;
        let argon2 = Argon2::new(algorithm, version, params.clone());
        let mut out = vec![0u8; expected.len()];
        argon2_into(&argon2, &params, secret, salt, &mut out).ok()?;
        // Output compares in constant time.
        Some(Output::new(&out).ok()? == expected)
    };
    verify().unwrap_or(false)
}

/// Hashes a password with argon2id, off the async runtime (it is slow on purpose).
pub async fn hash_password(password: String) -> anyhow::Result<String> {
    hashing(move || argon2_phc(password.as_bytes())).await?
}

/// A real hash of a throwaway password, verified against when the account does not
/// exist, so that a sign-in takes as long for an unknown address as for a known one.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| argon2_phc(random_token(16).as_bytes()).unwrap_or_default());

/// Verifies a password against a stored hash (or the dummy hash), off the async runtime.
pub async fn verify_password(password: String, hash: Option<String>) -> bool {
    hashing(move || {
        let stored = hash.as_deref().unwrap_or(DUMMY_HASH.as_str());
        argon2_matches(password.as_bytes(), stored) && hash.is_some()
    })
    .await
    .unwrap_or(false)
}

/// An HMAC-SHA256 of a message under a key, hex, shortened to 128 bits.
pub fn mac(key: &[u8], message: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message.as_bytes());
    mac.finalize().into_bytes()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A random token of `bytes` bytes, hex encoded.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// A secret for a link or a setup code: 32 random bytes, hex encoded, and the SHA-256
/// of it (hex), which is all that is stored.
pub fn link_token() -> (String, String) {
    let token = random_token(32);
    let hash = token_hash(&token);
    (token, hash)
}

/// The stored form of a link token: its SHA-256, hex. Anything typed hashes to
/// something, so a lookup by this hash never needs the token to be well-formed.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.trim().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Compares two strings in time independent of where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A new TOTP secret (160 bits, as RFC 4226 recommends), base32 encoded.
pub fn new_totp_secret() -> String {
    let mut buf = [0u8; 20];
    OsRng.fill_bytes(&mut buf);
    Secret::Raw(buf.to_vec()).to_encoded().to_string()
}

fn totp(secret_base32: &str, account: &str) -> Option<TOTP> {
    let bytes = Secret::Encoded(secret_base32.to_owned()).to_bytes().ok()?;
    TOTP::new(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        bytes,
        Some("triage".to_owned()),
        account.to_owned(),
    )
    .ok()
}

/// The otpauth:// URL an authenticator app reads from the QR code.
pub fn totp_url(secret_base32: &str, account: &str) -> Option<String> {
    Some(totp(secret_base32, account)?.get_url())
}

/// The QR code of the otpauth URL as an SVG image (rendered by us, safe to embed).
pub fn totp_qr_svg(secret_base32: &str, account: &str) -> Option<String> {
    let url = totp_url(secret_base32, account)?;
    let code = qrcode::QrCode::new(url.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
    )
}

/// Checks a six-digit code against the secret at `unix_time`, allowing one step of clock
/// drift either way. Returns the accepted time step, which must be later than `last_step`
/// so that a code is never accepted twice (RFC 6238, section 5.2).
pub fn check_totp(secret_base32: &str, code: &str, unix_time: u64, last_step: i64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let totp = totp(secret_base32, "check")?;
    let step = (unix_time / 30) as i64;
    (step - 1..=step + 1)
        .filter(|s| *s > last_step && *s >= 0)
        .find(|s| constant_time_eq(&totp.generate(*s as u64 * 30), &code))
}

/// The code an authenticator shows at `unix_time` (used by the tests and the CLI's checks).
pub fn totp_code(secret_base32: &str, unix_time: u64) -> Option<String> {
    Some(totp(secret_base32, "code")?.generate(unix_time))
}

/// Ten one-time recovery codes, shown once; only their salted argon2id hashes are stored.
pub fn new_recovery_codes() -> Vec<String> {
    (0..10)
        .map(|_| {
            let t = random_token(5);
            format!("{}-{}", &t[..5], &t[5..])
        })
        .collect()
}

/// The SHA-256 of a normalised recovery code: the input of the stored argon2id hash
/// (and all that releases before issue 9 stored, unsalted; see [`hash_recovery_digest`]).
pub fn recovery_digest(code: &str) -> String {
    let normalised: String = code
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    Sha256::digest(normalised.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Hashes recovery codes for storage: argon2id of each normalised code's SHA-256, with
/// a salt of its own.
pub async fn hash_recovery_codes(codes: &[String]) -> anyhow::Result<Vec<String>> {
    let digests: Vec<String> = codes.iter().map(|c| recovery_digest(c)).collect();
    hash_recovery_digests(digests).await
}

/// Hashes SHA-256 digests of recovery codes (also the upgrade of digests stored unsalted).
pub async fn hash_recovery_digests(digests: Vec<String>) -> anyhow::Result<Vec<String>> {
    hashing(move || {
        digests
            .iter()
            .map(|d| argon2_phc(d.as_bytes()))
            .collect::<anyhow::Result<Vec<String>>>()
    })
    .await?
}

/// Which of the stored hashes a typed recovery code matches, if any.
pub async fn match_recovery_code(code: &str, stored: Vec<String>) -> Option<String> {
    let digest = recovery_digest(code);
    hashing(move || {
        stored
            .into_iter()
            .find(|h| argon2_matches(digest.as_bytes(), h))
    })
    .await
    .ok()
    .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_of_the_argon2_crate_verify_and_ours_follow_its_format() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let theirs = Argon2::default()
            .hash_password(b"correct horse", &SaltString::generate(&mut OsRng))
            .expect("hash")
            .to_string();
        assert!(argon2_matches(b"correct horse", &theirs));
        assert!(!argon2_matches(b"wrong horse", &theirs));
        let ours = argon2_phc(b"correct horse").expect("hash");
        let parsed = PasswordHash::new(&ours).expect("PHC string");
        assert!(
            Argon2::default()
                .verify_password(b"correct horse", &parsed)
                .is_ok()
        );
        assert!(!argon2_matches(b"x", "not a hash"));
    }

    #[tokio::test]
    async fn passwords_verify_only_with_the_right_password() {
        let hash = hash_password("correct horse battery".into())
            .await
            .expect("hash");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery".into(), Some(hash.clone())).await);
        assert!(!verify_password("wrong horse battery".into(), Some(hash)).await);
        assert!(!verify_password("anything".into(), None).await);
    }

    #[test]
    fn totp_codes_follow_rfc_6238_and_are_not_accepted_twice() {
        // RFC 6238 appendix B: secret "12345678901234567890", SHA-1, T = 59 s -> 94287082 (8 digits);
        // with 6 digits the code is the last six: 287082.
        let secret = Secret::Raw(b"12345678901234567890".to_vec())
            .to_encoded()
            .to_string();
        let step = check_totp(&secret, "287082", 59, 0).expect("valid code");
        assert_eq!(step, 1);
        assert_eq!(check_totp(&secret, "287082", 59, step), None, "replayed");
        assert_eq!(check_totp(&secret, "000000", 59, 0), None);
        assert_eq!(check_totp(&secret, "28708", 59, 0), None);
        assert_eq!(check_totp(&secret, "abcdef", 59, 0), None);
    }

    #[tokio::test]
    async fn recovery_codes_are_stored_salted_and_match_only_themselves() {
        let codes = new_recovery_codes();
        let stored = hash_recovery_codes(&codes[..2]).await.expect("hash");
        assert!(stored.iter().all(|h| h.starts_with("$argon2id$")));
        let again = hash_recovery_codes(&codes[..1]).await.expect("hash");
        assert_ne!(stored[0], again[0], "salted");
        let found =
            match_recovery_code(&format!(" {} ", codes[1].to_uppercase()), stored.clone()).await;
        assert_eq!(found.as_deref(), Some(stored[1].as_str()));
        assert_eq!(match_recovery_code(&codes[2], stored).await, None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_hashes_run_at_once_than_there_are_slots() {
        let runs = (0..12).map(|i| tokio::spawn(verify_password(format!("attempt {i}"), None)));
        for run in runs {
            assert!(!run.await.expect("join"));
        }
        assert!(hashing_peak() >= 1);
        assert!(
            hashing_peak() <= default_hash_concurrency(),
            "{}",
            hashing_peak()
        );
    }

    #[test]
    fn macs_depend_on_key_and_message() {
        assert_eq!(mac(b"k", "m"), mac(b"k", "m"));
        assert_ne!(mac(b"k", "m"), mac(b"k2", "m"));
        assert_ne!(mac(b"k", "m"), mac(b"k", "m2"));
        assert_eq!(mac(b"k", "m").len(), 32);
    }

    #[test]
    fn recovery_codes_are_distinct_and_digests_forgive_case_and_spaces() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 10);
        assert_eq!(
            recovery_digest(&codes[0]),
            recovery_digest(&format!(" {} ", codes[0].to_uppercase()))
        );
    }

    #[test]
    fn a_qr_code_is_an_svg_of_the_otpauth_url() {
        let secret = new_totp_secret();
        assert!(
            totp_url(&secret, "ana@example.org")
                .expect("url")
                .starts_with("otpauth://totp/")
        );
        assert!(
            totp_qr_svg(&secret, "ana@example.org")
                .expect("svg")
                .contains("<svg")
        );
    }
}
