//! Which model file exactly is serving.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use super::gates::GateOutcome;
use crate::scoring::ModelCard;

/// One loaded model version, as operators and decision records name it.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelIdentity {
    /// Model name from the card (`fraud`, `eta`).
    pub name: String,
    /// Version from the card.
    pub version: String,
    /// Hex SHA-256 of the model file, computed from the file at load.
    pub sha256: String,
    /// The model file.
    pub path: PathBuf,
    /// When this server loaded it.
    pub loaded_at: SystemTime,
    /// The gates it passed, in order.
    pub gates: Vec<GateOutcome>,
}

/// Hex SHA-256 of the file at `path`.
pub fn file_sha256(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(format!("{:x}", hasher.finalize()))
}

/// The SHA-256 the card records for its ONNX file (`onnx.sha256`), when it
/// records one.
pub fn card_sha256(card: &ModelCard) -> Option<&str> {
    card.extra
        .get("onnx")
        .and_then(|onnx| onnx.get("sha256"))
        .and_then(|v| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_models_hash_to_their_cards() {
        let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR")));
        for name in ["fraud", "eta"] {
            let card = ModelCard::load(&dir.join(format!("cards/{name}.json"))).unwrap();
            let sha = file_sha256(&dir.join(format!("{name}.onnx"))).unwrap();
            assert_eq!(Some(sha.as_str()), card_sha256(&card), "{name}");
        }
    }
}
