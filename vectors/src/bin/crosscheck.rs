//! `cargo run -p vectors --bin crosscheck -- <outdir> <mode>`: our repo engine against the
//! reference implementation's output, and our output for the reference to check.
//!
//! Modes:
//! - `mst`: replay `<outdir>/mst-vectors.json` (reference MST roots, including after deletes);
//! - `cars`: verify every CAR in `<outdir>/ref-cars/` against its manifest;
//! - `write`: write our CARs, manifests and `commit-sigs.json` to `<outdir>/rust-cars/`;
//! - `all`: the three in that order.
//!
//! Prints one line per check group (`ok   rust <group>: N passed, M failed`), then
//! `rust: N passed, M failed`; exits non-zero on any failure. `vectors/reference/run.sh` runs the
//! reference's halves around it. Set `CROSSCHECK_SEED` to vary what `write` builds.

use std::path::PathBuf;
use std::process::ExitCode;

use vectors::reference::{mst_vectors, ref_cars, write_cars, Tally};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(out), Some(mode)) = (args.first(), args.get(1)) else {
        eprintln!("usage: crosscheck <outdir> <mst|cars|write|all>");
        return ExitCode::from(2);
    };
    let out = PathBuf::from(out);
    let seed = std::env::var("CROSSCHECK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_125u64);
    let (mst, cars, write) = match mode.as_str() {
        "mst" => (true, false, false),
        "cars" => (false, true, false),
        "write" => (false, false, true),
        "all" => (true, true, true),
        other => {
            eprintln!("unknown mode {other:?}: mst, cars, write or all");
            return ExitCode::from(2);
        }
    };

    let mut tally = Tally::new("rust");
    if mst {
        mst_vectors::check(&out.join("mst-vectors.json"), &mut tally);
    }
    if cars {
        ref_cars::check(&out.join("ref-cars"), &mut tally);
    }
    if write {
        write_cars::write(&out.join("rust-cars"), seed, &mut tally);
    }
    tally.print();
    let (passed, failed) = tally.totals();
    println!("rust: {passed} passed, {failed} failed");
    if failed == 0 && passed > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
