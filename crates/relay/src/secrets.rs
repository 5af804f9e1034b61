//! The server's own secrets: generated on first run into `<data>/secrets/` (mode 0600), or taken
//! from the environment when the operator sets them (`PDS_JWT_SECRET`, …).

use std::io::Write;
use std::path::Path;

use crypto::seal::MasterKey;
use crypto::{Algorithm, Keypair};

use crate::config::ServeArgs;

pub struct Secrets {
    /// HMAC key for session JWTs.
    pub jwt_secret: Vec<u8>,
    /// Secret for DPoP nonces (OAuth).
    pub dpop_secret: Vec<u8>,
    pub admin_password: String,
    /// The relay's did:plc rotation key (K-256).
    pub plc_rotation_key: Keypair,
    /// Seals per-account repo signing keys at rest.
    pub master_key: std::sync::Arc<MasterKey>,
    /// True when the admin password was generated just now (print it once).
    pub admin_password_generated: bool,
}

impl Secrets {
    pub fn load_or_create(data_dir: &Path, args: &ServeArgs) -> Result<Secrets, String> {
        let dir = data_dir.join("secrets");
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        restrict_dir(&dir)?;
        let jwt_secret = match &args.jwt_secret {
            Some(s) => s.as_bytes().to_vec(),
            None => hex_secret(&dir.join("jwt_secret"))?.into_bytes(),
        };
        let dpop_secret = match &args.dpop_secret {
            Some(s) => s.as_bytes().to_vec(),
            None => hex_secret(&dir.join("dpop_secret"))?.into_bytes(),
        };
        let (admin_password, admin_password_generated) = match &args.admin_password {
            Some(p) => (p.clone(), false),
            None => {
                let path = dir.join("admin_password");
                let existed = path.exists();
                (hex_secret(&path)?, !existed)
            }
        };
        let master_hex = read_or_create(&dir.join("master_key"), || {
            to_hex(&MasterKey::generate().to_bytes()[..])
        })?;
        let master_key = from_hex(master_hex.trim())
            .and_then(|b| MasterKey::from_bytes(&b).ok())
            .ok_or_else(|| {
                format!(
                    "{} is corrupt: it must hold 64 hex digits; restore it from backup (sealed keys need it)",
                    dir.join("master_key").display()
                )
            })?;
        // Sealed under the master key at rest (crate::custody), unless the operator supplies it.
        let plc_rotation_key = match &args.plc_rotation_key_k256_private_key_hex {
            Some(hex) => Keypair::from_hex(Algorithm::K256, hex).map_err(|e| {
                format!("the PLC rotation key is not a K-256 private key in hex: {e}")
            })?,
            None => crate::custody::load_or_create_rotation_key(&dir, &master_key)?,
        };
        Ok(Secrets {
            jwt_secret,
            dpop_secret,
            admin_password,
            plc_rotation_key,
            master_key: std::sync::Arc::new(master_key),
            admin_password_generated,
        })
    }
}

fn hex_secret(path: &Path) -> Result<String, String> {
    read_or_create(path, || {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).expect("the OS random source is available");
        to_hex(&bytes)
    })
}

/// Reads a secret file, or writes a new one (mode 0600, fsynced) on first run.
fn read_or_create(path: &Path, make: impl FnOnce() -> String) -> Result<String, String> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(s.trim().to_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let value = make();
            write_new_private(path, &value)?;
            Ok(value)
        }
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// Creates a secret file (mode 0600, fsynced); fails if it exists.
pub fn write_new_private(path: &Path, value: &str) -> Result<(), String> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    file.write_all(value.as_bytes())
        .and_then(|_| file.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn restrict_dir(dir: &Path) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("cannot restrict {}: {e}", dir.display()))?;
    }
    Ok(())
}

pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn from_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}
