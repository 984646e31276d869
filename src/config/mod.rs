//! Configuration: TOML file → validated runtime settings. (Placeholder; being written.)

pub mod cli;
