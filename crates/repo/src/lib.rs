//! repo (being built).
