use super::text;
use flate2::{write::ZlibEncoder, Compression};
use std::io::Write;
use std::time::{Duration, Instant};

pub(crate) fn zlib(b: &[u8]) -> Vec<u8> {
    let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

/// A stream object body with `dict` entries and `data`.
fn stream(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut v = format!("<< /Length {} {dict} >>\nstream\n", data.len()).into_bytes();
    v.extend_from_slice(data);
    v.extend_from_slice(b"\nendstream");
    v
}

/// A PDF with a correct xref table; objects are numbered from 1, 1 is the catalog.
fn build(objs: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objs.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(o);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objs.len() + 1).as_bytes());
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objs.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// One page (object 3) showing `content` (object 4) with font F1 = object 5
/// given by `font` (its body), plus `extra` objects numbered from 6.
fn page(
    content: &[u8],
    flate: bool,
    font: &str,
    resources_extra: &str,
    extra: &[Vec<u8>],
) -> Vec<u8> {
    let mut objs = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        format!("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> {resources_extra} >> /Contents 4 0 R >>").into_bytes(),
        if flate {
            stream("/Filter /FlateDecode", &zlib(content))
        } else {
            stream("", content)
        },
        font.as_bytes().to_vec(),
    ];
    objs.extend_from_slice(extra);
    build(&objs)
}

const HELV: &str =
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>";

#[test]
fn plain_and_flate_text() {
    let c =
        b"BT /F1 12 Tf 72 700 Td (Fletepagese) Tj 0 -14 Td [(Shuma: 5)-100(700 Lek\\353)] TJ ET";
    for flate in [false, true] {
        let t = text(&page(c, flate, HELV, "", &[])).unwrap();
        assert!(t.contains("Fletepagese\nShuma: 5700 Lekë"), "{t:?}");
    }
}

#[test]
fn escapes_and_hex() {
    let c = b"BT /F1 10 Tf 10 10 Td (a\\(b\\) \\101c) Tj <48656C6C6F> Tj [(x) -500 (y)] TJ ET";
    let t = text(&page(c, false, HELV, "", &[])).unwrap();
    assert!(t.contains("a(b) AcHello"), "{t:?}");
    assert!(t.contains("x y"), "{t:?}");
}

fn type0(tounicode_ref: u32, widths: &str) -> String {
    format!("<< /Type /Font /Subtype /Type0 /BaseFont /ABCDEF+DejaVu /Encoding /Identity-H /DescendantFonts [<< /Type /Font /Subtype /CIDFontType2 /BaseFont /ABCDEF+DejaVu /DW 1000 /W [{widths}] >>] /ToUnicode {tounicode_ref} 0 R >>")
}

#[test]
fn to_unicode_bfchar_bfrange_and_arrays() {
    let cmap = b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n1 begincodespacerange <0000> <FFFF> endcodespacerange\n2 beginbfchar <0001> <0053> <0002> <0068> endbfchar\n2 beginbfrange <0010> <0019> <0030>\n<0020> <0022> [<004C> <0065> <006B00EB>] endbfrange\nendcmap end end";
    let extra = vec![stream("/Filter /FlateDecode", &zlib(cmap))];
    let c = b"BT /F1 10 Tf 10 10 Td <00010002> Tj ( ) Tj 0 -20 Td <0015001700170010> Tj 0 -20 Td <002000210022> Tj ET";
    let t = text(&page(c, true, &type0(6, ""), "", &extra)).unwrap();
    assert!(t.contains("Sh"), "{t:?}");
    assert!(t.contains("5770"), "{t:?}");
    assert!(t.contains("Lekë"), "{t:?}");
}

#[test]
fn font_dictionary_given_by_reference() {
    // `/Font 7 0 R` rather than an inline dictionary (issue 18, cause 1).
    let cmap = b"begincmap 1 begincodespacerange <0000> <FFFF> endcodespacerange 1 beginbfrange <0010> <0019> <0030> endbfrange endcmap";
    let objs = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 /Resources << /Font 7 0 R >> >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /Contents 4 0 R >>".to_vec(),
        stream("", b"BT /R9 10 Tf 1 0 0 1 50 50 Tm <00150017>Tj ET"),
        type0(6, "").into_bytes(),
        stream("", cmap),
        b"<< /R9 5 0 R >>".to_vec(),
    ];
    let t = text(&build(&objs)).unwrap();
    assert!(t.contains("57"), "{t:?}");
}

