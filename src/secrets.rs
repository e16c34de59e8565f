//! Secrets at rest: the master key and authenticated encryption of stored credentials.
//!
//! Channel credentials, LLM API keys and similar values are sealed with XChaCha20-Poly1305
//! under the master key before they reach the database, and are never returned by the API.

use std::path::Path;

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

/// Why a secret could not be sealed, opened or loaded.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The key is not 64 hex characters.
    #[error("must be 64 hex characters (32 bytes)")]
    BadKey,
    /// The sealed value was altered, truncated, or sealed under another key.
    #[error("sealed value cannot be opened (wrong master key or corrupted)")]
    Open,
    /// The key file could not be read or written.
    #[error("master key file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
}

/// The 32-byte key that seals secrets.
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey([REDACTED])")
    }
}

impl MasterKey {
    /// Parses 64 hex characters.
    pub fn from_hex(s: &str) -> Result<Self, SecretError> {
        let bytes = hex::decode(s.trim()).map_err(|_| SecretError::BadKey)?;
        let arr: [u8; 32] = bytes.try_into().map_err(|_| SecretError::BadKey)?;
        Ok(Self(arr))
    }

    /// Reads `path`, or creates it with a fresh random key (mode 0600) when it does not exist.
    pub fn load_or_create(path: &Path) -> Result<Self, SecretError> {
        let io = |source| SecretError::Io {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(s) => Self::from_hex(&s),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(io)?;
                }
                let mut key = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut key);
                write_private(path, hex::encode(key).as_bytes()).map_err(io)?;
                Ok(Self(key))
            }
            Err(e) => Err(io(e)),
        }
    }

    /// A 32-byte key for one purpose, derived from the master key, so a key used to sign
    /// (say) visitor tokens reveals nothing about the key sealing secrets.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(b"switchboard:");
        h.update(purpose.as_bytes());
        h.update(b":");
        h.update(self.0);
        h.finalize().into()
    }

    /// Encrypts `plain`; the result is `base64(nonce || ciphertext)`.
    pub fn seal(&self, plain: &str) -> String {
        let cipher = XChaCha20Poly1305::new((&self.0).into());
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        // Encryption with a valid key and nonce cannot fail for in-memory buffers.
        let sealed = cipher
            .encrypt(XNonce::from_slice(&nonce), plain.as_bytes())
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend(sealed);
        base64::engine::general_purpose::STANDARD.encode(out)
    }

    /// Decrypts a value produced by `seal`.
    pub fn open(&self, sealed: &str) -> Result<String, SecretError> {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(sealed)
            .map_err(|_| SecretError::Open)?;
        if raw.len() < 24 {
            return Err(SecretError::Open);
        }
        let (nonce, body) = raw.split_at(24);
        let cipher = XChaCha20Poly1305::new((&self.0).into());
        let plain = cipher
            .decrypt(XNonce::from_slice(nonce), body)
            .map_err(|_| SecretError::Open)?;
        String::from_utf8(plain).map_err(|_| SecretError::Open)
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_with_the_same_key_only() {
        let k = MasterKey::from_hex(&"11".repeat(32)).unwrap();
        let other = MasterKey::from_hex(&"22".repeat(32)).unwrap();
        let sealed = k.seal("whatsapp-token");
        assert_ne!(sealed, "whatsapp-token");
        assert_eq!(k.open(&sealed).unwrap(), "whatsapp-token");
        assert!(other.open(&sealed).is_err());
        assert!(k.open("garbage").is_err());
    }

    #[test]
    fn a_missing_key_file_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let a = MasterKey::load_or_create(&path).unwrap();
        let b = MasterKey::load_or_create(&path).unwrap();
        assert_eq!(a.0, b.0);
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(MasterKey::from_hex("abcd").is_err());
    }
}
