//! The hostile-document corpus, made here from nothing (no file is downloaded): empty, wrong
//! type, truncated and garbage PDFs, a broken xref, thousands of pages, a giant media box,
//! encryption, decompression-bomb headers of every image format the service reads, truncated
//! images, SVG/GIF/ZIP, and XML entity expansion. Each document names the answers it may get.
#![allow(dead_code)]

use std::path::Path;

/// One hostile document and what the service may answer for it.
pub struct Hostile {
    pub name: &'static str,
    pub bytes: Vec<u8>,
    /// The status and problem `code` it must get; `(200, "")` where a reader may repair it.
    pub allowed: &'static [(u16, &'static str)],
}

const CORRUPT: &[(u16, &str)] = &[(422, "corrupt_pdf")];
const UNSUPPORTED: &[(u16, &str)] = &[(415, "unsupported_format")];
const TOO_BIG: &[(u16, &str)] = &[(422, "too_many_pixels"), (422, "undecodable_image")];

fn repo_file(rel: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A PDF of the given objects (numbered from 1; object 1 the catalogue) with a correct xref
/// table.
fn pdf(objects: &[String]) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// A PDF of `pages` empty pages of `media_box`.
fn pages_pdf(pages: usize, media_box: &str) -> Vec<u8> {
    let kids: Vec<String> = (0..pages).map(|i| format!("{} 0 R", i + 3)).collect();
    let mut objects = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        format!(
            "<< /Type /Pages /Kids [{}] /Count {pages} >>",
            kids.join(" ")
        ),
    ];
    objects.extend(
        (0..pages).map(|_| format!("<< /Type /Page /Parent 2 0 R /MediaBox [{media_box}] >>")),
    );
    pdf(&objects)
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
    out
}

/// A PNG whose header claims `w`×`h` RGB pixels, with a few bytes of compressed data: a
/// decompression bomb's header.
fn png_bomb(w: u32, h: u32) -> Vec<u8> {
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend(png_chunk(b"IHDR", &ihdr));
    // zlib: a stored empty block is enough to start inflating.
    out.extend(png_chunk(
        b"IDAT",
        &[0x78, 0x01, 0x01, 0x00, 0x00, 0xff, 0xff],
    ));
    out.extend(png_chunk(b"IEND", &[]));
    out
}

/// A baseline JPEG header claiming `w`×`h` (at most 65535 each) and no image data.
fn jpeg_bomb(w: u16, h: u16) -> Vec<u8> {
    let mut out = vec![0xff, 0xd8];
    // SOF0: length 17, 8-bit, height, width, 3 components.
    out.extend_from_slice(&[0xff, 0xc0, 0x00, 0x11, 0x08]);
    out.extend_from_slice(&h.to_be_bytes());
    out.extend_from_slice(&w.to_be_bytes());
    out.extend_from_slice(&[0x03, 0x01, 0x11, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01]);
    out.extend_from_slice(&[0xff, 0xd9]);
    out
}

/// A little-endian TIFF whose one IFD claims `w`×`h` 8-bit grey pixels in one strip of 8
/// bytes.
fn tiff_bomb(w: u32, h: u32) -> Vec<u8> {
    let entries: [(u16, u16, u32); 8] = [
        (256, 4, w),   // ImageWidth
        (257, 4, h),   // ImageLength
        (258, 3, 8),   // BitsPerSample
        (259, 3, 1),   // Compression: none
        (262, 3, 1),   // Photometric: black is zero
        (273, 4, 200), // StripOffsets
        (278, 4, h),   // RowsPerStrip
        (279, 4, 8),   // StripByteCounts
    ];
    let mut out = b"II*\0".to_vec();
    out.extend_from_slice(&8u32.to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for (tag, kind, value) in entries {
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&value.to_le_bytes());
    }
    out.extend_from_slice(&0u32.to_le_bytes());
    out.resize(208, 0);
    out
}

