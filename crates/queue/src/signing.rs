//! `Upstash-Signature`: a compact HS256 JWT keyed with the UTF-8 bytes of the signing key, with the claims
//! QStash's receivers check (`iss`, `sub`, `exp`, `nbf`, `iat`, `jti`, `body`). See spec §5.

use base64::Engine as _;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// How long a signature is valid: five minutes.
pub const LIFETIME_SECS: u64 = 300;

/// The claims of a delivery's signature.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub exp: u64,
    pub nbf: u64,
    pub iat: u64,
    pub jti: String,
    pub body: String,
}

/// base64url (padded, as QStash emits it) of the SHA-256 of `body`.
pub fn body_hash(body: &[u8]) -> String {
    URL_SAFE.encode(Sha256::digest(body))
}

/// The `Upstash-Signature` for a delivery of `body` to `url`, signed with `key` at `now_secs`.
/// `iat` is back-dated a second (receivers with a slightly slow clock reject a future `iat`), `nbf` is 0.
pub fn sign(key: &str, url: &str, body: &[u8], now_secs: u64) -> String {
    let claims = Claims {
        iss: "Upstash".into(),
        sub: url.into(),
        exp: now_secs + LIFETIME_SECS,
        nbf: 0,
        iat: now_secs.saturating_sub(1),
        jti: format!("jwt_{}", random_id(24)),
        body: body_hash(body),
    };
    encode(key, &claims)
}

/// Encodes and signs arbitrary claims (tests mutate them).
pub fn encode(key: &str, claims: &impl Serialize) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
    let signing_input = format!("{header}.{payload}");
    let sig = URL_SAFE_NO_PAD.encode(hmac(key, signing_input.as_bytes()));
    format!("{signing_input}.{sig}")
}

fn hmac(key: &str, data: &[u8]) -> Vec<u8> {
    let mut mac =
        HmacSha256::new_from_slice(key.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("malformed token")]
    Malformed,
    #[error("signature verification failed")]
    BadSignature,
    #[error("invalid issuer")]
    Issuer,
    #[error("token expired")]
    Expired,
    #[error("token not yet valid")]
    NotYetValid,
    #[error("invalid subject: {0}")]
    Subject(String),
    #[error("body hash does not match")]
    BodyHash,
}

/// Verifies `token` against `current` then `next`, like the official receivers: HS256 only, issuer
/// `Upstash`, `exp`/`nbf` with `tolerance_secs`, `sub == url` when a url is given, and the body hash
/// (padding ignored).
pub fn verify(
    token: &str,
    current: &str,
    next: &str,
    body: &[u8],
    url: Option<&str>,
    now_secs: u64,
    tolerance_secs: u64,
) -> Result<Claims, VerifyError> {
    match verify_with(token, current, body, url, now_secs, tolerance_secs) {
        Ok(c) => Ok(c),
        // Only a signature that the current key did not make is tried with the next key; a token the
        // current key signed keeps its own error (expired, wrong body, ...).
        Err(VerifyError::BadSignature) => {
            verify_with(token, next, body, url, now_secs, tolerance_secs)
        }
        Err(e) => Err(e),
    }
}

fn verify_with(
    token: &str,
    key: &str,
    body: &[u8],
    url: Option<&str>,
    now: u64,
    tol: u64,
) -> Result<Claims, VerifyError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(VerifyError::Malformed);
    };
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).map_err(|_| VerifyError::Malformed)?)
            .map_err(|_| VerifyError::Malformed)?;
    if header.get("alg").and_then(|a| a.as_str()) != Some("HS256") {
        return Err(VerifyError::Malformed);
    }
    let sig = URL_SAFE_NO_PAD.decode(s).map_err(|_| VerifyError::Malformed)?;
    let mut mac =
        HmacSha256::new_from_slice(key.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(format!("{h}.{p}").as_bytes());
    mac.verify_slice(&sig).map_err(|_| VerifyError::BadSignature)?;
    let claims: Claims =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).map_err(|_| VerifyError::Malformed)?)
            .map_err(|_| VerifyError::Malformed)?;
    if claims.iss != "Upstash" {
        return Err(VerifyError::Issuer);
    }
    if now > claims.exp + tol {
        return Err(VerifyError::Expired);
    }
    if claims.nbf > now + tol {
        return Err(VerifyError::NotYetValid);
    }
    if let Some(url) = url
        && claims.sub != url
    {
        return Err(VerifyError::Subject(claims.sub));
    }
    if claims.body.trim_end_matches('=') != body_hash(body).trim_end_matches('=') {
        return Err(VerifyError::BodyHash);
    }
    Ok(claims)
}

/// A random id of `len` characters from `[0-9A-Za-z]`.
pub fn random_id(len: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::rng();
    (0..len).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

/// A fresh signing key: `sig_` and 28 base58 characters, like QStash's.
pub fn generate_signing_key() -> String {
    const B58: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    let mut rng = rand::rng();
    let tail: String = (0..28).map(|_| B58[rng.random_range(0..B58.len())] as char).collect();
    format!("sig_{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const CUR: &str = "sig_7kYjw48mhY7kAjqNGcy6cr29RJ6r";
    const NEXT: &str = "sig_5ZB6DVzB1wjE8S6rZ7eenA8Pdnhs";

    #[test]
    fn round_trip_with_current_and_next() {
        let t = sign(CUR, "http://x/a?b=1", b"hello", 1_000_000);
        let c = verify(&t, CUR, NEXT, b"hello", Some("http://x/a?b=1"), 1_000_000, 0).unwrap();
        assert_eq!(c.iss, "Upstash");
        assert_eq!(c.nbf, 0);
        assert_eq!(c.exp, 1_000_300);
        assert!(c.jti.starts_with("jwt_"));
        let t = sign(NEXT, "u", b"", 5);
        assert!(verify(&t, CUR, NEXT, b"", None, 5, 0).is_ok());
    }

    #[test]
    fn rejections() {
        let t = sign(CUR, "u", b"body", 100);
        assert_eq!(verify(&t, "k1", "k2", b"body", None, 100, 0), Err(VerifyError::BadSignature));
        assert_eq!(verify(&t, CUR, NEXT, b"other", None, 100, 0), Err(VerifyError::BodyHash));
        assert_eq!(verify(&t, CUR, NEXT, b"body", None, 401, 0), Err(VerifyError::Expired));
        assert!(verify(&t, CUR, NEXT, b"body", None, 401, 1).is_ok());
        assert_eq!(
            verify(&t, CUR, NEXT, b"body", Some("v"), 100, 0),
            Err(VerifyError::Subject("u".into()))
        );
        assert_eq!(verify("a.b", CUR, NEXT, b"", None, 0, 0), Err(VerifyError::Malformed));
    }

    #[test]
    fn body_hash_is_padded_base64url_sha256() {
        // sha256("") = e3b0c442...; base64url with padding is 44 characters.
        let h = body_hash(b"");
        assert_eq!(h, "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU=");
    }

    #[test]
    fn generated_keys() {
        let k = generate_signing_key();
        assert_eq!(k.len(), 32);
        assert!(k.starts_with("sig_"));
    }
}
