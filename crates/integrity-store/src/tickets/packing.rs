//! Documents are kept compressed. A call center's XML or JSON shrinks to a
//! third or less of its size, so the database grows that much slower and a
//! bulk import writes (and waits for the disk to sync) that much less. The
//! digest is of the document as received, so the evidence can still be
//! checked against what the center says it sent.

use std::cell::RefCell;

use zstd::bulk::Compressor;

use super::{Document, Provenance};
use crate::StoreError;

/// `encoding` of a document stored as received.
pub(crate) const IDENTITY: &str = "identity";
/// `encoding` of a document stored as a zstd frame.
pub(crate) const ZSTD: &str = "zstd";

/// The fastest of zstd's regular levels: every document pays it on its way
/// in. The higher levels shrink these small text documents only a few
/// percent more; the negative ones save a quarter of the time and store a
/// fifth more bytes.
const LEVEL: i32 = 1;

/// A document made ready to store: its digest, and its compressed bytes
/// when compressing made it smaller (an image usually does not shrink).
pub(crate) struct PackedDocument {
    pub sha256: String,
    compressed: Option<Vec<u8>>,
}

impl PackedDocument {
    pub fn new(document: &Document) -> PackedDocument {
        let body = &document.body;
        let compressed = compress(body).filter(|packed| packed.len() < body.len());
        PackedDocument {
            sha256: crate::tokens::digest_bytes(body),
            compressed,
        }
    }

    pub fn encoding(&self) -> &'static str {
        match self.compressed {
            Some(_) => ZSTD,
            None => IDENTITY,
        }
    }

    /// The bytes to store for `document`, the one this was made from.
    pub fn bytes<'a>(&'a self, document: &'a Document) -> &'a [u8] {
        self.compressed.as_deref().unwrap_or(&document.body)
    }
}

thread_local! {
    /// A compression context is some hundreds of kilobytes to allocate and
    /// clear: making one per document cost more than the compressing.
    static COMPRESSOR: RefCell<Option<Compressor<'static>>> = const { RefCell::new(None) };
}

/// `None` only if zstd cannot make a context (out of memory): the document
/// is then stored as received, which is always correct.
fn compress(body: &[u8]) -> Option<Vec<u8>> {
    COMPRESSOR.with_borrow_mut(|slot| {
        if slot.is_none() {
            *slot = Compressor::new(LEVEL).ok();
        }
        slot.as_mut()?.compress(body).ok()
    })
}

/// Each of a source's documents, in the order [`Provenance::documents`]
/// gives them.
pub(crate) fn pack_all(source: Option<&Provenance>) -> Vec<PackedDocument> {
    source
        .into_iter()
        .flat_map(Provenance::documents)
        .map(|(_, _, document)| PackedDocument::new(document))
        .collect()
}

/// A stored document's bytes as they were received.
pub(crate) fn unpack(encoding: &str, bytes: Vec<u8>) -> Result<Vec<u8>, StoreError> {
    let corrupt = |detail: String| StoreError::Corrupt {
        what: "document",
        detail,
    };
    match encoding {
        IDENTITY => Ok(bytes),
        ZSTD => zstd::stream::decode_all(bytes.as_slice()).map_err(|e| corrupt(e.to_string())),
        other => Err(corrupt(format!("unknown encoding {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(body: &[u8]) -> Document {
        Document {
            name: "ticket.xml".into(),
            content_type: "application/xml".into(),
            body: body.to_vec(),
        }
    }

    #[test]
    fn text_is_stored_compressed_and_comes_back_byte_for_byte() {
        let body = "<Ticket><Remarks>MARK ALL UTILITIES</Remarks></Ticket>\n".repeat(40);
        let doc = document(body.as_bytes());
        let packed = PackedDocument::new(&doc);
        assert_eq!(packed.encoding(), ZSTD);
        assert!(packed.bytes(&doc).len() * 3 < body.len());
        let back = unpack(packed.encoding(), packed.bytes(&doc).to_vec()).unwrap();
        assert_eq!(back, body.as_bytes());
        assert_eq!(packed.sha256, crate::tokens::digest_bytes(body.as_bytes()));
    }

    #[test]
    fn what_does_not_shrink_is_stored_as_received() {
        // Too short for a frame's header to pay for itself.
        let doc = document(b"GIF89a");
        let packed = PackedDocument::new(&doc);
        assert_eq!(packed.encoding(), IDENTITY);
        assert_eq!(packed.bytes(&doc), b"GIF89a");
        assert_eq!(unpack(IDENTITY, b"GIF89a".to_vec()).unwrap(), b"GIF89a");
    }

    #[test]
    fn damaged_or_unknown_encodings_are_reported_not_returned() {
        let e = unpack(ZSTD, b"not a zstd frame".to_vec()).unwrap_err();
        assert!(
            matches!(
                e,
                StoreError::Corrupt {
                    what: "document",
                    ..
                }
            ),
            "{e}"
        );
        let e = unpack("brotli", b"x".to_vec()).unwrap_err();
        assert!(e.to_string().contains("unknown encoding \"brotli\""), "{e}");
    }
}