/// An extended WebP whose canvas is `w`×`h` (at most 16384 each), with no image chunk.
fn webp_bomb(w: u32, h: u32) -> Vec<u8> {
    let mut vp8x = vec![0u8; 4];
    vp8x.extend_from_slice(&(w - 1).to_le_bytes()[..3]);
    vp8x.extend_from_slice(&(h - 1).to_le_bytes()[..3]);
    let mut body = b"WEBPVP8X".to_vec();
    body.extend_from_slice(&(vp8x.len() as u32).to_le_bytes());
    body.extend_from_slice(&vp8x);
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

/// Bytes that look like nothing (a fixed xorshift stream).
fn garbage(n: usize, mut seed: u64) -> Vec<u8> {
    (0..n)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect()
}

/// The whole corpus.
pub fn corpus() -> Vec<Hostile> {
    let invoice = repo_file("samples/invoice-muster-buerobedarf.pdf");
    let receipt = repo_file("samples/receipt-kedai-runcit.png");
    let one_page = pages_pdf(1, "0 0 612 792");
    // The same PDF with every xref offset wrong: readers rebuild the table or give up.
    let broken_xref = {
        let text = String::from_utf8_lossy(&one_page).into_owned();
        let at = text.find("xref\n").expect("xref");
        let mut fixed = text[..at].to_string();
        fixed.push_str("xref\n0 4\n0000000000 65535 f \n0000099999 00000 n \n0000099999 00000 n \n0000099999 00000 n \ntrailer\n<< /Size 4 /Root 1 0 R >>\nstartxref\n77777\n%%EOF\n");
        fixed.into_bytes()
    };
    let mut garbage_pdf = b"%PDF-1.7\n".to_vec();
    garbage_pdf.extend(garbage(20_000, 7));
    vec![
        Hostile { name: "empty.pdf", bytes: Vec::new(), allowed: &[(422, "empty_input")] },
        Hostile {
            name: "wrong-type.txt",
            bytes: b"Total 12.50\nthis is a text file, not a document\n".to_vec(),
            allowed: UNSUPPORTED,
        },
        Hostile { name: "truncated.pdf", bytes: invoice[..600].to_vec(), allowed: CORRUPT },
        Hostile { name: "garbage.pdf", bytes: garbage_pdf, allowed: CORRUPT },
        Hostile {
            name: "broken-xref.pdf",
            bytes: broken_xref,
            allowed: &[(200, ""), (422, "corrupt_pdf")],
        },
        Hostile {
            name: "5000-pages.pdf",
            bytes: pages_pdf(5000, "0 0 612 792"),
            allowed: &[(422, "too_many_pages")],
        },
        Hostile {
            // 200 × 200 inches: rendered scaled down to MAX_PIXELS (50 Mpx), not at 200 dpi.
            name: "giant-mediabox.pdf",
            bytes: pages_pdf(1, "0 0 14400 14400"),
            allowed: &[(200, ""), (422, "too_many_pixels")],
        },
        Hostile {
            name: "encrypted.pdf",
            bytes: repo_file("samples/encrypted-invoice.pdf"),
            allowed: &[(422, "encrypted_pdf")],
        },
        Hostile { name: "bomb.png", bytes: png_bomb(100_000, 100_000), allowed: TOO_BIG },
        Hostile { name: "bomb.jpg", bytes: jpeg_bomb(65_500, 65_500), allowed: TOO_BIG },
        Hostile { name: "bomb.tif", bytes: tiff_bomb(100_000, 100_000), allowed: TOO_BIG },
        Hostile { name: "bomb.webp", bytes: webp_bomb(16_384, 16_384), allowed: TOO_BIG },
        Hostile {
            name: "truncated.png",
            bytes: receipt[..receipt.len() / 3].to_vec(),
            allowed: &[(422, "undecodable_image")],
        },
        Hostile {
            name: "image.svg",
            bytes: br#"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="100000" height="100000"><text x="1" y="1">Total 9.99</text></svg>"#.to_vec(),
            allowed: UNSUPPORTED,
        },
        Hostile { name: "image.gif", bytes: b"GIF89a\x10\x27\x10\x27\x00\x00\x00;".to_vec(), allowed: UNSUPPORTED },
        Hostile {
            name: "archive.zip",
            bytes: b"PK\x03\x04\x14\x00\x00\x00\x08\x00receipt.pdf".to_vec(),
            allowed: UNSUPPORTED,
        },
        Hostile {
            name: "entity-expansion.xml",
            bytes: repo_file("crates/einvoice/tests/fixtures/hostile-entity-expansion.xml"),
            allowed: &[(422, "einvoice_dtd_refused")],
        },
    ]
}

/// Whether `(status, code)` is one of the answers `h` may get.
pub fn allowed(h: &Hostile, status: u16, code: &str) -> bool {
    h.allowed
        .iter()
        .any(|(s, c)| *s == status && (*s == 200 || *c == code))
}
