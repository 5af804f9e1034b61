//! `relay repo …`: goat-style tools over the repo engine.

use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum RepoCommand {
    /// Read `{"key":"<collection>/<rkey>","cid":"<cid>"}` lines on stdin, print the MST root CID.
    MstRoot,
}

pub fn run(cmd: RepoCommand) -> ExitCode {
    match cmd {
        RepoCommand::MstRoot => {
            eprintln!("error: the MST engine is not wired in yet");
            ExitCode::FAILURE
        }
    }
}
