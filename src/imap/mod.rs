//! Fetching from the shared mailboxes over IMAP. (Placeholder; being written.)
