//! Fuzz target: the waybill PDF reader (`leje::parse::pdf_amount_lek`) must
//! never panic outside lopdf (whose panics it catches), hang or blow up
//! memory. Seed it with fixtures/pdf/*.pdf:
//! `cargo +nightly fuzz run pdf ../fixtures/pdf -- -max_total_time=300`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(
    init: {
        std::panic::set_hook(Box::new(|info| {
            let in_lopdf = info.location().is_some_and(|l| l.file().contains("lopdf"));
            if !in_lopdf {
                eprintln!("{info}");
                std::process::abort();
            }
        }));
    },
    |data: &[u8]| {
        std::hint::black_box(leje::parse::pdf_amount_lek(data));
    }
);
