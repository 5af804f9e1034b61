//! `relay`: the always-on server of a sovereign AT Protocol PDS, and the tools to poke at repos.
//!
//! The binary is a thin layer: command-line parsing and wiring. The protocol logic lives in the
//! crates (`repo`, `identity`, `store`, …) so each can be tested alone.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

// The server's modules live in the library (src/lib.rs), shared with the integration tests.
use relay::{account_cmd, admin_cmd, config, email_cmd, repo_cmd, serve};

#[derive(Parser)]
#[command(name = "relay", version, about = "A sovereign AT Protocol PDS")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    // Boxed: the server's flags are many, the other commands' few (clippy::large_enum_variant).
    /// Run the server (embedded defaults: data in ./data, no setup).
    Serve(Box<config::ServeArgs>),
    /// Inspect and compute over repositories and CAR files.
    #[command(subcommand)]
    Repo(repo_cmd::RepoCommand),
    /// Administer a running relay over HTTP (accounts, takedowns, invite codes, crawl requests).
    Admin(Box<admin_cmd::AdminArgs>),
    /// Move an account here from another PDS.
    #[command(subcommand)]
    Account(account_cmd::AccountCommand),
    /// Check outgoing email.
    #[command(subcommand)]
    Email(email_cmd::EmailCommand),
}

/// Large allocations (request bodies, CARs, a big commit's SQL and arguments) get their own
/// mappings, returned to the system when freed. glibc otherwise raises this threshold as such
/// buffers come and go (up to 32 MiB), serves them from the per-thread arenas, and rarely
/// gives those pages back: the resident size then only grows with the data written.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_malloc() {
    // SAFETY: mallopt only sets an allocator parameter; called before any thread is started.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_malloc() {}

fn main() -> ExitCode {
    tune_malloc();
    // relay.toml feeds the environment before flags are read (flags > env > file > defaults).
    let explicit = std::env::args()
        .skip_while(|a| a != "--config")
        .nth(1)
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("RELAY_CONFIG").map(Into::into));
    if let Err(e) = config::load_config_file_into_env(explicit.as_deref()) {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve::run(*args),
        Command::Repo(cmd) => repo_cmd::run(cmd),
        Command::Admin(args) => admin_cmd::run(*args),
        Command::Account(cmd) => account_cmd::run(cmd),
        Command::Email(cmd) => email_cmd::run(cmd),
    }
}
