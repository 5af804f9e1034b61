//! Account migration, both directions, as the standard flow runs it (the atproto
//! account-migration guide, goat, the reference PDS):
//!
//! 1. `createAccount` with an existing DID and a service JWT the old host minted for it
//!    ([`create`]): the account starts deactivated, with an empty repo, and emits nothing.
//! 2. `importRepo` ([`import`]): the CAR is verified completely and replaces the repo; the
//!    same CAR again changes nothing; later commits get revs above the imported one.
//! 3. `listMissingBlobs` / `uploadBlob`: blobs arriving after the import are linked to the
//!    records that reference them ([`import`]), so they are kept.
//! 4. `getRecommendedDidCredentials`, `requestPlcOperationSignature`, `signPlcOperation`,
//!    `submitPlcOperation` ([`plc_ops`]): the identity is pointed here; an operation that would
//!    leave this server unable to serve the account is refused.
//! 5. `activateAccount` ([`activate`]): checks the DID document names this server and the
//!    account's key, re-signs an imported head with that key (a `#commit`), then `#sync`.
//!
//! Leaving is the same flow run by the new host; here the account is deactivated and can still
//! log in and export its repo and blobs.

pub mod activate;
pub mod create;
pub mod import;
pub mod plc_ops;
