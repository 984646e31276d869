//! Parse throughput over a mixed corpus (../shared/corpus plus fixtures/*.eml),
//! with Python's standard `email` package parsing the same files as the
//! baseline, run side by side (scripts/bench-parse-baseline.py).
//!
//! `cargo bench --bench parse` (LEJE_BENCH_ITERS=N to change the iteration
//! count, default 5; LEJE_BENCH_MIX_ONLY=1 for the ingest mix alone). Prints messages/s, MB/s and the ratio to Python. It
//! reports figures only: it never fails on wall time.

use std::hint::black_box;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

#[path = "../tests/daemon/mail.rs"]
mod mail;

fn collect(dir: &Path, out: &mut Vec<PathBuf>, filter: &dyn Fn(&Path) -> bool) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n == "_expected") {
                continue;
            }
            collect(&p, out, filter);
        } else if filter(&p) {
            out.push(p);
        }
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let iters: usize = std::env::var("LEJE_BENCH_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    if std::env::var_os("LEJE_BENCH_MIX_ONLY").is_some() {
        ingest_mix(iters);
        return;
    }
    let mut files = Vec::new();
    collect(&root.join("../shared/corpus"), &mut files, &|p| {
        p.file_name().is_some_and(|n| n != "SOURCES.md")
    });
    collect(&root.join("fixtures"), &mut files, &|p| {
        p.extension().is_some_and(|e| e == "eml")
    });
    let blobs: Vec<Vec<u8>> = files.iter().filter_map(|p| std::fs::read(p).ok()).collect();
    if blobs.is_empty() {
        println!("parse bench: no input files found (../shared/corpus, fixtures/)");
        return;
    }
    let bytes: usize = blobs.iter().map(Vec::len).sum();
    // `cargo bench` passes `--bench`; without it (`cargo test --all-targets`) this is a
    // smoke run of an unoptimised build, held to no target.
    let smoke = !std::env::args().any(|a| a == "--bench");
    if smoke {
        println!("parse bench: SMOKE RUN (an unoptimised test build): it checks that the benchmark runs; its figures say nothing about speed and are held to no target. Real figures: cargo bench --bench parse");
    }
    println!(
        "parse bench: {} files, {:.1} MB, {} iterations",
        blobs.len(),
        bytes as f64 / 1e6,
        iters
    );

    let secs = time_parse(&blobs, iters);
    let msgs = (iters * blobs.len()) as f64;
    let mb = (iters * bytes) as f64 / 1e6;
    let (rust_mps, rust_mbs) = (msgs / secs, mb / secs);
    println!("leje   : {rust_mps:>10.0} messages/s {rust_mbs:>8.1} MB/s ({secs:.2} s)");

    ingest_mix(iters);

    match python_baseline(root, &files, iters) {
        Ok((py_msgs, py_bytes, py_secs, errors)) => {
            let (py_mps, py_mbs) = (py_msgs / py_secs, py_bytes / 1e6 / py_secs);
            println!(
                "python : {py_mps:>10.0} messages/s {py_mbs:>8.1} MB/s ({py_secs:.2} s, {errors} parse errors)"
            );
            println!(
                "ratio  : {:.1}x messages/s, {:.1}x MB/s{}",
                rust_mps / py_mps,
                rust_mbs / py_mbs,
                if smoke { "" } else { " (target: at least 20x)" }
            );
        }
        Err(e) => println!("python : baseline skipped: {e}"),
    }
}

/// Seconds to parse every message of `msgs` `iters` times, after one warm-up pass.
fn time_parse(msgs: &[Vec<u8>], iters: usize) -> f64 {
    for m in msgs {
        black_box(leje::parse::parse(black_box(m)));
    }
    let start = Instant::now();
    for _ in 0..iters {
        for m in msgs {
            black_box(leje::parse::parse(black_box(m)));
        }
    }
    start.elapsed().as_secs_f64()
}

/// The ingest benchmark's mix (`mail::realistic`: about 70 % notifications, most
/// with a PDF waybill, the rest everyday mail): what the daemon's parser threads
/// spend per message on a backlog.
fn ingest_mix(iters: usize) {
    let msgs: Vec<Vec<u8>> = (0..2000).map(|i| mail::realistic(7, i).raw).collect();
    let bytes: usize = msgs.iter().map(Vec::len).sum();
    let secs = time_parse(&msgs, iters);
    let n = (iters * msgs.len()) as f64;
    println!(
        "ingest mix: {} messages ({:.1} KB each): {:>8.0} messages/s, {:.1} µs per message",
        msgs.len(),
        bytes as f64 / msgs.len() as f64 / 1e3,
        n / secs,
        secs * 1e6 / n
    );
}

/// Runs the Python baseline over the same files; (messages, bytes, seconds, errors).
fn python_baseline(
    root: &Path,
    files: &[PathBuf],
    iters: usize,
) -> Result<(f64, f64, f64, u64), String> {
    let mut list = std::env::temp_dir();
    list.push(format!("leje-bench-files-{}.txt", std::process::id()));
    let mut f = std::fs::File::create(&list)
        .map_err(|e| format!("cannot write `{}`: {e}", list.display()))?;
    for p in files {
        writeln!(f, "{}", p.display()).map_err(|e| e.to_string())?;
    }
    drop(f);
    let out = Command::new("python3")
        .arg(root.join("scripts/bench-parse-baseline.py"))
        .arg(iters.to_string())
        .arg(&list)
        .output()
        .map_err(|e| format!("cannot run python3: {e}"));
    let _ = std::fs::remove_file(&list);
    let out = out?;
    if !out.status.success() {
        return Err(format!(
            "python3 failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("bad baseline output: {e}"))?;
    let num = |k: &str| {
        v[k].as_f64()
            .ok_or_else(|| format!("baseline output lacks `{k}`"))
    };
    Ok((
        num("messages")?,
        num("bytes")?,
        num("seconds")?,
        v["errors"].as_u64().unwrap_or(0),
    ))
}
