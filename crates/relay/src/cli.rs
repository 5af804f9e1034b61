//! What the command-line subcommands share: running their work on a fresh Tokio runtime and
//! turning the outcome into an exit code, with errors on stderr as `error: …`.

use std::future::Future;
use std::process::ExitCode;

/// Which runtime a command needs: the server wants worker threads, the one-shot clients do not.
#[derive(Clone, Copy)]
pub enum Runtime {
    MultiThread,
    CurrentThread,
}

/// Runs `work` to completion and maps its outcome to an exit code.
pub fn run<F>(runtime: Runtime, work: F) -> ExitCode
where
    F: Future<Output = Result<(), String>>,
{
    let built = match runtime {
        Runtime::MultiThread => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build(),
        Runtime::CurrentThread => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
    };
    let rt = match built {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(work) {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => {
            eprintln!("error: {reason}");
            ExitCode::FAILURE
        }
    }
}
