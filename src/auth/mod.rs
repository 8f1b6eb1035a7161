//! Authentication building blocks: password hashing, TOTP, recovery codes and
//! random tokens. No web or database types here.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{LazyLock, OnceLock};

use argon2::Argon2;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use totp_rs::{Algorithm, Secret, TOTP};

/// Argon2 needs 19 MiB for each hash: at most this many run at once, the others wait.
/// Unbounded, 32 simultaneous sign-ins took the process from 12 MiB to 622 MiB.
static HASH_SLOTS: OnceLock<Semaphore> = OnceLock::new();
/// Hashes running now, and the most that ever ran at once (for tests and the drill).
static HASHING_NOW: AtomicUsize = AtomicUsize::new(0);
static HASHING_PEAK: AtomicUsize = AtomicUsize::new(0);

/// The default: one hash per core, at most four.
pub fn default_hash_concurrency() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
}

/// Sets how many hashes may run at once; only the first call (before any hashing) counts.
pub fn limit_hash_concurrency(slots: usize) {
    let _ = HASH_SLOTS.set(Semaphore::new(slots.max(1)));
}

/// How many hashes may run at once.
pub fn hash_concurrency() -> usize {
    slots().available_permits()
}

fn slots() -> &'static Semaphore {
    HASH_SLOTS.get_or_init(|| Semaphore::new(default_hash_concurrency()))
}

/// The most hashes that ran at once since the program started.
pub fn hashing_peak() -> usize {
    HASHING_PEAK.load(Ordering::SeqCst)
}

/// Runs slow hashing off the async runtime, holding one of the bounded slots.
async fn hashing<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> anyhow::Result<T> {
    let _slot = slots()
        .acquire()
        .await
        .map_err(|e| anyhow::anyhow!("hashing slots closed: {e}"))?;
    tokio::task::spawn_blocking(move || {
        let running = HASHING_NOW.fetch_add(1, Ordering::SeqCst) + 1;
        HASHING_PEAK.fetch_max(running, Ordering::SeqCst);
        let out = work();
        HASHING_NOW.fetch_sub(1, Ordering::SeqCst);
        out
    })
    .await
    .map_err(anyhow::Error::from)
}

fn argon2_phc(secret: &[u8]) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(secret, &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing: {e}"))
}

fn argon2_matches(secret: &[u8], phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| Argon2::default().verify_password(secret, &parsed).is_ok())
        .unwrap_or(false)
}

/// Hashes a password with argon2id, off the async runtime (it is slow on purpose).
pub async fn hash_password(password: String) -> anyhow::Result<String> {
    hashing(move || argon2_phc(password.as_bytes())).await?
}

/// A real hash of a throwaway password, verified against when the account does not
/// exist, so that a sign-in takes as long for an unknown address as for a known one.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    Argon2::default()
        .hash_password(
            random_token(16).as_bytes(),
            &SaltString::generate(&mut OsRng),
        )
        .map(|h| h.to_string())
        .unwrap_or_default()
});

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
        Algorithm::SHA1,
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
