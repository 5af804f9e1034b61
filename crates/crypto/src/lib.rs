//! crypto (being built).
