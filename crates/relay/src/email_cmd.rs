//! `relay email test ADDRESS`: sends one message with the mail settings the server would use
//! (`PDS_EMAIL_SMTP_URL`, `PDS_EMAIL_FROM_ADDRESS`, from the environment, relay.toml or
//! flags) and says what happened, or which setting to fix.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::mail::{Mailer, Message};

#[derive(clap::Subcommand)]
pub enum EmailCommand {
    /// Send a test message with the configured mail settings and report what happened.
    Test {
        /// Where to send it.
        address: String,
        /// SMTP URL (smtp://user:password@host:587 or smtps://…:465).
        #[arg(long, env = "PDS_EMAIL_SMTP_URL", hide_env_values = true)]
        email_smtp_url: Option<String>,
        /// From address.
        #[arg(long, env = "PDS_EMAIL_FROM_ADDRESS")]
        email_from_address: Option<String>,
        /// Public hostname of the server (the default sender's domain).
        #[arg(long, env = "PDS_HOSTNAME", default_value = "localhost")]
        hostname: String,
        /// Where state lives (the outbox folder, when no SMTP URL is set).
        #[arg(long, env = "PDS_DATA_DIRECTORY", default_value = "./data")]
        data_directory: PathBuf,
    },
}

pub fn run(cmd: EmailCommand) -> ExitCode {
    let EmailCommand::Test {
        address,
        email_smtp_url,
        email_from_address,
        hostname,
        data_directory,
    } = cmd;
    crate::cli::run(
        crate::cli::Runtime::CurrentThread,
        send_test(
            &address,
            email_smtp_url.as_deref(),
            email_from_address.as_deref(),
            &hostname,
            data_directory.join("outbox"),
        ),
    )
}

async fn send_test(
    address: &str,
    smtp_url: Option<&str>,
    from: Option<&str>,
    hostname: &str,
    outbox: PathBuf,
) -> Result<(), String> {
    if !crate::handles::is_valid_email(address) {
        return Err(format!("`{address}` is not an email address"));
    }
    let mailer = Mailer::new(smtp_url, from, hostname, outbox)?;
    println!(
        "sending a test message from {} to {address} through {}",
        mailer.from,
        mailer.describe()
    );
    let message = Message {
        to: address.to_owned(),
        subject: format!("Test message from {hostname}"),
        text: format!(
            "This is a test message from the PDS at {hostname}, sent with `relay email test`.\nIf you can read it, email works: confirmation codes and password resets will arrive.\n"
        ),
    };
    mailer
        .send(&message)
        .await
        .map_err(|e| format!("the test message was not sent: {e}"))?;
    if smtp_url.is_some_and(|u| !u.trim().is_empty()) {
        println!("sent: the mail server accepted the message for {address}");
        println!("if it does not arrive, look in the spam folder and check the sender domain's SPF/DKIM records");
    } else {
        println!("PDS_EMAIL_SMTP_URL is not set, so nothing leaves this machine: set it to smtp://user:password@host:587 (or smtps://…:465)");
    }
    Ok(())
}
