//! The OCR Document on the wire (tilt-architecture.md §8): the OpenAI-style chat content part
//! `input_ocr_document`, and OCRlty's `/v1/tilt/generate` request. Conversions go both ways;
//! documents that arrive are put through [`DocPage::from_words`], so reading order and lines
//! are the same whatever sent them.

use serde::{Deserialize, Serialize};

use crate::document::{BBox, DocPage, DocWord, OcrDocument, PageSource};

/// A word on the wire: text and box only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireWord {
    pub text: String,
    pub bbox: BBox,
}

/// A page of the `input_ocr_document` part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanPage {
    pub width: f32,
    pub height: f32,
    pub spans: Vec<WireWord>,
}

/// `{"pages": [...]}`; some senders put the bare page list in `document` instead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SpanDocument {
    Pages { pages: Vec<SpanPage> },
    List(Vec<SpanPage>),
}

impl SpanDocument {
    pub fn pages(&self) -> &[SpanPage] {
        match self {
            SpanDocument::Pages { pages } | SpanDocument::List(pages) => pages,
        }
    }
}

/// The chat content part `{"type": "input_ocr_document", "document": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "input_ocr_document")]
pub struct InputOcrDocumentPart {
    pub document: SpanDocument,
}

/// A page's OCR in a `/v1/tilt/generate` request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneratePageOcr {
    pub width: u32,
    pub height: u32,
    #[serde(default)]
    pub words: Vec<WireWord>,
}

/// A page of a `/v1/tilt/generate` request: its OCR and, optionally, its image.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct GeneratePage {
    #[serde(default)]
    pub ocr: Option<GeneratePageOcr>,
    /// PNG or JPEG, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_b64: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_path: Option<String>,
}

/// OCRlty's `POST /v1/tilt/generate` request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerateRequest {
    pub question: String,
    pub pages: Vec<GeneratePage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

fn wire_words(page: &DocPage) -> Vec<WireWord> {
    page.words
        .iter()
        .map(|w| WireWord {
            text: w.text.clone(),
            bbox: w.bbox,
        })
        .collect()
}

fn page_from_wire(index: usize, width: f32, height: f32, words: &[WireWord]) -> DocPage {
    DocPage::from_words(
        index,
        width.max(0.0).round() as u32,
        height.max(0.0).round() as u32,
        PageSource::Ocr,
        words.iter().map(|w| DocWord {
            text: w.text.clone(),
            bbox: w.bbox,
            conf: 1.0,
        }),
    )
}

impl From<&OcrDocument> for InputOcrDocumentPart {
    fn from(doc: &OcrDocument) -> Self {
        InputOcrDocumentPart {
            document: SpanDocument::Pages {
                pages: doc
                    .pages
                    .iter()
                    .map(|p| SpanPage {
                        width: p.width as f32,
                        height: p.height as f32,
                        spans: wire_words(p),
                    })
                    .collect(),
            },
        }
    }
}

impl From<&InputOcrDocumentPart> for OcrDocument {
    fn from(part: &InputOcrDocumentPart) -> Self {
        OcrDocument {
            pages: part
                .document
                .pages()
                .iter()
                .enumerate()
                .map(|(i, p)| page_from_wire(i, p.width, p.height, &p.spans))
                .collect(),
        }
    }
}

impl GenerateRequest {
    /// A request asking `question` about `doc` (OCR only, no page images).
    pub fn new(question: impl Into<String>, doc: &OcrDocument) -> Self {
        GenerateRequest {
            question: question.into(),
            pages: doc
                .pages
                .iter()
                .map(|p| GeneratePage {
                    ocr: Some(GeneratePageOcr {
                        width: p.width,
                        height: p.height,
                        words: wire_words(p),
                    }),
                    ..GeneratePage::default()
                })
                .collect(),
            model: None,
            temperature: None,
            max_tokens: None,
            request_id: None,
        }
    }

    /// The request's OCR as a document. Pages without OCR words are dropped, as the
    /// reference server drops them; the kept pages are renumbered from 0.
    pub fn document(&self) -> OcrDocument {
        OcrDocument {
            pages: self
                .pages
                .iter()
                .filter_map(|p| p.ocr.as_ref())
                .filter(|o| o.words.iter().any(|w| !w.text.trim().is_empty()))
                .enumerate()
                .map(|(i, o)| page_from_wire(i, o.width as f32, o.height as f32, &o.words))
                .collect(),
        }
    }
}

