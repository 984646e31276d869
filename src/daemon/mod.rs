//! The long-running service: wiring, signals, shutdown. (Placeholder; being written.)

pub mod cli;
