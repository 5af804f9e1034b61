//! The relay's PLC rotation key at rest: sealed under the master key
//! (`secrets/plc_rotation_key_k256.sealed`, purpose `plc-rotation-key`), like the repo signing
//! keys, never written or logged in the clear. A plain-hex file left by an earlier version is
//! sealed on first start and removed.

use std::path::Path;

use crypto::seal::MasterKey;
use crypto::{Algorithm, Keypair};

const SEALED_FILE: &str = "plc_rotation_key_k256.sealed";
/// What earlier versions wrote: the scalar in hex.
const LEGACY_PLAIN_FILE: &str = "plc_rotation_key_k256";
const PURPOSE: &str = "plc-rotation-key";

/// The rotation key from `dir`, made (or moved from the legacy plain file) on first start.
pub fn load_or_create_rotation_key(dir: &Path, master: &MasterKey) -> Result<Keypair, String> {
    let sealed_path = dir.join(SEALED_FILE);
    let legacy_path = dir.join(LEGACY_PLAIN_FILE);
    match std::fs::read_to_string(&sealed_path) {
        Ok(text) => {
            let sealed = crate::secrets::from_hex(text.trim())
                .ok_or_else(|| format!("{} is corrupt (not hex)", sealed_path.display()))?;
            let plain = master.open(PURPOSE, &sealed).map_err(|_| {
                format!(
                    "{} does not open with the master key: restore both from the same backup",
                    sealed_path.display()
                )
            })?;
            let key = Keypair::from_bytes(Algorithm::K256, &plain)
                .map_err(|e| format!("{} holds no K-256 key: {e}", sealed_path.display()))?;
            // A legacy file next to a sealed key is a leftover copy in the clear.
            if legacy_path.exists() {
                std::fs::remove_file(&legacy_path)
                    .map_err(|e| format!("cannot remove {}: {e}", legacy_path.display()))?;
            }
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = match std::fs::read_to_string(&legacy_path) {
                Ok(hex) => Keypair::from_hex(Algorithm::K256, &hex).map_err(|e| {
                    format!(
                        "{} is not a K-256 private key in hex: {e}",
                        legacy_path.display()
                    )
                })?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    Keypair::generate(Algorithm::K256)
                }
                Err(e) => return Err(format!("cannot read {}: {e}", legacy_path.display())),
            };
            let sealed = master.seal(PURPOSE, &key.to_bytes()[..]);
            crate::secrets::write_new_private(&sealed_path, &crate::secrets::to_hex(&sealed))?;
            if legacy_path.exists() {
                std::fs::remove_file(&legacy_path)
                    .map_err(|e| format!("cannot remove {}: {e}", legacy_path.display()))?;
            }
            Ok(key)
        }
        Err(e) => Err(format!("cannot read {}: {e}", sealed_path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_sealed_at_rest_and_a_legacy_plain_key_is_moved() {
        let dir = tempfile::tempdir().unwrap();
        let master = MasterKey::generate();
        let plain = Keypair::generate(Algorithm::K256);
        std::fs::write(dir.path().join(LEGACY_PLAIN_FILE), plain.to_hex().as_str()).unwrap();

        let key = load_or_create_rotation_key(dir.path(), &master).unwrap();
        assert_eq!(key.did_key(), plain.did_key());
        assert!(!dir.path().join(LEGACY_PLAIN_FILE).exists());
        let stored = std::fs::read_to_string(dir.path().join(SEALED_FILE)).unwrap();
        assert!(!stored.contains(plain.to_hex().as_str()));

        let again = load_or_create_rotation_key(dir.path(), &master).unwrap();
        assert_eq!(again.did_key(), plain.did_key());
        assert!(load_or_create_rotation_key(dir.path(), &MasterKey::generate()).is_err());

        let fresh = tempfile::tempdir().unwrap();
        let made = load_or_create_rotation_key(fresh.path(), &master).unwrap();
        let reread = load_or_create_rotation_key(fresh.path(), &master).unwrap();
        assert_eq!(made.did_key(), reread.did_key());
    }
}
