#!/usr/bin/env python3
"""Baseline for benches/parse.rs: Python's standard `email` package parsing the
same files, side by side with leje's parser.

Usage: bench-parse-baseline.py ITERATIONS FILELIST
FILELIST holds one path per line. Prints one JSON object:
{"messages": N, "bytes": B, "seconds": S, "errors": E}
Each message is parsed with email.policy.default and every non-multipart part's
content is decoded with get_content() where possible (what a recogniser needs).
"""
import email
import email.policy
import json
import sys
import time


def parse_one(data):
    msg = email.message_from_bytes(data, policy=email.policy.default)
    n = 0
    for part in msg.walk():
        if part.is_multipart():
            continue
        try:
            content = part.get_content()
            n += len(content)
        except Exception:
            pass
    return n


def main():
    iterations = int(sys.argv[1])
    with open(sys.argv[2], encoding="utf-8") as f:
        paths = [line.rstrip("\n") for line in f if line.strip()]
    blobs = []
    for p in paths:
        with open(p, "rb") as f:
            blobs.append(f.read())
    errors = 0
    start = time.perf_counter()
    for _ in range(iterations):
        for data in blobs:
            try:
                parse_one(data)
            except Exception:
                errors += 1
    seconds = time.perf_counter() - start
    print(json.dumps({
        "messages": iterations * len(blobs),
        "bytes": iterations * sum(len(b) for b in blobs),
        "seconds": seconds,
        "errors": errors,
    }))


if __name__ == "__main__":
    main()
