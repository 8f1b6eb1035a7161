//! Authentication building blocks: password hashing, TOTP, recovery codes and
//! random tokens. No web or database types here.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use std::sync::LazyLock;

use argon2::Argon2;
use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, Secret, TOTP};

/// Hashes a password with argon2id, off the async runtime (it is slow on purpose).
pub async fn hash_password(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
    })
    .await?
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
    tokio::task::spawn_blocking(move || {
        let stored = hash.as_deref().unwrap_or(DUMMY_HASH.as_str());
        let ok = PasswordHash::new(stored)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false);
        ok && hash.is_some()
    })
    .await
    .unwrap_or(false)
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

/// Ten one-time recovery codes, shown once; only their digests are stored.
pub fn new_recovery_codes() -> Vec<String> {
    (0..10)
        .map(|_| {
            let t = random_token(5);
            format!("{}-{}", &t[..5], &t[5..])
        })
        .collect()
}

/// The stored digest of a recovery code (they are random, so a fast hash suffices).
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
