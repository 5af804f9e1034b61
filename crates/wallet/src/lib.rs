//! The user's side of sovereign identity (DESIGN.md §4–5): the keys that keep control of a
//! did:plc identity away from the operator, and the client of the relay's /v1 API.
//!
//! - [`keys`]: the device key (highest rotation key), the recovery seed and key (second), and
//!   the 2-of-3 split of the seed ([`keys::Onboarding`]).
//! - [`signing`]: signed /v1 requests (method, path, timestamp, nonce, body hash) and the
//!   proof a device gives when it registers (it signs a relay challenge).
//! - [`api`]: the /v1 request and response bodies, shared with the relay so both sides agree.
//! - [`client`]: the provisioning client as data in, data out: it builds [`client::Request`]s
//!   and reads responses, and the caller moves the bytes. Nothing here opens a socket or a
//!   file, so an iOS app binds to it with its own networking and keychain.
//! - [`override_op`]: the operation that takes the relay's rotation key out of the DID, signed
//!   by the recovery or the device key.
//!
//! The `wallet` command (src/bin/wallet.rs) is the thin layer doing the I/O.
//!
//! ```
//! use wallet::keys::Onboarding;
//! use crypto::recovery::combine;
//!
//! let onboarding = Onboarding::generate();
//! let [one, two, _three] = onboarding.shares.clone();
//! let rebuilt = combine(&[one, two])?;
//! assert_eq!(rebuilt.recovery_key().did_key(), onboarding.recovery_key().did_key());
//! # Ok::<(), crypto::recovery::ShareError>(())
//! ```

pub mod api;
pub mod client;
pub mod keys;
pub mod override_op;
pub mod signing;
