//! The case store. (Placeholder; being written.)

pub mod cli;
