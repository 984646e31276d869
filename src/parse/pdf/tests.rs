use super::text;
use flate2::{write::ZlibEncoder, Compression};
use std::io::Write;

fn zlib(b: &[u8]) -> Vec<u8> {
    let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

/// A minimal PDF: one page whose content stream is `content` (optionally Flate-compressed).
pub fn pdf(content: &[u8], flate: bool, extra: &[u8]) -> Vec<u8> {
    let mut v = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n".to_vec();
    v.extend_from_slice(b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n");
    v.extend_from_slice(b"3 0 obj << /Type /Page /Parent 2 0 R /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >> endobj\n");
    let data = if flate {
        zlib(content)
    } else {
        content.to_vec()
    };
    let filter: &[u8] = if flate { b" /Filter /FlateDecode" } else { b"" };
    v.extend_from_slice(format!("4 0 obj << /Length {}", data.len()).as_bytes());
    v.extend_from_slice(filter);
    v.extend_from_slice(b" >>\nstream\n");
    v.extend_from_slice(&data);
    v.extend_from_slice(b"\nendstream\nendobj\n");
    v.extend_from_slice(extra);
    v.extend_from_slice(b"trailer << /Root 1 0 R >>\n%%EOF\n");
    v
}

#[test]
fn plain_and_flate_text() {
    let c =
        b"BT /F1 12 Tf 72 700 Td (Fletepagese) Tj 0 -14 Td [(Shuma: 5)-100(700 Lek\\353)] TJ ET";
    for flate in [false, true] {
        let t = text(&pdf(c, flate, b"")).unwrap();
        assert!(t.contains("Fletepagese\nShuma: 5700 Lekë"), "{t:?}");
    }
}

#[test]
fn escapes_and_hex() {
    let c = b"BT (a\\(b\\) \\101\\nc) Tj <48656C6C6F> Tj [(x) -500 (y)] TJ ET";
    let t = text(&pdf(c, false, b"")).unwrap();
    assert!(t.contains("a(b) A\ncHello"), "{t:?}");
    assert!(t.contains("x y"), "{t:?}");
}

#[test]
fn to_unicode_cmap() {
    let cmap = b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n1 begincodespacerange <0000> <FFFF> endcodespacerange\n2 beginbfchar <0001> <0053> <0002> <0068> endbfchar\n1 beginbfrange <0010> <0019> <0030> endbfrange\nendcmap end end";
    let z = zlib(cmap);
    let mut extra = b"5 0 obj << /Type /Font /Subtype /Type0 /ToUnicode 6 0 R >> endobj\n".to_vec();
    extra.extend_from_slice(
        format!(
            "6 0 obj << /Length {} /Filter /FlateDecode >>\nstream\n",
            z.len()
        )
        .as_bytes(),
    );
    extra.extend_from_slice(&z);
    extra.extend_from_slice(b"\nendstream\nendobj\n");
    let c = b"BT /F1 10 Tf <00010002> Tj ( ) Tj <0015001700170010> Tj ET";
    let t = text(&pdf(c, true, &extra)).unwrap();
    assert!(t.contains("Sh"), "{t:?}");
    assert!(t.contains("5770"), "{t:?}");
}

#[test]
fn no_text_layer_and_hostile_inputs() {
    assert_eq!(
        text(&pdf(b"q 100 0 0 100 0 0 cm /Im1 Do Q", true, b"")),
        None
    );
    assert_eq!(text(b"not a pdf"), None);
    // A zip bomb: 64 MiB of zeros compressed; output is capped.
    let bomb = zlib(&vec![b'0'; 64 << 20]);
    let mut v = b"%PDF-1.4\n1 0 obj << /Filter /FlateDecode >>\nstream\n".to_vec();
    v.extend_from_slice(&bomb);
    v.extend_from_slice(b"\nendstream\n");
    let t0 = std::time::Instant::now();
    let _ = text(&v);
    assert!(t0.elapsed().as_secs() < 5);
    // Unbalanced everything.
    let _ = text(b"%PDF-1.4 stream\n BT ((((( [[[[ <<<< (\\");
    let _ = text(b"%PDF-1.4\n<< stream\nBT [ (a) Tj ] TJ");
}
