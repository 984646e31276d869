//! The content-stream walker: the strings shown by Tj, TJ, ' and ", placed
//! with the text and graphics matrices and the glyph widths, so that a space
//! goes where the pen jumps and a line break where it changes line, whether
//! the producer shows whole lines or one glyph at a time. Form XObjects are
//! walked (bounded depth and count); images are skipped, never decoded.
//!
//! One pass, linear in the stream: the operand stack is capped at
//! [`MAX_STACK`] (further operands are dropped, never shifted), arrays nest at
//! most 32 deep, and the clock is checked every few thousand tokens.

use super::font::Font;
use super::{as_dict, decode, deref, num, ref_id, Budget};
use super::{MAX_FORM_DEPTH, MAX_STACK, MAX_TEXT};
use lopdf::{Dictionary, Document, Object, ObjectId};
use std::collections::HashMap;
use std::rc::Rc;

type Matrix = [f32; 6];
const IDENTITY: Matrix = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];
const MAX_ARRAY_DEPTH: usize = 32;
const MAX_SAVED: usize = 64;
const MAX_FONTS: usize = 256;

fn mul(a: &Matrix, b: &Matrix) -> Matrix {
    [
        a[0] * b[0] + a[1] * b[2],
        a[0] * b[1] + a[1] * b[3],
        a[2] * b[0] + a[3] * b[2],
        a[2] * b[1] + a[3] * b[3],
        a[4] * b[0] + a[5] * b[2] + b[4],
        a[4] * b[1] + a[5] * b[3] + b[5],
    ]
}

enum Op {
    Str(Vec<u8>),
    Num(f32),
    Name(Vec<u8>),
    Array(Vec<Op>),
}

/// Graphics and text state that `q`/`Q` save.
#[derive(Clone)]
struct State {
    ctm: Matrix,
    font: Rc<Font>,
    size: f32,
    char_space: f32,
    word_space: f32,
    scale: f32,
    leading: f32,
}

/// Where the last shown text ended, in device space.
#[derive(Clone, Copy)]
struct Pen {
    x: f32,
    y: f32,
    size: f32,
}

pub(super) struct Walker<'d> {
    doc: &'d Document,
    fonts: HashMap<ObjectId, Rc<Font>>,
    unknown: Rc<Font>,
    pub(super) out: String,
    last: Option<Pen>,
    /// The next text starts a new line whatever its position (T* without leading, new page).
    force_break: bool,
}

impl<'d> Walker<'d> {
    pub(super) fn new(doc: &'d Document) -> Walker<'d> {
        Walker {
            doc,
            fonts: HashMap::new(),
            unknown: Rc::new(Font::unknown()),
            out: String::new(),
            last: None,
            force_break: false,
        }
    }

    pub(super) fn end_page(&mut self) {
        self.force_break = true;
    }

    /// Walks one content stream (a page's, or a form's with its matrix in `ctm`).
    pub(super) fn run(
        &mut self,
        data: &[u8],
        resources: Option<&'d Dictionary>,
        budget: &mut Budget,
        depth: usize,
    ) {
        self.run_with(data, resources, budget, depth, IDENTITY);
    }

    fn run_with(
        &mut self,
        data: &[u8],
        resources: Option<&'d Dictionary>,
        budget: &mut Budget,
        depth: usize,
        ctm: Matrix,
    ) {
        let mut st = State {
            ctm,
            font: self.unknown.clone(),
            size: 1.0,
            char_space: 0.0,
            word_space: 0.0,
            scale: 1.0,
            leading: 0.0,
        };
        let mut saved: Vec<State> = Vec::new();
        let (mut tm, mut tlm) = (IDENTITY, IDENTITY);
        let mut stack: Vec<Op> = Vec::new();
        let mut opens: Vec<usize> = Vec::new();
        let mut skipped_opens = 0usize;
        let mut i = 0;
        let n = data.len();
        let mut tokens = 0u32;
        while i < n {
            tokens = tokens.wrapping_add(1);
            if tokens.is_multiple_of(4096) && (budget.out_of_time() || self.out.len() > MAX_TEXT) {
                return;
            }
            let c = data[i];
            let op: Option<Op> = match c {
                b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' | b'\0' => {
                    i += 1;
                    None
                }
                b'%' => {
                    while i < n && data[i] != b'\n' && data[i] != b'\r' {
                        i += 1;
                    }
                    None
                }
                b'(' => {
                    let (s, next) = literal(data, i + 1);
                    i = next;
                    Some(Op::Str(s))
                }
                b'<' if data.get(i + 1) == Some(&b'<') => {
                    i += 2;
                    None
                }
                b'<' => {
                    let end = data[i..]
                        .iter()
                        .position(|&c| c == b'>')
                        .map_or(n, |p| i + p);
                    let s = super::hex_decode(&data[i + 1..end]);
                    i = end + 1;
                    Some(Op::Str(s))
                }
                b'[' => {
                    i += 1;
                    if stack.len() >= MAX_STACK || opens.len() >= MAX_ARRAY_DEPTH {
                        skipped_opens += 1;
                    } else {
                        opens.push(stack.len());
                    }
                    None
                }
                b']' => {
                    i += 1;
                    if skipped_opens > 0 {
                        skipped_opens -= 1;
                        None
                    } else {
                        opens
                            .pop()
                            .map(|s| Op::Array(stack.split_off(s.min(stack.len()))))
                    }
                }
                b'/' => {
                    let s = i + 1;
                    i = s;
                    while i < n && regular(data[i]) {
                        i += 1;
                    }
                    Some(Op::Name(data[s..i].to_vec()))
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
                        .filter(|v| v.is_finite())
                        .unwrap_or(0.0);
                    Some(Op::Num(v))
                }
                c if !regular(c) => {
                    i += 1;
                    None
                }
                _ => {
                    let s = i;
                    i += 1;
                    while i < n && regular(data[i]) {
                        i += 1;
                    }
                    let word = &data[s..i];
                    if word == b"BI" {
                        i = skip_inline_image(data, i);
                    } else {
                        self.operator(
                            word,
                            &stack,
                            (&mut st, &mut saved, &mut tm, &mut tlm),
                            resources,
                            budget,
                            depth,
                        );
                    }
                    stack.clear();
                    opens.clear();
                    skipped_opens = 0;
                    None
                }
            };
            if let Some(op) = op {
                if stack.len() < MAX_STACK {
                    stack.push(op);
                }
            }
        }
    }

