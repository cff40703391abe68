//! Verifying `Upstash-Signature`: a compact HS256 JWT signed with the current (or, after a rotation,
//! the next) signing key, whose claims bind it to one URL (`sub`) and one body (`body`, the base64url
//! SHA-256 of the raw bytes), valid for five minutes.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// The claims of a verified signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Always `Upstash`.
    pub iss: String,
    /// The URL the message was delivered to.
    pub sub: String,
    /// Expiry (epoch seconds).
    pub exp: u64,
    /// Not before (epoch seconds; QStash sends 0).
    #[serde(default)]
    pub nbf: u64,
    /// Issued at (epoch seconds).
    #[serde(default)]
    pub iat: u64,
    /// A unique token id.
    #[serde(default)]
    pub jti: String,
    /// base64url of the SHA-256 of the body.
    pub body: String,
}

/// Why a signature was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// There was no `Upstash-Signature` header.
    #[error("missing Upstash-Signature header")]
    Missing,
    /// Not a compact HS256 JWT with readable claims.
    #[error("malformed signature")]
    Malformed,
    /// Neither key made this signature.
    #[error("signature verification failed")]
    BadSignature,
    /// `iss` is not `Upstash`.
    #[error("invalid issuer")]
    Issuer,
    /// `exp` has passed (beyond the clock tolerance).
    #[error("signature expired")]
    Expired,
    /// `nbf` or `iat` lies in the future (beyond the clock tolerance).
    #[error("signature not yet valid")]
    NotYetValid,
    /// `sub` is not the expected URL.
    #[error("invalid subject: {got}, want: {want}")]
    Subject { got: String, want: String },
    /// The body is not the one that was signed.
    #[error("body hash does not match")]
    BodyHash,
}

/// Verifies deliveries with the current and next signing keys.
#[derive(Clone)]
pub struct Receiver {
    current: String,
    next: String,
    tolerance_secs: u64,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("tolerance_secs", &self.tolerance_secs)
            .finish_non_exhaustive()
    }
}

impl Receiver {
    /// A receiver for the two keys (`QSTASH_CURRENT_SIGNING_KEY`, `QSTASH_NEXT_SIGNING_KEY`).
    pub fn new(current: impl Into<String>, next: impl Into<String>) -> Receiver {
        Receiver { current: current.into(), next: next.into(), tolerance_secs: 0 }
    }

    /// A receiver from `QSTASH_CURRENT_SIGNING_KEY` and `QSTASH_NEXT_SIGNING_KEY`.
    pub fn from_env() -> Result<Receiver, std::env::VarError> {
        Ok(Receiver::new(
            std::env::var("QSTASH_CURRENT_SIGNING_KEY")?,
            std::env::var("QSTASH_NEXT_SIGNING_KEY")?,
        ))
    }

    /// Accepts `exp`/`nbf`/`iat` off by up to `secs` (clock skew between QStash and this machine).
    pub fn with_clock_tolerance(mut self, secs: u64) -> Receiver {
        self.tolerance_secs = secs;
        self
    }

    /// Verifies `signature` for the raw `body`; with `url`, also that it was signed for that URL.
    pub fn verify(
        &self,
        signature: &str,
        body: &[u8],
        url: Option<&str>,
    ) -> Result<Claims, VerifyError> {
        self.verify_at(signature, body, url, now_secs())
    }

    /// [`Receiver::verify`] at a given time (epoch seconds).
    pub fn verify_at(
        &self,
        signature: &str,
        body: &[u8],
        url: Option<&str>,
        now: u64,
    ) -> Result<Claims, VerifyError> {
        let (signing_input, claims_b64, sig) = split(signature)?;
        // The key that made the signature decides; a token the current key made keeps its own error.
        let key_ok = |key: &str| {
            let mut mac =
                HmacSha256::new_from_slice(key.as_bytes()).expect("HMAC takes any key length");
            mac.update(signing_input.as_bytes());
            mac.verify_slice(&sig).is_ok()
        };
        if !key_ok(&self.current) && !key_ok(&self.next) {
            return Err(VerifyError::BadSignature);
        }
        let claims: Claims = serde_json::from_slice(
            &URL_SAFE_NO_PAD.decode(claims_b64).map_err(|_| VerifyError::Malformed)?,
        )
        .map_err(|_| VerifyError::Malformed)?;
        let tol = self.tolerance_secs;
        if claims.iss != "Upstash" {
            return Err(VerifyError::Issuer);
        }
        if now > claims.exp.saturating_add(tol) {
            return Err(VerifyError::Expired);
        }
        if claims.nbf > now.saturating_add(tol)
            || claims.iat > now.saturating_add(tol).saturating_add(60)
        {
            return Err(VerifyError::NotYetValid);
        }
        if let Some(want) = url
            && claims.sub != want
        {
            return Err(VerifyError::Subject { got: claims.sub, want: want.to_string() });
        }
        if claims.body.trim_end_matches('=') != body_hash(body).trim_end_matches('=') {
            return Err(VerifyError::BodyHash);
        }
        Ok(claims)
    }
}

fn split(token: &str) -> Result<(&str, &str, Vec<u8>), VerifyError> {
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
    Ok((&token[..h.len() + 1 + p.len()], p, sig))
}

