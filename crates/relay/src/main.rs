//! `relay`: the always-on server of a sovereign AT Protocol PDS, and the tools to poke at repos.
//!
//! The binary is a thin layer: command-line parsing and wiring. The logic lives in the crates
//! (`repo`, `data`, …) so each can be tested alone.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod repo_cmd;
mod serve;

#[derive(Parser)]
#[command(name = "relay", version, about = "A sovereign AT Protocol PDS")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (embedded defaults: data in ./data, no setup).
    Serve(serve::ServeArgs),
    /// Inspect and compute over repositories and CAR files.
    #[command(subcommand)]
    Repo(repo_cmd::RepoCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Repo(cmd) => repo_cmd::run(cmd),
    }
}
