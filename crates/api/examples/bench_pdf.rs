//! Digital PDF pages → OCR Document: per-page latency of the text-layer path (pdfium load,
//! characters, words, reading order), warm, in one process.
//!
//!     bench_pdf [--reps 20] PDF...
//!
//! Prints the median and p90 milliseconds per page and pages per second. Pages that need OCR
//! are reported and left out of the figures.

use std::time::Instant;

use doc_input::{PageContent, PdfLibrary, PdfOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut reps = 20usize;
    if let Some(i) = args.iter().position(|a| a == "--reps") {
        reps = args.get(i + 1).ok_or("--reps needs a number")?.parse()?;
        args.drain(i..i + 2);
    }
    let pdfium = PdfLibrary::bind(None)?;
    let opts = PdfOptions::default();
    let files: Vec<(String, Vec<u8>)> = args
        .iter()
        .map(|f| Ok((f.clone(), std::fs::read(f)?)))
        .collect::<Result<_, std::io::Error>>()?;
    let mut per_page = Vec::new();
    for rep in 0..=reps {
        for (name, bytes) in &files {
            let t = Instant::now();
            let doc = pdfium.open(bytes, &opts)?;
            let mut pages = 0;
            for i in 0..doc.page_count() {
                match doc.page(i)? {
                    PageContent::TextLayer {
                        width,
                        height,
                        words,
                    } => {
                        let page = ocrlty::document::text_layer_page(i, width, height, words);
                        std::hint::black_box(&page);
                        pages += 1;
                    }
                    PageContent::Scan { .. } if rep == 0 => {
                        eprintln!("{name}: page {} has no text layer, skipped", i + 1)
                    }
                    PageContent::Scan { .. } => {}
                }
            }
            // The first pass warms pdfium's font caches and is not counted.
            if rep > 0 && pages > 0 {
                let ms = t.elapsed().as_secs_f64() * 1e3 / pages as f64;
                per_page.extend(std::iter::repeat_n(ms, pages));
            }
        }
    }
    per_page.sort_by(f64::total_cmp);
    if per_page.is_empty() {
        return Err("no text-layer pages".into());
    }
    let median = per_page[per_page.len() / 2];
    let p90 = per_page[(per_page.len() * 9 / 10).min(per_page.len() - 1)];
    let mean = per_page.iter().sum::<f64>() / per_page.len() as f64;
    println!(
        "text-layer pages: {} timed ({} files x {reps} reps)",
        per_page.len(),
        files.len()
    );
    println!(
        "median {median:.2} ms/page, p90 {p90:.2} ms/page, {:.0} pages/s",
        1e3 / mean
    );
    Ok(())
}
