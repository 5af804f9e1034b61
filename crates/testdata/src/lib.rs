//! Where the shared conformance material (`../shared`: the official vectors, the upstream
//! lexicons) is, for every crate's tests and the L1 runner, with one rule for when it is missing.
//!
//! The folder is `ATPROTO_SHARED` if set, else `shared/` beside the workspace. A test asks for
//! the sub-folder it needs with [`vectors`]: when it is missing, that is a failure under
//! `CI=true` (a conformance suite that silently skips is a defect) and a loud skip otherwise, so a
//! checkout without the shared data still builds and tests.
//!
//! ```
//! if let Some(dir) = testdata::vectors("atproto-interop-tests/crypto") {
//!     assert!(dir.join("signature-fixtures.json").is_file());
//! }
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};

/// The shared folder: `ATPROTO_SHARED`, else `<workspace>/../shared`.
pub fn shared_dir() -> PathBuf {
    std::env::var_os("ATPROTO_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
}

/// Whether this run is CI's (`CI=true`), where missing shared data is a failure.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The folder `relative` under the shared folder, if it is there. If not: panics under
/// `CI=true`, otherwise prints a loud SKIPPED line and returns `None`.
pub fn vectors(relative: &str) -> Option<PathBuf> {
    let dir = shared_dir().join(relative);
    if dir.exists() {
        return Some(dir);
    }
    let message = format!("shared test data not found at {}", dir.display());
    assert!(!in_ci(), "{message} (CI=true, so this is a failure)");
    // Straight to stderr: libtest captures eprintln! of passing tests, and the skip must show.
    let _ = writeln!(
        std::io::stderr(),
        "\n!!!!! SKIPPED: {message}; set ATPROTO_SHARED to run these tests !!!!!\n"
    );
    None
}
