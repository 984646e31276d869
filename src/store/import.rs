//! Placeholder; written below.
