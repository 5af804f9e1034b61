//! Converting the lower layers' errors into XRPC errors, in one place.

use xrpc::XrpcError;

/// A storage failure the client cannot fix becomes a 500 with no internals; a constraint the
/// client can fix becomes its XRPC error.
pub fn store_error(e: store::StoreError) -> XrpcError {
    use store::StoreError as E;
    match e {
        E::HandleTaken => XrpcError::new(400, "HandleNotAvailable", "Handle already taken"),
        E::EmailTaken => XrpcError::invalid_request("Email already taken"),
        E::DidTaken => XrpcError::invalid_request("Account already exists"),
        E::InvalidInviteCode => XrpcError::new(
            400,
            "InvalidInviteCode",
            "Provided invite code not available",
        ),
        E::AccountNotFound => XrpcError::invalid_request("Account not found"),
        E::HeadConflict => XrpcError::new(
            409,
            "InvalidSwap",
            "The repository changed during the write; retry",
        ),
        E::BlobNotFound(cid) => XrpcError::invalid_request(format!("Could not find blob: {cid}")),
        E::Backend(msg) => {
            eprintln!("storage failure: {msg}");
            XrpcError::internal("Internal Server Error")
        }
    }
}
