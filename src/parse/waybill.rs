//! Waybills: the PDF and image attachments that came with a notification,
//! hashed, with the amount in Lek read from a PDF's text layer.

use super::mime::{Attachment, Walk};
use super::{pdf, Waybill};
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};

/// PDFs of one message whose text is read; later ones keep `amount_lek: null`.
const MAX_PDFS_READ: usize = 8;
/// Wall clock for reading all the PDFs of one message (each also has its own
/// [`pdf::TIME_BUDGET`]), so that a message of many bombs stays bounded.
const MESSAGE_PDF_BUDGET: Duration = Duration::from_millis(1500);

/// The waybill attachments of a walked message, in document order.
pub fn collect(w: &Walk) -> Vec<Waybill> {
    let deadline = Instant::now() + MESSAGE_PDF_BUDGET;
    let mut pdfs_read = 0;
    w.attachments
        .iter()
        .filter_map(|a| {
            let is_pdf = a.content_type == "application/pdf"
                || a.filename
                    .as_deref()
                    .is_some_and(|f| f.to_ascii_lowercase().trim_end().ends_with(".pdf"))
                || a.data.starts_with(b"%PDF-");
            let is_image = !is_pdf && a.content_type.starts_with("image/") && real_image(w, a);
            if !is_pdf && !is_image {
                return None;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let amount_lek = if is_pdf && pdfs_read < MAX_PDFS_READ && !left.is_zero() {
                pdfs_read += 1;
                pdf::text_within(&a.data, left.min(pdf::TIME_BUDGET)).and_then(|t| amount(&t))
            } else {
                None
            };
            Some(Waybill {
                filename: a.filename.clone(),
                content_type: a.content_type.clone(),
                size: a.data.len() as u64,
                sha256: hex::encode(Sha256::digest(&a.data)),
                amount_lek,
                data: a.data.clone(),
            })
        })
        .collect()
}

/// An image that was attached on purpose, not a signature/logo shown by the HTML.
fn real_image(w: &Walk, a: &Attachment) -> bool {
    if let Some(cid) = &a.content_id {
        if w.cids.contains(cid) || a.in_related {
            return false;
        }
    }
    !(a.inline && a.filename.is_none())
}

mod amount;
mod words;
pub use amount::amount;