/// The OCR Document as text for a language model: per page a header line, then one line per
/// text line in reading order with its box — `[x1,y1,x2,y2] text` in page pixels.
/// [`parse_layout_text`] reads it back.
pub fn layout_text(doc: &OcrDocument) -> String {
    let mut out = String::new();
    let n = doc.pages.len();
    for p in &doc.pages {
        out.push_str(&format!(
            "page {} of {n}, {}x{} px\n",
            p.index + 1,
            p.width,
            p.height
        ));
        for l in &p.lines {
            let b = l.bbox;
            out.push_str(&format!(
                "[{},{},{},{}] {}\n",
                b[0].round(),
                b[1].round(),
                b[2].round(),
                b[3].round(),
                l.text
            ));
        }
    }
    out
}

/// Reads [`layout_text`] back (other lines are ignored). A line's box is shared out among its
/// words in proportion to their lengths.
pub fn parse_layout_text(text: &str) -> OcrDocument {
    let mut pages: Vec<(f32, f32, Vec<WireWord>)> = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("page ") {
            let size = rest.split(", ").nth(1).and_then(|s| s.strip_suffix(" px"));
            if let Some((w, h)) = size.and_then(|s| s.split_once('x'))
                && let (Ok(w), Ok(h)) = (w.parse::<f32>(), h.parse::<f32>())
            {
                pages.push((w, h, Vec::new()));
            }
            continue;
        }
        let Some(rest) = line.strip_prefix('[') else {
            continue;
        };
        let Some((nums, text)) = rest.split_once("] ") else {
            continue;
        };
        let b: Vec<f32> = nums
            .split(',')
            .filter_map(|n| n.trim().parse().ok())
            .collect();
        let (Some(page), [x1, y1, x2, y2]) = (pages.last_mut(), b.as_slice()) else {
            continue;
        };
        let words: Vec<&str> = text.split_whitespace().collect();
        let total: usize = words.iter().map(|w| w.chars().count() + 1).sum();
        let mut x = *x1;
        for w in words {
            let share = (w.chars().count() + 1) as f32 / total.max(1) as f32 * (x2 - x1);
            page.2.push(WireWord {
                text: w.to_string(),
                bbox: [x, *y1, x + share * 0.9, *y2],
            });
            x += share;
        }
    }
    OcrDocument {
        pages: pages
            .iter()
            .enumerate()
            .map(|(i, (w, h, words))| page_from_wire(i, *w, *h, words))
            .collect(),
    }
}

/// What the messages of a chat completion request carry, read alike by every server that
/// takes one (the TILT server, mock-vllm).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatContent {
    /// Every string content and every `text` part, in order.
    pub texts: Vec<String>,
    /// The last `input_ocr_document` part's document.
    pub document: Option<OcrDocument>,
    /// The URL of every `image_url` part, in order (what a URL may be is the server's call).
    pub image_urls: Vec<String>,
}

/// Why a chat request's messages cannot be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ChatContentError {
    #[error("'messages' is required")]
    NoMessages,
    #[error("bad input_ocr_document: {0}")]
    BadDocument(String),
}

