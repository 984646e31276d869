//! A tiny authoritative DNS server on 127.0.0.1 for the tests' DKIM keys: it
//! answers TXT questions for the names it was given and NXDOMAIN for the rest,
//! over UDP, so leje's real resolver path is used without outside DNS.

use std::collections::HashMap;
use std::net::UdpSocket;
use std::sync::{Arc, Mutex};

/// A running server; it stops with the test process.
#[derive(Clone)]
pub struct Dns {
    pub port: u16,
    records: Arc<Mutex<HashMap<String, String>>>,
}

impl Dns {
    pub fn start() -> Dns {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = sock.local_addr().unwrap().port();
        let records: Arc<Mutex<HashMap<String, String>>> = Arc::default();
        let r = records.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while let Ok((n, from)) = sock.recv_from(&mut buf) {
                if let Some(resp) = answer(&buf[..n], &r.lock().unwrap()) {
                    let _ = sock.send_to(&resp, from);
                }
            }
        });
        Dns { port, records }
    }

    /// Serves `txt` as the TXT record of `name` (lower-case, no trailing dot).
    pub fn add_txt(&self, name: &str, txt: &str) {
        self.records
            .lock()
            .unwrap()
            .insert(name.to_ascii_lowercase(), txt.to_owned());
    }
}

/// The response to one query, `None` if it is not one we can read.
fn answer(q: &[u8], records: &HashMap<String, String>) -> Option<Vec<u8>> {
    if q.len() < 12 {
        return None;
    }
    // The question's name: labels up to a zero byte.
    let mut i = 12;
    let mut labels = Vec::new();
    loop {
        let len = *q.get(i)? as usize;
        i += 1;
        if len == 0 {
            break;
        }
        labels.push(String::from_utf8_lossy(q.get(i..i + len)?).to_ascii_lowercase());
        i += len;
    }
    let qtype = u16::from_be_bytes([*q.get(i)?, *q.get(i + 1)?]);
    let question = q.get(12..i + 4)?;
    let name = labels.join(".");
    let txt = records.get(&name).filter(|_| qtype == 16);
    let mut r = Vec::new();
    r.extend_from_slice(&q[..2]); // id
                                  // QR, opcode 0, AA, RD copied; RA; RCODE 0 or NXDOMAIN (3).
    let rd = q[2] & 1;
    r.push(0x84 | rd);
    r.push(if txt.is_some() || records.keys().any(|k| *k == name) {
        0x80
    } else {
        0x83
    });
    r.extend_from_slice(&[0, 1]); // QDCOUNT
    r.extend_from_slice(&[0, u8::from(txt.is_some())]); // ANCOUNT
    r.extend_from_slice(&[0, 0, 0, 0]); // NSCOUNT, ARCOUNT
    r.extend_from_slice(question);
    if let Some(t) = txt {
        let mut rdata = Vec::new();
        for chunk in t.as_bytes().chunks(255) {
            rdata.push(chunk.len() as u8);
            rdata.extend_from_slice(chunk);
        }
        r.extend_from_slice(&[0xc0, 0x0c, 0, 16, 0, 1, 0, 0, 0, 60]);
        r.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        r.extend_from_slice(&rdata);
    }
    Some(r)
}