#[test]
fn glyphs_placed_one_at_a_time_make_words() {
    // Chromium/Skia: each glyph positioned by its own Td; widths from /W.
    // Digits 556/1000 wide at 10 pt: 5.56 apart is one word, a 3-unit gap more is a space.
    let cmap = b"begincmap 1 begincodespacerange <0000> <FFFF> endcodespacerange 1 beginbfrange <0010> <0019> <0030> endbfrange 1 beginbfchar <0003> <0020> endbfchar endcmap";
    let extra = vec![stream("", cmap)];
    let c = b"BT /F1 10 Tf 1 0 0 1 100 700 Tm <0015> Tj 5.56 0 Td <0017> Tj 5.56 0 Td <0010> Tj 5.56 0 Td <0010> Tj 8.56 0 Td <0011> Tj ET";
    let t = text(&page(c, false, &type0(6, "16 [556] 16 25 556"), "", &extra)).unwrap();
    assert!(t.contains("5700 1"), "{t:?}");
}

#[test]
fn filter_chains_and_ascii_hex() {
    let c = b"BT /F1 12 Tf 72 700 Td (Shuma 6200 Lek) Tj ET";
    let hex: String = c.iter().map(|b| format!("{b:02x}")).collect::<String>() + ">";
    let objs = |content: Vec<u8>| {
        build(&[
            b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
            b"<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>".to_vec(),
            content,
            HELV.as_bytes().to_vec(),
        ])
    };
    let t = text(&objs(stream("/Filter /ASCIIHexDecode", hex.as_bytes()))).unwrap();
    assert!(t.contains("Shuma 6200 Lek"), "{t:?}");
    let hex_of_flate: String = zlib(c)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<String>()
        + ">";
    let t = text(&objs(stream(
        "/Filter [/ASCIIHexDecode /FlateDecode]",
        hex_of_flate.as_bytes(),
    )))
    .unwrap();
    assert!(t.contains("Shuma 6200 Lek"), "{t:?}");
}

#[test]
fn text_inside_form_xobjects() {
    let form = stream(
        "/Type /XObject /Subtype /Form /BBox [0 0 500 500] /Resources << /Font << /F1 5 0 R >> >>",
        b"BT /F1 10 Tf 20 20 Td (Totali 8450 Lek) Tj ET",
    );
    let image = stream(
        "/Type /XObject /Subtype /Image /Width 1 /Height 1 /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode",
        &zlib(&vec![0u8; 8 << 20]),
    );
    let c = b"q 1 0 0 1 0 0 cm /Im0 Do Q q /Fm0 Do Q";
    let t = text(&page(
        c,
        false,
        HELV,
        "/XObject << /Fm0 6 0 R /Im0 7 0 R >>",
        &[form, image],
    ))
    .unwrap();
    assert!(t.contains("Totali 8450 Lek"), "{t:?}");
}

#[test]
fn form_recursion_is_bounded() {
    // A form that draws itself twice: without bounds 2^depth walks.
    let form = stream(
        "/Type /XObject /Subtype /Form /BBox [0 0 1 1] /Resources << /XObject << /X 6 0 R >> /Font << /F1 5 0 R >> >>",
        b"BT /F1 1 Tf (a) Tj ET /X Do /X Do",
    );
    let t0 = Instant::now();
    let t = text(&page(
        b"/X Do",
        false,
        HELV,
        "/XObject << /X 6 0 R >>",
        &[form],
    ))
    .unwrap();
    assert!(t0.elapsed() < Duration::from_secs(1));
    assert!(t.len() <= 2 * super::MAX_FORM_CALLS, "{}", t.len());
}

#[test]
fn no_text_layer_and_broken_inputs() {
    assert_eq!(
        text(&page(
            b"q 100 0 0 100 0 0 cm /Im1 Do Q",
            true,
            HELV,
            "",
            &[]
        )),
        None
    );
    assert_eq!(text(b"not a pdf"), None);
    let _ = text(b"%PDF-1.4 stream\n BT ((((( [[[[ <<<< (\\");
    let _ = text(b"%PDF-1.4\n<< stream\nBT [ (a) Tj ] TJ");
    // No page tree at all: the loose content stream is still read.
    let loose = b"%PDF-1.4\n1 0 obj << /Length 44 >>\nstream\nBT /F1 12 Tf 72 700 Td (Shuma 5700 L) Tj ET\nendstream\nendobj\n%%EOF\n";
    assert!(
        text(loose).is_some_and(|t| t.contains("5700")),
        "{:?}",
        text(loose)
    );
}

/// Runs `f` and returns how long it took.
fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let t0 = Instant::now();
    let v = f();
    (v, t0.elapsed())
}

#[test]
fn deflate_bomb_is_cut_short() {
    // 64 MiB of digits in a 64 KB content stream: over the per-stream cap, so not decoded.
    let bomb = zlib(&vec![b'7'; 64 << 20]);
    let mut objs = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 5 0 R >> >> /Contents [4 0 R 6 0 R] >>".to_vec(),
        stream("/Filter /FlateDecode", &bomb),
        HELV.as_bytes().to_vec(),
    ];
    objs.push(stream("", b"BT /F1 10 Tf 10 10 Td (Shuma 5700 Lek) Tj ET"));
    let (t, took) = timed(|| text(&build(&objs)));
    assert!(took < Duration::from_secs(1), "{took:?}");
    assert!(t.is_some_and(|t| t.contains("5700")));
}

