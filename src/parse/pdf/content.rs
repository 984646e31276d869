//! Content-stream tokenizer: the strings shown by Tj, TJ, ' and ", with line
//! breaks from text positioning. Iterative, bounded stack.

use super::{CMap, MAX_STACK};
use std::collections::HashMap;

enum Op {
    Str(Vec<u8>),
    Num(f32),
    Name(Vec<u8>),
    ArrayStart,
    Array(Vec<Op>),
}

/// Appends the text shown in `data` to `out`.
pub(super) fn content_text(data: &[u8], fonts: &HashMap<Vec<u8>, CMap>, out: &mut String) {
    let mut stack: Vec<Op> = Vec::new();
    let mut font: Option<&CMap> = None;
    let mut i = 0;
    let n = data.len();
    while i < n {
        if !crate::budget::check() {
            return;
        }
        let c = data[i];
        match c {
            b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' | b'\0' => i += 1,
            b'%' => {
                while i < n && data[i] != b'\n' && data[i] != b'\r' {
                    i += 1;
                }
            }
            b'(' => {
                let (s, next) = literal(data, i + 1);
                push(&mut stack, Op::Str(s));
                i = next;
            }
            b'<' if data.get(i + 1) == Some(&b'<') => i += 2,
            b'<' => {
                let end = data[i..]
                    .iter()
                    .position(|&c| c == b'>')
                    .map_or(n, |p| i + p);
                push(&mut stack, Op::Str(super::hex_decode(&data[i + 1..end])));
                i = end + 1;
            }
            b'>' => i += 1,
            b'[' => {
                push(&mut stack, Op::ArrayStart);
                i += 1;
            }
            b']' => {
                let start = stack.iter().rposition(|o| matches!(o, Op::ArrayStart));
                let items = match start {
                    Some(s) => {
                        let items: Vec<Op> = stack.drain(s + 1..).collect();
                        stack.pop();
                        items
                    }
                    None => Vec::new(),
                };
                push(&mut stack, Op::Array(items));
                i += 1;
            }
            b'{' | b'}' | b')' => i += 1,
            b'/' => {
                let s = i + 1;
                i = s;
                while i < n && regular(data[i]) {
                    i += 1;
                }
                push(&mut stack, Op::Name(data[s..i].to_vec()));
            }
            b'0'..=b'9' | b'+' | b'-' | b'.' => {
                let s = i;
                i += 1;
                while i < n && matches!(data[i], b'0'..=b'9' | b'.') {
                    i += 1;
                }
                let v = std::str::from_utf8(&data[s..i])
                    .ok()
                    .and_then(|t| t.parse::<f32>().ok())
                    .unwrap_or(0.0);
                push(&mut stack, Op::Num(v));
            }
            _ => {
                let s = i;
                i += 1;
                while i < n && regular(data[i]) {
                    i += 1;
                }
                let op = &data[s..i];
                if op == b"BI" {
                    i = skip_inline_image(data, i);
                    stack.clear();
                    continue;
                }
                operator(op, &stack, &mut font, fonts, out);
                stack.clear();
            }
        }
        if out.len() > super::MAX_TEXT {
            return;
        }
    }
}

fn push(stack: &mut Vec<Op>, op: Op) {
    if stack.len() >= MAX_STACK {
        // Keep array contents together: only drop from the bottom.
        stack.remove(0);
    }
    stack.push(op);
}

fn regular(c: u8) -> bool {
    !matches!(
        c,
        b' ' | b'\t'
            | b'\r'
            | b'\n'
            | b'\x0c'
            | b'\0'
            | b'('
            | b')'
            | b'<'
            | b'>'
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'/'
            | b'%'
    )
}

fn operator<'a>(
    op: &[u8],
    stack: &[Op],
    font: &mut Option<&'a CMap>,
    fonts: &'a HashMap<Vec<u8>, CMap>,
    out: &mut String,
) {
    match op {
        b"Tf" => {
            let name = stack.iter().rev().find_map(|o| match o {
                Op::Name(n) => Some(n),
                _ => None,
            });
            *font = name.and_then(|n| fonts.get(n));
        }
        b"Tj" | b"'" | b"\"" => {
            if op != b"Tj" {
                out.push('\n');
            }
            if let Some(Op::Str(s)) = stack.last() {
                decode(s, *font, out);
            }
        }
        b"TJ" => {
            if let Some(Op::Array(items)) = stack.last() {
                for it in items {
                    match it {
                        Op::Str(s) => decode(s, *font, out),
                        Op::Num(v) if *v < -200.0 => out.push(' '),
                        _ => {}
                    }
                }
            }
        }
        b"Td" | b"TD" => {
            let ty = match stack.last() {
                Some(Op::Num(v)) => *v,
                _ => 0.0,
            };
            out.push(if ty.abs() > 0.01 { '\n' } else { ' ' });
        }
        b"Tm" => out.push(' '),
        b"T*" | b"ET" => out.push('\n'),
        _ => {}
    }
}

fn decode(s: &[u8], font: Option<&CMap>, out: &mut String) {
    if let Some(cm) = font {
        cm.decode(s, out);
    } else if s.starts_with(&[0xfe, 0xff]) {
        out.push_str(&super::utf16(&s[2..]));
    } else {
        out.extend(s.iter().map(|&b| b as char));
    }
}

/// A literal string starting after `(`; returns the bytes and the index after `)`.
fn literal(d: &[u8], mut i: usize) -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    let mut depth = 1usize;
    while i < d.len() {
        let c = d[i];
        i += 1;
        match c {
            b'\\' => {
                let Some(&e) = d.get(i) else { break };
                i += 1;
                match e {
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'b' => out.push(8),
                    b'f' => out.push(12),
                    b'\r' => {
                        if d.get(i) == Some(&b'\n') {
                            i += 1;
                        }
                    }
                    b'\n' => {}
                    b'0'..=b'7' => {
                        let mut v = u32::from(e - b'0');
                        for _ in 0..2 {
                            match d.get(i) {
                                Some(&o @ b'0'..=b'7') => {
                                    v = v * 8 + u32::from(o - b'0');
                                    i += 1;
                                }
                                _ => break,
                            }
                        }
                        out.push(v as u8);
                    }
                    other => out.push(other),
                }
            }
            b'(' => {
                depth += 1;
                out.push(c);
            }
            b')' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    (out, i)
}

fn skip_inline_image(d: &[u8], from: usize) -> usize {
    let mut i = from;
    while i + 2 < d.len() {
        if d[i].is_ascii_whitespace()
            && &d[i + 1..i + 3] == b"EI"
            && d.get(i + 3).is_none_or(|c| !regular(*c))
        {
            return i + 3;
        }
        i += 1;
    }
    d.len()
}