/// Reads the texts, the OCR Document and the image URLs of a chat completion request's
/// `messages`. Parts of other types, messages without content and non-string texts are
/// skipped; a malformed `input_ocr_document` part is an error.
pub fn read_chat_content(body: &serde_json::Value) -> Result<ChatContent, ChatContentError> {
    use serde_json::Value;
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .ok_or(ChatContentError::NoMessages)?;
    let mut out = ChatContent::default();
    for m in messages {
        match m.get("content") {
            Some(Value::String(s)) => out.texts.push(s.clone()),
            Some(Value::Array(parts)) => {
                for p in parts {
                    match p.get("type").and_then(Value::as_str) {
                        Some("text") => {
                            if let Some(t) = p.get("text").and_then(Value::as_str) {
                                out.texts.push(t.to_string());
                            }
                        }
                        Some("input_ocr_document") => {
                            let part = InputOcrDocumentPart::deserialize(p)
                                .map_err(|e| ChatContentError::BadDocument(e.to_string()))?;
                            out.document = Some(OcrDocument::from(&part));
                        }
                        Some("image_url") => out.image_urls.push(
                            p.pointer("/image_url/url")
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_string(),
                        ),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> OcrDocument {
        let w = |t: &str, b: BBox| DocWord {
            text: t.into(),
            bbox: b,
            conf: 0.9,
        };
        OcrDocument {
            pages: vec![DocPage::from_words(
                0,
                1000,
                1400,
                PageSource::Ocr,
                vec![
                    w("56", [230.0, 200.0, 340.0, 230.0]),
                    w("Total", [100.0, 200.0, 220.0, 230.0]),
                ],
            )],
        }
    }

    #[test]
    fn input_ocr_document_round_trip_and_shape() {
        let part = InputOcrDocumentPart::from(&doc());
        let v = serde_json::to_value(&part).expect("serialises");
        assert_eq!(
            v,
            json!({"type": "input_ocr_document", "document": {"pages": [{"width": 1000.0, "height": 1400.0,
                "spans": [{"text": "Total", "bbox": [100.0, 200.0, 220.0, 230.0]},
                          {"text": "56", "bbox": [230.0, 200.0, 340.0, 230.0]}]}]}})
        );
        let back = OcrDocument::from(&part);
        assert_eq!(back.pages[0].words.len(), 2);
        assert_eq!(back.pages[0].lines[0].text, "Total 56");
    }

    #[test]
    fn layout_text_reads_back_to_the_same_lines() {
        let text = layout_text(&doc());
        assert_eq!(
            text,
            "page 1 of 1, 1000x1400 px\n[100,200,340,230] Total 56\n"
        );
        let back = parse_layout_text(&format!("Some instructions.\n{text}"));
        assert_eq!(back.pages.len(), 1);
        assert_eq!((back.pages[0].width, back.pages[0].height), (1000, 1400));
        assert_eq!(back.pages[0].lines[0].text, "Total 56");
        assert_eq!(back.pages[0].words.len(), 2);
        assert!(back.pages[0].words[0].bbox[2] <= back.pages[0].words[1].bbox[0]);
    }

    #[test]
    fn input_ocr_document_accepts_a_bare_page_list() {
        let v = json!({"type": "input_ocr_document", "document": [{"width": 864.0, "height": 1296.0,
            "spans": [{"bbox": [302.0, 362.0, 497.0, 391.0], "text": "Nasi Campur Bali"}]}]});
        let part: InputOcrDocumentPart = serde_json::from_value(v).expect("parses");
        let d = OcrDocument::from(&part);
        assert_eq!((d.pages[0].width, d.pages[0].height), (864, 1296));
        assert_eq!(d.pages[0].words[0].text, "Nasi Campur Bali");
    }

    #[test]
    fn generate_request_matches_the_reference_server() {
        let req = GenerateRequest::new("What is the total amount?", &doc());
        let v = serde_json::to_value(&req).expect("serialises");
        assert_eq!(v["pages"][0]["ocr"]["width"], 1000);
        assert_eq!(
            v["pages"][0]["ocr"]["words"][0],
            json!({"text": "Total", "bbox": [100.0, 200.0, 220.0, 230.0]})
        );
        assert!(v.get("model").is_none());

        let incoming = json!({"question": "q", "pages": [
            {"ocr": {"width": 10, "height": 10, "words": []}},
            {"ocr": null, "image_b64": null},
            {"ocr": {"width": 1000, "height": 1400, "words": [{"text": "VAT", "bbox": [100, 260, 170, 290]}]}}
        ], "max_tokens": 8});
        let req: GenerateRequest = serde_json::from_value(incoming).expect("parses");
        assert_eq!(req.max_tokens, Some(8));
        let d = req.document();
        assert_eq!(d.pages.len(), 1);
        assert_eq!(d.pages[0].index, 0);
        assert_eq!(d.pages[0].words[0].text, "VAT");
    }

    #[test]
    fn chat_content_reads_texts_the_document_and_image_urls() {
        let doc = OcrDocument {
            pages: vec![page_from_wire(
                0,
                100.0,
                50.0,
                &[WireWord {
                    text: "Total".into(),
                    bbox: [1.0, 1.0, 20.0, 9.0],
                }],
            )],
        };
        let part = serde_json::to_value(InputOcrDocumentPart::from(&doc)).expect("serialises");
        let body = serde_json::json!({"messages": [
            {"role": "system", "content": "Answer briefly."},
            {"role": "user", "content": [
                {"type": "text", "text": "What is the total?"},
                part,
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}},
                {"type": "text", "text": 7},
                {"type": "audio", "data": "x"}
            ]},
            {"role": "assistant"}
        ]});
        let c = read_chat_content(&body).expect("reads");
        assert_eq!(c.texts, ["Answer briefly.", "What is the total?"]);
        assert_eq!(c.image_urls, ["data:image/png;base64,AA=="]);
        assert_eq!(
            c.document.expect("document").pages[0].lines[0].text,
            "Total"
        );

        assert_eq!(
            read_chat_content(&serde_json::json!({"prompt": "x"})),
            Err(ChatContentError::NoMessages)
        );
        let bad = serde_json::json!({"messages": [{"content": [
            {"type": "input_ocr_document", "document": {"pages": [{"width": "wide"}]}}
        ]}]});
        assert!(matches!(
            read_chat_content(&bad),
            Err(ChatContentError::BadDocument(_))
        ));
    }
}
