//! Personal data under a keyed hash: every e-mail, IP, device id, card
//! fingerprint, address and customer id that allot keeps (in decision
//! records, and as the fraud feature store's keys) is an HMAC-SHA-256 under
//! a secret key, recorded with the key's id: equal values still match, and
//! without the key no value can be recovered by hashing guesses (the
//! unsalted hash of an IP address or a short id could). docs/security.md.
//!
//! The key comes from `privacy.key_file`; without one, allot creates a
//! random key in `<decisions.dir>/privacy.key` (owner-only) on first start
//! and keeps using it.

use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::hash::sha256_hex;

/// Bytes of a key allot generates; a configured key must have at least as
/// many.
pub const KEY_BYTES: usize = 32;

/// Name of the generated key file in the decision log directory.
pub const GENERATED_KEY_FILE: &str = "privacy.key";

/// `[privacy]`: the key personal data is hashed with.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PrivacyConfig {
    /// File holding the secret key (its raw bytes, at least 32; e.g. `head
    /// -c 32 /dev/urandom > key`). None: `<decisions.dir>/privacy.key`,
    /// created on first start.
    pub key_file: Option<PathBuf>,
    /// The key's id, recorded beside each hash (letters, digits, `-`, `_`,
    /// `.`, at most 32). Empty: `k` and the first 8 hex digits of the
    /// key's SHA-256.
    pub key_id: String,
}

/// Why the key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    /// The key file could not be read or created.
    #[error("privacy.key_file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
    /// The key is too short to be a secret.
    #[error(
        "privacy.key_file {path}: the key has {bytes} bytes, at least {KEY_BYTES} are needed (head -c 32 /dev/urandom > {path})"
    )]
    Short {
        /// The file.
        path: String,
        /// Its length.
        bytes: usize,
    },
    /// The key id cannot be recorded as is.
    #[error("privacy.key_id {0:?}: letters, digits, '-', '_' and '.' only, 1 to 32 of them")]
    KeyId(String),
}

/// Keyed hashing of personal values (see the module documentation).
#[derive(Clone)]
pub struct Pseudonymizer {
    key_id: String,
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for Pseudonymizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pseudonymizer")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl Pseudonymizer {
    /// Hashing under `key`, recorded as `key_id` (empty: derived from the
    /// key).
    pub fn new(key: &[u8], key_id: &str) -> Result<Pseudonymizer, PrivacyError> {
        let key_id = if key_id.is_empty() {
            format!("k{}", &sha256_hex(key)[..8])
        } else {
            key_id.to_string()
        };
        let valid = (1..=32).contains(&key_id.len())
            && key_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !valid {
            return Err(PrivacyError::KeyId(key_id));
        }
        let mac = Hmac::<Sha256>::new_from_slice(key).map_err(|_| PrivacyError::Short {
            path: String::new(),
            bytes: key.len(),
        })?;
        Ok(Pseudonymizer { key_id, mac })
    }

