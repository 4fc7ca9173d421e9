//! `ocrlty extract` end to end on the repository's samples: the default (layout) backend.

use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn samples_give_their_printed_fields_and_a_bad_file_does_not_stop_the_rest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("broken.pdf");
    std::fs::write(&bad, b"%PDF-1.7\nnot really").expect("write");
    let s = |n: &str| root().join("samples").join(n);
    let out = Command::new(env!("CARGO_BIN_EXE_ocrlty"))
        .args(["extract", "--threads", "2"])
        .arg(s("receipt-kedai-runcit.png"))
        .arg(&bad)
        .arg(s("invoice-muster-buerobedarf.pdf"))
        .arg(s("scanned-receipt-corner-cafe.pdf"))
        .output()
        .expect("ocrlty runs");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), 4);
    let expect = |i: usize, want: [(&str, &str); 6]| {
        for (k, v) in want {
            assert_eq!(lines[i]["data"][k], v, "{k} of {}", lines[i]["file"]);
        }
    };
    expect(
        0,
        [
            ("merchant", "KEDAI RUNCIT MAJU JAYA SDN BHD"),
            ("date", "2024-03-14"),
            ("currency", "MYR"),
            ("subtotal", "61.80"),
            ("tax_amount", "3.71"),
            ("total", "65.50"),
        ],
    );
    assert!(lines[1]["error"]["code"].is_string(), "{}", lines[1]);
    expect(
        2,
        [
            ("merchant", "Muster Bürobedarf GmbH"),
            ("date", "2024-03-15"),
            ("currency", "EUR"),
            ("subtotal", "225.50"),
            ("tax_amount", "42.85"),
            ("total", "268.35"),
        ],
    );
    expect(
        3,
        [
            ("merchant", "CORNER CAFE LLC"),
            ("date", "2024-03-22"),
            ("currency", "USD"),
            ("subtotal", "11.95"),
            ("tax_amount", "0.99"),
            ("total", "12.94"),
        ],
    );
    let total = &lines[0]["fields"]["total"];
    assert!(
        total["confidence"]
            .as_f64()
            .is_some_and(|c| c > 0.5 && c <= 1.0)
    );
    assert_eq!(total["evidence"]["page"], 0);
    assert_eq!(total["evidence"]["bbox"].as_array().map(Vec::len), Some(4));
    assert_eq!(lines[2]["meta"]["page_timings"][1]["source"], "text-layer");
    assert_eq!(lines[2]["meta"]["pages"], 2);
    assert_eq!(lines[2]["meta"]["backend"], "layout");
    assert!(lines[2]["meta"]["ruleset_version"].is_string());
}

#[test]
fn visualize_writes_a_png_per_page_with_the_fields_boxed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = |n: &str| root().join("samples").join(n);
    let out = Command::new(env!("CARGO_BIN_EXE_ocrlty"))
        .args(["extract", "--threads", "2", "--visualize"])
        .arg(dir.path())
        .arg(s("receipt-kedai-runcit.png"))
        .arg(s("invoice-muster-buerobedarf.pdf"))
        .output()
        .expect("ocrlty runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    let pngs: Vec<&str> = lines[1]["visualizations"]
        .as_array()
        .expect("paths")
        .iter()
        .filter_map(|p| p.as_str())
        .collect();
    assert_eq!(pngs.len(), 2, "one PNG per page of the invoice");
    let receipt = lines[0]["visualizations"][0].as_str().expect("path");
    let img = image::open(receipt).expect("a PNG").to_rgb8();
    let src = image::open(s("receipt-kedai-runcit.png"))
        .expect("sample")
        .to_rgb8();
    assert_eq!(img.dimensions(), src.dimensions());
    // The total's box is drawn in its colour just outside its evidence box.
    let b = &lines[0]["fields"]["total"]["evidence"]["bbox"];
    let (x1, y1) = (b[0].as_f64().expect("x1"), b[1].as_f64().expect("y1"));
    let px = img.get_pixel(x1.floor() as u32 - 2, y1.floor() as u32 + 3);
    assert_eq!(px.0, [46, 125, 50], "total drawn in green");
}