    fn operator(
        &mut self,
        op: &[u8],
        stack: &[Op],
        (st, saved, tm, tlm): (&mut State, &mut Vec<State>, &mut Matrix, &mut Matrix),
        resources: Option<&'d Dictionary>,
        budget: &mut Budget,
        depth: usize,
    ) {
        let nums = |k: usize| -> Option<Vec<f32>> {
            let top = stack.get(stack.len().checked_sub(k)?..)?;
            top.iter()
                .map(|o| match o {
                    Op::Num(v) => Some(*v),
                    _ => None,
                })
                .collect()
        };
        let td = |tx: f32, ty: f32, tm: &mut Matrix, tlm: &mut Matrix| {
            *tlm = mul(&[1.0, 0.0, 0.0, 1.0, tx, ty], tlm);
            *tm = *tlm;
        };
        match op {
            b"BT" => {
                *tm = IDENTITY;
                *tlm = IDENTITY;
            }
            b"q" if saved.len() < MAX_SAVED => saved.push(st.clone()),
            b"Q" => {
                if let Some(s) = saved.pop() {
                    *st = s;
                }
            }
            b"cm" => {
                if let Some(m) = nums(6) {
                    st.ctm = mul(&[m[0], m[1], m[2], m[3], m[4], m[5]], &st.ctm);
                }
            }
            b"Tm" => {
                if let Some(m) = nums(6) {
                    *tm = [m[0], m[1], m[2], m[3], m[4], m[5]];
                    *tlm = *tm;
                }
            }
            b"Td" | b"TD" => {
                if let Some(v) = nums(2) {
                    if op == b"TD" {
                        st.leading = -v[1];
                    }
                    td(v[0], v[1], tm, tlm);
                }
            }
            b"T*" => self.next_line(st, tm, tlm),
            b"TL" => st.leading = nums(1).map_or(st.leading, |v| v[0]),
            b"Tc" => st.char_space = nums(1).map_or(st.char_space, |v| v[0]),
            b"Tw" => st.word_space = nums(1).map_or(st.word_space, |v| v[0]),
            b"Tz" => st.scale = nums(1).map_or(st.scale, |v| v[0] / 100.0),
            b"Tf" => {
                if let [.., Op::Name(name), Op::Num(size)] = stack {
                    st.size = *size;
                    st.font = self.font(resources, name, budget);
                }
            }
            b"Tj" => {
                if let Some(Op::Str(s)) = stack.last() {
                    self.show(s, st, tm);
                }
            }
            b"'" | b"\"" => {
                if op == b"\"" {
                    if let Some(v) = nums(3).or_else(|| {
                        // aw ac (string): the numbers sit below the string.
                        let k = stack.len().checked_sub(3)?;
                        match (&stack[k], &stack[k + 1]) {
                            (Op::Num(a), Op::Num(b)) => Some(vec![*a, *b]),
                            _ => None,
                        }
                    }) {
                        st.word_space = v[0];
                        st.char_space = v[1];
                    }
                }
                self.next_line(st, tm, tlm);
                if let Some(Op::Str(s)) = stack.last() {
                    self.show(s, st, tm);
                }
            }
            b"TJ" => {
                if let Some(Op::Array(items)) = stack.last() {
                    for it in items {
                        match it {
                            Op::Str(s) => self.show(s, st, tm),
                            Op::Num(v) => {
                                let tx = -v / 1000.0 * st.size * st.scale;
                                tm[4] += tx * tm[0];
                                tm[5] += tx * tm[1];
                            }
                            _ => {}
                        }
                    }
                }
            }
            b"Do" => {
                if let Some(Op::Name(name)) = stack.last() {
                    self.form(name, st, resources, budget, depth);
                }
            }
            _ => {}
        }
    }

