//! The keys made at onboarding.

use crypto::recovery::{split, RecoverySeed, Share};
use crypto::{Algorithm, Keypair};

/// Everything the phone makes before it talks to the relay: its device key, the recovery seed
/// and the seed's three shares (1: platform keychain, 2: relay escrow, 3: the user's choice).
pub struct Onboarding {
    pub device_key: Keypair,
    pub seed: RecoverySeed,
    pub shares: [Share; 3],
}

impl Onboarding {
    /// A new P-256 device key (what a Secure Enclave makes) and a new split recovery seed.
    pub fn generate() -> Onboarding {
        let seed = RecoverySeed::generate();
        let shares = split(&seed);
        Onboarding {
            device_key: Keypair::generate(Algorithm::P256),
            seed,
            shares,
        }
    }

    pub fn recovery_key(&self) -> Keypair {
        self.seed.recovery_key()
    }
}

/// A device key as stored in a file by the CLI: `p256:` or `k256:` and the scalar in hex.
pub fn encode_device_key(key: &Keypair) -> zeroize::Zeroizing<String> {
    let alg = match key.algorithm() {
        Algorithm::P256 => "p256",
        Algorithm::K256 => "k256",
    };
    zeroize::Zeroizing::new(format!("{alg}:{}", key.to_hex().as_str()))
}

/// Reads [`encode_device_key`]'s form.
pub fn decode_device_key(text: &str) -> Result<Keypair, String> {
    let (alg, hex) = text
        .trim()
        .split_once(':')
        .ok_or("a device key file holds `p256:<hex>` or `k256:<hex>`")?;
    let alg = match alg {
        "p256" => Algorithm::P256,
        "k256" => Algorithm::K256,
        other => return Err(format!("unsupported key type {other:?} (p256 or k256)")),
    };
    Keypair::from_hex(alg, hex).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_keys_round_trip_through_their_file_form() {
        let key = Keypair::generate(Algorithm::P256);
        let again = decode_device_key(&encode_device_key(&key)).unwrap();
        assert_eq!(again.did_key(), key.did_key());
        assert!(decode_device_key("ed25519:00").is_err());
    }
}
