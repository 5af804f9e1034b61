//! `relay account …`: tools for people moving their account.

mod client;
pub mod migrate;
mod progress;

use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum AccountCommand {
    /// Move an account from another PDS to this one, the standard way (the atproto
    /// account-migration guide, goat): create it here with its DID, copy the repo, blobs and
    /// preferences, point the DID here (a code is emailed by the old host), activate it here,
    /// deactivate it there. Run it again after an interruption: it continues where it stopped.
    Migrate(migrate::MigrateArgs),
}

pub fn run(cmd: AccountCommand) -> ExitCode {
    match cmd {
        AccountCommand::Migrate(args) => {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("error: cannot start: {e}");
                    return ExitCode::FAILURE;
                }
            };
            runtime.block_on(migrate::run(args))
        }
    }
}
