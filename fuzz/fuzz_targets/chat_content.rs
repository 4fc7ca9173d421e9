//! Chat completion requests as the TILT server and mock-vllm read them: texts,
//! `input_ocr_document` parts and image URLs. Any JSON gets its parts or a clear error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ocr_document::{ChatContentError, layout_text, read_chat_content};

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    match read_chat_content(&body) {
        Ok(c) => {
            if let Some(doc) = c.document {
                let _ = layout_text(&doc);
                for p in &doc.pages {
                    assert!(
                        p.lines
                            .iter()
                            .all(|l| l.words.iter().all(|&i| i < p.words.len()))
                    );
                }
            }
        }
        Err(ChatContentError::NoMessages) => {
            assert!(body.get("messages").is_none_or(|m| !m.is_array()))
        }
        Err(ChatContentError::BadDocument(m)) => assert!(!m.is_empty()),
    }
});
