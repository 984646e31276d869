//! Fuzz target: `leje::parse::parse` must never panic, hang or blow up memory
//! on any input. (libfuzzer-sys installs an aborting panic hook, so a panic is
//! reported even though `parse` itself catches unwinds.)
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parsed = leje::parse::parse(data);
    // Exercise serialisation too: it is the `leje parse` output.
    let _ = serde_json_len(&parsed);
});

fn serde_json_len(p: &leje::parse::ParsedMessage) -> usize {
    format!("{:?}", p.kind).len() + p.waybills.len()
}