/// base64url (padded, as QStash sends it) of the SHA-256 of `body`.
pub fn body_hash(body: &[u8]) -> String {
    URL_SAFE.encode(Sha256::digest(body))
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Signs claims the way QStash does, for tests of handlers (and for anything that must produce
/// QStash-compatible signatures): HS256 keyed with the key's UTF-8 bytes.
pub fn sign(key: &str, claims: &Claims) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
    let input = format!("{header}.{payload}");
    let mut mac = HmacSha256::new_from_slice(key.as_bytes()).expect("HMAC takes any key length");
    mac.update(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

/// The claims QStash would put in a delivery of `body` to `url` at `now` (epoch seconds).
pub fn claims_for(url: &str, body: &[u8], now: u64) -> Claims {
    use rand::Rng as _;
    let jti: String = (0..20)
        .map(|_| {
            const A: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
            A[rand::rng().random_range(0..A.len())] as char
        })
        .collect();
    Claims {
        iss: "Upstash".into(),
        sub: url.into(),
        exp: now + 300,
        nbf: 0,
        iat: now,
        jti: format!("jwt_{jti}"),
        body: body_hash(body),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const CUR: &str = "sig_current_key_for_the_tests_01";
    const NEXT: &str = "sig_next_key_for_the_tests_00001";
    const NOW: u64 = 1_800_000_000;

    fn valid(body: &[u8]) -> String {
        sign(CUR, &claims_for("https://app.example/api/hook", body, NOW))
    }

    #[test]
    fn accepts_current_and_next() {
        let r = Receiver::new(CUR, NEXT);
        let c =
            r.verify_at(&valid(b"hi"), b"hi", Some("https://app.example/api/hook"), NOW).unwrap();
        assert_eq!(c.iss, "Upstash");
        let t = sign(NEXT, &claims_for("u", b"", NOW));
        assert!(r.verify_at(&t, b"", None, NOW).is_ok());
    }

    #[test]
    fn rejects_the_classic_mistakes() {
        let r = Receiver::new(CUR, NEXT);
        let t = valid(b"body");
        assert_eq!(r.verify_at(&t, b"body ", None, NOW), Err(VerifyError::BodyHash));
        assert!(matches!(
            r.verify_at(&t, b"body", Some("https://other"), NOW),
            Err(VerifyError::Subject { .. })
        ));
        assert_eq!(r.verify_at(&t, b"body", None, NOW + 301), Err(VerifyError::Expired));
        assert!(r.clone().with_clock_tolerance(5).verify_at(&t, b"body", None, NOW + 301).is_ok());
        assert_eq!(
            Receiver::new("k1", "k2").verify_at(&t, b"body", None, NOW),
            Err(VerifyError::BadSignature)
        );
        let mut c = claims_for("u", b"", NOW);
        c.iss = "upstash".into();
        assert_eq!(r.verify_at(&sign(CUR, &c), b"", None, NOW), Err(VerifyError::Issuer));
        let mut c = claims_for("u", b"", NOW);
        c.nbf = NOW + 100;
        assert_eq!(r.verify_at(&sign(CUR, &c), b"", None, NOW), Err(VerifyError::NotYetValid));
        assert_eq!(r.verify_at("x.y", b"", None, NOW), Err(VerifyError::Malformed));
        assert_eq!(r.verify_at("", b"", None, NOW), Err(VerifyError::Malformed));
        // alg none
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims_for("u", b"", NOW)).unwrap())
        );
        assert_eq!(r.verify_at(&none, b"", None, NOW), Err(VerifyError::Malformed));
    }

    proptest! {
        /// Any single-character change anywhere in a valid token is rejected.
        #[test]
        fn mutated_tokens_are_rejected(pos in any::<prop::sample::Index>(), c in prop::char::range('-', 'z')) {
            let r = Receiver::new(CUR, NEXT);
            let t = valid(b"payload");
            let i = pos.index(t.len());
            let mut chars: Vec<char> = t.chars().collect();
            prop_assume!(chars[i] != c);
            chars[i] = c;
            let forged: String = chars.into_iter().collect();
            prop_assert!(r.verify_at(&forged, b"payload", None, NOW).is_err());
        }

        /// Any other body is rejected.
        #[test]
        fn other_bodies_are_rejected(body in prop::collection::vec(any::<u8>(), 0..64)) {
            prop_assume!(body.as_slice() != b"payload");
            let r = Receiver::new(CUR, NEXT);
            prop_assert_eq!(r.verify_at(&valid(b"payload"), &body, None, NOW), Err(VerifyError::BodyHash));
        }

        /// Tokens signed with any other key are rejected; expired ones too.
        #[test]
        fn wrong_keys_and_times(key in "[a-zA-Z0-9_]{8,40}", late in 301u64..100_000) {
            prop_assume!(key != CUR && key != NEXT);
            let r = Receiver::new(CUR, NEXT);
            let t = sign(&key, &claims_for("u", b"x", NOW));
            prop_assert_eq!(r.verify_at(&t, b"x", None, NOW), Err(VerifyError::BadSignature));
            prop_assert_eq!(r.verify_at(&valid(b"x"), b"x", None, NOW + late), Err(VerifyError::Expired));
        }
    }
}
