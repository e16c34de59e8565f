//! Random tokens for sessions, CSRF and API keys, and their stored hashes.

use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Every API key starts with this, so leaked keys are easy to spot in code and logs.
pub const API_KEY_PREFIX: &str = "sbk_";

/// 256 random bits, URL-safe base64.
pub fn new_token() -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// A new API key secret and the prefix shown in listings.
pub fn new_api_key() -> (String, String) {
    let secret = format!("{API_KEY_PREFIX}{}", new_token());
    let prefix = secret.chars().take(API_KEY_PREFIX.len() + 6).collect();
    (secret, prefix)
}

/// SHA-256 hex of a token. Tokens carry 256 bits of entropy, so a fast hash suffices.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_keys_are_prefixed_and_unique() {
        let (a, pa) = new_api_key();
        let (b, _) = new_api_key();
        assert!(a.starts_with(API_KEY_PREFIX) && a.starts_with(&pa));
        assert_ne!(a, b);
        assert_eq!(hash_token(&a), hash_token(&a));
        assert_ne!(hash_token(&a), hash_token(&b));
    }
}
