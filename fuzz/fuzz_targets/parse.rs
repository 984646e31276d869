//! Fuzz target: `leje::parse::parse` must never panic, hang or blow up memory
//! on any input. libfuzzer-sys installs an aborting panic hook, so a panic is
//! reported even though `parse` catches unwinds as its last line of defence.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(
    init: {
        // NOTE: mail-parser 0.11.9 itself panics on some inputs; leje catches
        // those around the call and falls back to its lossy scan, so they are
        // not findings here; likewise lopdf's, which the PDF reader catches
        // (that PDF has no text). Any other panic still aborts.
        std::panic::set_hook(Box::new(|info| {
            let caught = info
                .location()
                .is_some_and(|l| l.file().contains("mail-parser") || l.file().contains("lopdf"));
            if !caught {
                eprintln!("{info}");
                std::process::abort();
            }
        }));
    },
    |data: &[u8]| {
        let parsed = leje::parse::parse(data);
        std::hint::black_box(parsed.notification_hash());
    }
);