    /// The configured key, or the generated one in `decisions_dir` (created
    /// owner-only on first use). Blocking.
    pub fn load(config: &PrivacyConfig, decisions_dir: &Path) -> Result<Self, PrivacyError> {
        let path = match &config.key_file {
            Some(path) => path.clone(),
            None => {
                let path = decisions_dir.join(GENERATED_KEY_FILE);
                create_key_if_missing(&path)?;
                path
            }
        };
        let shown = path.display().to_string();
        let io = |source| PrivacyError::Io {
            path: shown.clone(),
            source,
        };
        let key = std::fs::read(&path).map_err(io)?;
        if key.len() < KEY_BYTES {
            return Err(PrivacyError::Short {
                path: shown,
                bytes: key.len(),
            });
        }
        if let Ok(meta) = std::fs::metadata(&path)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(file = %shown, "the privacy key file is readable by others than its owner: chmod 600 it");
        }
        Pseudonymizer::new(&key, &config.key_id)
    }

    /// The id recorded beside each hash.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// `value` as kept: `hmac:<key id>:<64 hex digits>`; empty stays empty.
    /// Nothing is trusted because of its form: a value that already looks
    /// like a hash is hashed again.
    pub fn pseudonym(&self, value: &str) -> String {
        if value.is_empty() {
            return String::new();
        }
        let mut mac = self.mac.clone();
        mac.update(b"value\0");
        mac.update(value.as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut out = format!("hmac:{}:", self.key_id);
        for byte in digest {
            use std::fmt::Write as _;
            let _ = write!(out, "{byte:02x}");
        }
        out
    }

    /// The fraud feature store's key of an identity (`kind` keeps kinds
    /// apart: a customer id equal to someone's e-mail is another entity).
    pub fn entity_key(&self, kind: &str, value: &str) -> u64 {
        let mut mac = self.mac.clone();
        mac.update(b"entity\0");
        mac.update(kind.as_bytes());
        mac.update(b"\0");
        mac.update(value.as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_le_bytes(first)
    }
}

impl allot_models::features::EntityKeys for Pseudonymizer {
    fn key(&self, kind: &str, id: &str) -> u64 {
        self.entity_key(kind, id)
    }
}

/// Writes a fresh random key to `path` (mode 0600) unless it exists.
fn create_key_if_missing(path: &Path) -> Result<(), PrivacyError> {
    let io = |source| PrivacyError::Io {
        path: path.display().to_string(),
        source,
    };
    if path.exists() {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut key = [0u8; KEY_BYTES];
    rand::rng().fill_bytes(&mut key);
    let mut file = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(file) => file,
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(io(e)),
    };
    file.write_all(&key).map_err(io)?;
    file.sync_all().map_err(io)?;
    tracing::info!(file = %path.display(), "privacy key created (personal data is hashed with it; back it up with the decision log)");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_keyed_and_carry_the_key_id() {
        let a = Pseudonymizer::new(&[7u8; 32], "k1").unwrap();
        let b = Pseudonymizer::new(&[8u8; 32], "k2").unwrap();
        let ann = a.pseudonym("ann@example.com");
        assert!(ann.starts_with("hmac:k1:"), "{ann}");
        assert_eq!(ann.len(), "hmac:k1:".len() + 64);
        assert_eq!(ann, a.pseudonym("ann@example.com"), "equal values match");
        assert_ne!(ann, a.pseudonym("bob@example.com"));
        assert_ne!(
            ann[8..],
            b.pseudonym("ann@example.com")[8..],
            "another key, another hash"
        );
        assert_ne!(
            a.pseudonym(&ann),
            ann,
            "a value shaped like a hash is hashed too"
        );
        assert_eq!(a.pseudonym(""), "");
        assert_ne!(a.entity_key("email", "x"), a.entity_key("customer", "x"));
        assert_ne!(a.entity_key("email", "x"), b.entity_key("email", "x"));
    }

    #[test]
    fn a_generated_key_is_owner_only_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = Pseudonymizer::load(&PrivacyConfig::default(), dir.path()).unwrap();
        let path = dir.path().join(GENERATED_KEY_FILE);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = Pseudonymizer::load(&PrivacyConfig::default(), dir.path()).unwrap();
        assert_eq!(first.key_id(), again.key_id());
        assert_eq!(first.pseudonym("v"), again.pseudonym("v"));
    }

    #[test]
    fn short_keys_and_odd_ids_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let short = dir.path().join("short.key");
        std::fs::write(&short, b"password").unwrap();
        let config = PrivacyConfig {
            key_file: Some(short),
            key_id: String::new(),
        };
        let error = Pseudonymizer::load(&config, dir.path()).unwrap_err();
        assert!(
            matches!(error, PrivacyError::Short { bytes: 8, .. }),
            "{error}"
        );
        assert!(matches!(
            Pseudonymizer::new(&[1u8; 32], "bad id"),
            Err(PrivacyError::KeyId(_))
        ));
    }
}
