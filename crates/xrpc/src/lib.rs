//! xrpc (being built).
