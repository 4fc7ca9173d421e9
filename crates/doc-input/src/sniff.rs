//! The document type from its first bytes; names and extensions are never trusted.

use serde::{Deserialize, Serialize};

use crate::error::InputError;

/// The document types OCRlty reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DocumentKind {
    Pdf,
    Jpeg,
    Png,
    Tiff,
    Webp,
    /// A structured e-invoice: CII (Factur-X, ZUGFeRD, XRechnung) or UBL XML.
    Xml,
}

impl DocumentKind {
    pub const ALL: [DocumentKind; 6] = [
        DocumentKind::Pdf,
        DocumentKind::Jpeg,
        DocumentKind::Png,
        DocumentKind::Tiff,
        DocumentKind::Webp,
        DocumentKind::Xml,
    ];

    /// The kind a MIME type names (`image/jpg` is taken for `image/jpeg`).
    pub fn from_mime(mime: &str) -> Option<DocumentKind> {
        let m = mime.trim().to_ascii_lowercase();
        if m == "image/jpg" {
            return Some(DocumentKind::Jpeg);
        }
        if m == "text/xml" {
            return Some(DocumentKind::Xml);
        }
        Self::ALL.into_iter().find(|k| k.mime() == m)
    }

    /// The MIME type of the kind.
    pub fn mime(self) -> &'static str {
        match self {
            DocumentKind::Pdf => "application/pdf",
            DocumentKind::Jpeg => "image/jpeg",
            DocumentKind::Png => "image/png",
            DocumentKind::Tiff => "image/tiff",
            DocumentKind::Webp => "image/webp",
            DocumentKind::Xml => "application/xml",
        }
    }

    pub fn is_image(self) -> bool {
        !matches!(self, DocumentKind::Pdf | DocumentKind::Xml)
    }
}

/// Decides the type by magic bytes. A PDF's header may follow up to 1024 bytes of junk, as
/// readers allow. XML counts only when its root element is an e-invoice's (CII or UBL).
pub fn sniff(bytes: &[u8]) -> Result<DocumentKind, InputError> {
    if bytes.is_empty() {
        return Err(InputError::Empty);
    }
    let head = &bytes[..bytes.len().min(1024)];
    if head.windows(5).any(|w| w == b"%PDF-") {
        return Ok(DocumentKind::Pdf);
    }
    let kind = if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        DocumentKind::Jpeg
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        DocumentKind::Png
    } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        DocumentKind::Tiff
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        DocumentKind::Webp
    } else if einvoice::sniff(bytes).is_some() {
        DocumentKind::Xml
    } else {
        return Err(InputError::UnsupportedFormat {
            seen: describe_magic(bytes),
        });
    };
    Ok(kind)
}

/// A short description of what the bytes look like, for error messages.
pub fn describe_magic(bytes: &[u8]) -> String {
    const KNOWN: [(&[u8], &str); 9] = [
        (b"GIF8", "a GIF image"),
        (b"BM", "a BMP image"),
        (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
        (b"\xd0\xcf\x11\xe0", "an old Office document"),
        (b"\x1f\x8b", "gzip data"),
        (b"<?xml", "XML that is not a CII or UBL e-invoice"),
        (b"<svg", "an SVG image"),
        (b"{", "JSON"),
        (b"\0\0\0", "an ISO media file (HEIC/AVIF?)"),
    ];
    if let Some((_, name)) = KNOWN.iter().find(|(m, _)| bytes.starts_with(m)) {
        return (*name).to_string();
    }
    let head = &bytes[..bytes.len().min(16)];
    if std::str::from_utf8(head)
        .is_ok_and(|s| s.chars().all(|c| !c.is_control() || c.is_whitespace()))
    {
        return format!(
            "text starting {:?}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(24)])
        );
    }
    let hex: Vec<String> = head.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("unknown bytes {}", hex.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_by_magic() {
        let cases: [(&[u8], DocumentKind); 8] = [
            (b"%PDF-1.7\n...", DocumentKind::Pdf),
            (b"\r\n junk before %PDF-1.4", DocumentKind::Pdf),
            (&[0xff, 0xd8, 0xff, 0xe0, 0, 0], DocumentKind::Jpeg),
            (b"\x89PNG\r\n\x1a\n\0\0", DocumentKind::Png),
            (b"II*\0\x08\0\0\0", DocumentKind::Tiff),
            (b"RIFF\0\0\0\0WEBPVP8 ", DocumentKind::Webp),
            (
                b"<?xml version=\"1.0\"?><rsm:CrossIndustryInvoice xmlns:rsm=\"urn:x\">",
                DocumentKind::Xml,
            ),
            (
                b"\xef\xbb\xbf<CreditNote xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2\">",
                DocumentKind::Xml,
            ),
        ];
        for (bytes, kind) in cases {
            assert_eq!(sniff(bytes).expect("known"), kind, "{bytes:?}");
        }
    }

    #[test]
    fn unknown_bytes_say_what_they_look_like() {
        assert!(matches!(sniff(b""), Err(InputError::Empty)));
        let msg = |b: &[u8]| sniff(b).expect_err("unknown").to_string();
        assert!(msg(b"GIF89a....").contains("GIF"));
        assert!(msg(b"PK\x03\x04rest").contains("ZIP"));
        assert!(msg(b"<?xml version=\"1.0\"?><Order/>").contains("not a CII or UBL e-invoice"));
        assert!(msg(b"hello, world").contains("text starting \"hello, world\""));
        assert!(msg(&[0x01, 0x02, 0x03, 0x04]).contains("unknown bytes 01 02 03 04"));
    }
}
