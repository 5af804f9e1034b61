//! The messages, in plain text. Each names what asked for it and what to do if it was not you.

use super::Message;

fn message(to: &str, subject: &str, text: String) -> Message {
    Message {
        to: to.to_owned(),
        subject: subject.to_owned(),
        text,
    }
}

pub fn confirm_email(to: &str, handle: &str, token: &str) -> Message {
    message(
        to,
        "Confirm your email",
        format!(
            "Confirm the email address of @{handle} with this code:\n\n    {token}\n\nIt is good for 15 minutes. If you did not ask for this, ignore this email.\n"
        ),
    )
}

pub fn update_email(to: &str, handle: &str, token: &str) -> Message {
    message(
        to,
        "Email update requested",
        format!(
            "Someone asked to change the email address of @{handle}. To allow it, enter this code:\n\n    {token}\n\nIt is good for 15 minutes. If this was not you, change your password.\n"
        ),
    )
}

pub fn reset_password(to: &str, handle: &str, token: &str) -> Message {
    message(
        to,
        "Password reset requested",
        format!(
            "Someone asked to reset the password of @{handle}. To choose a new password, enter this code:\n\n    {token}\n\nIt is good for 15 minutes. If this was not you, ignore this email: your password stays as it is.\n"
        ),
    )
}

pub fn delete_account(to: &str, handle: &str, token: &str) -> Message {
    message(
        to,
        "Account deletion requested",
        format!(
            "Someone asked to delete the account @{handle} and everything in it. To confirm, enter this code:\n\n    {token}\n\nIt is good for 15 minutes. If this was not you, change your password now.\n"
        ),
    )
}

pub fn plc_operation(to: &str, handle: &str, token: &str) -> Message {
    message(
        to,
        "Identity change requested",
        format!(
            "Someone asked to sign a change to the identity (DID document) of @{handle}, as when moving the account to another server. To allow it, enter this code:\n\n    {token}\n\nIt is good for 15 minutes. If this was not you, do not share the code and change your password.\n"
        ),
    )
}

pub fn sign_in_code(to: &str, handle: &str, token: &str) -> Message {
    message(
        to,
        "Your sign-in code",
        format!(
            "Someone is signing in to @{handle}. Enter this code to finish:\n\n    {token}\n\nIt is good for 15 minutes. If this was not you, change your password.\n"
        ),
    )
}