#[test]
fn bracket_bombs_are_linear() {
    // Issue 23: 4 MiB of `[` compressed to 4 KB cost 5 s (Vec::remove(0) on a full stack).
    let brackets = vec![b'['; 4 << 20];
    let (t, took) = timed(|| text(&page(&brackets, true, HELV, "", &[])));
    assert!(took < Duration::from_secs(1), "compressed: {took:?}");
    assert_eq!(t, None);
    // The same as `]`, and mixed with numbers: still one pass.
    let mixed: Vec<u8> = b"[1 "
        .iter()
        .cycle()
        .take(3 << 20)
        .copied()
        .chain(b"] ] ]".iter().copied())
        .collect();
    let (_, took) = timed(|| text(&page(&mixed, true, HELV, "", &[])));
    assert!(took < Duration::from_secs(1), "mixed: {took:?}");
    // 30 M `[` uncompressed (36 s before): over the per-stream cap, skipped.
    let big = vec![b'['; 30 << 20];
    let (t, took) = timed(|| text(&page(&big, false, HELV, "", &[])));
    assert!(took < Duration::from_secs(2), "uncompressed: {took:?}");
    assert_eq!(t, None);
}

#[test]
fn two_hundred_pages_within_a_second() {
    let n = 200;
    let mut objs = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        format!(
            "<< /Type /Pages /Count {n} /Kids [{}] /Resources << /Font << /F1 3 0 R >> >> >>",
            (0..n)
                .map(|k| format!("{} 0 R", 4 + 2 * k))
                .collect::<Vec<_>>()
                .join(" ")
        )
        .into_bytes(),
        HELV.as_bytes().to_vec(),
    ];
    for k in 0..n {
        objs.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /Contents {} 0 R >>",
                5 + 2 * k
            )
            .into_bytes(),
        );
        let body: String = (0..60)
            .map(|l| {
                format!(
                    "BT /F1 9 Tf 40 {} Td (Rreshti {l} i faqes {k}: pagesa e tarifes) Tj ET\n",
                    800 - 12 * l
                )
            })
            .collect();
        objs.push(stream("/Filter /FlateDecode", &zlib(body.as_bytes())));
    }
    let pdf = build(&objs);
    let (t, took) = timed(|| text(&pdf));
    assert!(took < Duration::from_secs(1), "{took:?}");
    assert!(t.unwrap().contains("faqes 0:"));
    // Every page is read when the clock allows (a loaded debug build may not in 500 ms).
    let t = super::text_within(&pdf, Duration::from_secs(20)).unwrap();
    assert!(
        t.contains("faqes 0:") && t.contains("faqes 199:"),
        "{}",
        t.len()
    );
}

#[test]
fn time_budget_stops_the_walk() {
    let body: Vec<u8> = b"BT /F1 9 Tf (x) Tj ET\n"
        .iter()
        .cycle()
        .take(3 << 20)
        .copied()
        .collect();
    let (t, took) = timed(|| super::text_within(&page(&body, true, HELV, "", &[]), Duration::ZERO));
    assert!(took < Duration::from_millis(200), "{took:?}");
    assert!(t.is_none_or(|t| t.len() < 10_000));
}

#[test]
fn token_bombs_are_refused() {
    // lopdf parses every object up front at ~100 bytes per token: an array of
    // 4 M numbers outside any stream, or 2 M inside a compressed object stream,
    // would take hundreds of MB. Both are refused before or while loading.
    let mut raw = page(b"BT /F1 9 Tf (Shuma 5700 Lek) Tj ET", false, HELV, "", &[]);
    let mut arr = b"99 0 obj\n[".to_vec();
    arr.extend(b"0 ".iter().cycle().take(8 << 20));
    arr.extend_from_slice(b"]\nendobj\n");
    raw.splice(9..9, arr);
    let (t, took) = timed(|| text(&raw));
    assert!(took < Duration::from_secs(1), "{took:?}");
    assert_eq!(t, None);
    let zeros: Vec<u8> = b"0 ".iter().cycle().take(4 << 20).copied().collect();
    let objstm = stream(
        "/Type /ObjStm /N 1 /First 2 /Filter /FlateDecode",
        &zlib(&zeros),
    );
    let (t, took) = timed(|| {
        text(&page(
            b"BT /F1 9 Tf (Shuma 5700 Lek) Tj ET",
            false,
            HELV,
            "",
            &[objstm],
        ))
    });
    assert!(took < Duration::from_secs(1), "{took:?}");
    assert!(t.is_none_or(|t| t.contains("5700")));
}