    fn next_line(&mut self, st: &State, tm: &mut Matrix, tlm: &mut Matrix) {
        if st.leading.abs() < 1e-3 {
            self.force_break = true;
        }
        *tlm = mul(&[1.0, 0.0, 0.0, 1.0, 0.0, -st.leading], tlm);
        *tm = *tlm;
    }

    /// Shows a string: places it after the previous text, appends it, moves the pen.
    fn show(&mut self, s: &[u8], st: &State, tm: &mut Matrix) {
        if s.is_empty() || self.out.len() > MAX_TEXT {
            return;
        }
        let m = mul(tm, &st.ctm);
        let size = (st.size * m[2].hypot(m[3])).abs().max(1e-3);
        self.place(m, size);
        let mut advance = 0.0f32;
        let out = &mut self.out;
        st.font.codes(s, |text, w, space| {
            out.push_str(text);
            let mut a = w * st.size + st.char_space;
            if space {
                a += st.word_space;
            }
            advance += a * st.scale;
        });
        if !advance.is_finite() {
            advance = 0.0;
        }
        tm[4] += advance * tm[0];
        tm[5] += advance * tm[1];
        let end = mul(tm, &st.ctm);
        self.last = Some(Pen {
            x: end[4],
            y: end[5],
            size,
        });
    }

    /// The separator before text starting at `m`'s origin.
    fn place(&mut self, m: Matrix, size: f32) {
        let sep = match self.last {
            _ if self.force_break => Some('\n'),
            None => None,
            Some(p) => {
                let len = m[0].hypot(m[1]).max(1e-6);
                let (ux, uy) = (m[0] / len, m[1] / len);
                let (ddx, ddy) = (m[4] - p.x, m[5] - p.y);
                let dx = ddx * ux + ddy * uy;
                let dy = -ddx * uy + ddy * ux;
                let size = size.max(p.size);
                if !dx.is_finite() || !dy.is_finite() || dy.abs() > 0.5 * size {
                    Some('\n')
                } else if dx > 0.18 * size || dx < -0.5 * size {
                    Some(' ')
                } else {
                    None
                }
            }
        };
        self.force_break = false;
        match sep {
            Some('\n') if !self.out.ends_with('\n') && !self.out.is_empty() => self.out.push('\n'),
            Some(' ') if !self.out.ends_with(char::is_whitespace) => self.out.push(' '),
            _ => {}
        }
    }

    fn font(
        &mut self,
        resources: Option<&'d Dictionary>,
        name: &[u8],
        budget: &mut Budget,
    ) -> Rc<Font> {
        let doc = self.doc;
        let entry = resources
            .and_then(|r| r.get(b"Font").ok())
            .and_then(|f| as_dict(doc, f))
            .and_then(|f| f.get(name).ok());
        let Some(entry) = entry else {
            return self.unknown.clone();
        };
        let id = ref_id(entry);
        if let Some(f) = id.and_then(|id| self.fonts.get(&id)) {
            return f.clone();
        }
        let Some(dict) = as_dict(doc, entry) else {
            return self.unknown.clone();
        };
        let f = Rc::new(Font::load(doc, dict, budget));
        if let Some(id) = id {
            if self.fonts.len() < MAX_FONTS {
                self.fonts.insert(id, f.clone());
            }
        }
        f
    }

    /// `Do`: walks a Form XObject; images and anything else are skipped.
    fn form(
        &mut self,
        name: &[u8],
        st: &State,
        resources: Option<&'d Dictionary>,
        budget: &mut Budget,
        depth: usize,
    ) {
        let doc = self.doc;
        if depth >= MAX_FORM_DEPTH || budget.forms_left == 0 {
            return;
        }
        let xobj = resources
            .and_then(|r| r.get(b"XObject").ok())
            .and_then(|x| as_dict(doc, x))
            .and_then(|x| x.get(name).ok())
            .map(|o| deref(doc, o));
        let Some(Object::Stream(s)) = xobj else {
            return;
        };
        if s.dict
            .get(b"Subtype")
            .ok()
            .and_then(|o| super::name(doc, o))
            != Some(b"Form")
        {
            return;
        }
        budget.forms_left -= 1;
        let Some(data) = decode(s, budget) else {
            return;
        };
        let mut m = IDENTITY;
        if let Ok(Object::Array(a)) = s.dict.get(b"Matrix").map(|o| deref(doc, o)) {
            for (k, v) in a.iter().take(6).enumerate() {
                m[k] = num(doc, v).unwrap_or(m[k]);
            }
        }
        let res = s
            .dict
            .get(b"Resources")
            .ok()
            .and_then(|o| as_dict(doc, o))
            .or(resources);
        let ctm = mul(&m, &st.ctm);
        self.run_with(&data, res, budget, depth + 1, ctm);
    }
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
