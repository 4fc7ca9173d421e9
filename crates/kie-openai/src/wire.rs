//! What goes to an OpenAI-compatible server and what comes back: the three request styles,
//! the answers, and the error envelopes servers of this family have used.

use kie::FieldName;
use ocr_document::{GenerateRequest, InputOcrDocumentPart, OcrDocument, layout_text};
use rules::{RawLineItem, RawTaxLine};
use serde_json::{Map, Value, json};

/// How the backend asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Arctic-TILT through chat completions: one question per field, the document as an
    /// `input_ocr_document` content part.
    Tilt,
    /// Arctic-TILT through OCRlty's `POST /v1/tilt/generate`, one question per field.
    TiltGenerate,
    /// Any chat LLM: the OCR lines with their boxes as text, the answer constrained by a JSON
    /// schema in `response_format`.
    Llm,
    /// A vision LLM (Qwen-VL style): the page images as data URIs and the same JSON schema.
    Vlm,
}

impl std::str::FromStr for Style {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "tilt" => Ok(Style::Tilt),
            "tilt-generate" => Ok(Style::TiltGenerate),
            "llm" => Ok(Style::Llm),
            "vlm" => Ok(Style::Vlm),
            other => Err(format!(
                "unknown request style '{other}' (known: tilt, tilt-generate, llm, vlm)"
            )),
        }
    }
}

impl Style {
    pub fn as_str(self) -> &'static str {
        match self {
            Style::Tilt => "tilt",
            Style::TiltGenerate => "tilt-generate",
            Style::Llm => "llm",
            Style::Vlm => "vlm",
        }
    }
}

/// `POST /v1/chat/completions` body for one TILT question.
pub fn tilt_chat(model: &str, question: &str, doc: &OcrDocument, max_tokens: u32) -> Value {
    json!({
        "model": model,
        "temperature": 0.0,
        "max_tokens": max_tokens,
        "logprobs": true,
        "messages": [
            {"role": "system", "content": [{"type": "text", "text": question}]},
            {"role": "user", "content": [InputOcrDocumentPart::from(doc)]},
        ],
    })
}

/// `POST /v1/tilt/generate` body for one question.
pub fn tilt_generate(model: &str, question: &str, doc: &OcrDocument, max_tokens: u32) -> Value {
    let mut req = GenerateRequest::new(question, doc);
    req.model = Some(model.to_string());
    req.temperature = Some(0.0);
    req.max_tokens = Some(max_tokens);
    serde_json::to_value(req).unwrap_or(Value::Null)
}

/// The keys of a line item in the answer, with what each holds.
const ITEM_KEYS: [(&str, &str); 4] = [
    (
        "description",
        "the item's text as printed, wrapped lines joined",
    ),
    ("quantity", "the quantity as printed, or null"),
    ("unit_price", "the price of one unit as printed, or null"),
    (
        "amount",
        "the line's amount as printed (negative for discounts)",
    ),
];

/// The keys of a tax breakdown row in the answer.
const TAX_KEYS: [(&str, &str); 3] = [
    ("rate", "the tax rate as printed, e.g. 19 %"),
    (
        "base",
        "the net amount taxed at that rate, as printed, or null",
    ),
    ("amount", "the tax at that rate, as printed"),
];

fn list_schema(keys: &[(&str, &str)], description: &str) -> Value {
    let props: Map<String, Value> = keys
        .iter()
        .map(|(k, hint)| {
            (
                (*k).into(),
                json!({"type": ["string", "null"], "description": hint}),
            )
        })
        .collect();
    json!({
        "type": "array",
        "description": description,
        "items": {
            "type": "object",
            "properties": props,
            "required": keys.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
            "additionalProperties": false,
        },
    })
}

/// The JSON schema of the LLM answer: the six fields, each a string or null, the line items
/// and the tax breakdown (lists of such strings).
pub fn answer_schema() -> Value {
    let mut props = Map::new();
    for f in FieldName::ALL {
        props.insert(
            f.as_str().into(),
            json!({"type": ["string", "null"], "description": field_hint(f)}),
        );
    }
    props.insert(
        "line_items".into(),
        list_schema(&ITEM_KEYS, "every item row, top to bottom; [] when none"),
    );
    props.insert(
        "tax_breakdown".into(),
        list_schema(
            &TAX_KEYS,
            "one row per tax rate from the tax summary; [] when none",
        ),
    );
    let mut required: Vec<&str> = FieldName::ALL.iter().map(|f| f.as_str()).collect();
    required.extend(["line_items", "tax_breakdown"]);
    json!({
        "type": "object",
        "properties": props,
        "required": required,
        "additionalProperties": false,
    })
}

fn field_hint(f: FieldName) -> &'static str {
    match f {
        FieldName::Merchant => "the seller's name as printed",
        FieldName::Date => "the document date as printed",
        FieldName::Currency => "the currency symbol or code as printed",
        FieldName::Subtotal => "the amount before tax, as printed",
        FieldName::TaxAmount => "the tax amount, as printed",
        FieldName::Total => "the amount to pay, as printed",
    }
}

pub const LLM_INSTRUCTIONS: &str = "You read receipts and invoices. The document below is the \
OCR of each page: one text line per row, with its box [x1,y1,x2,y2] in pixels, top to bottom. \
Answer with one JSON object with the keys merchant, date, currency, subtotal, tax_amount and \
total, line_items (each item row: description, quantity, unit_price, amount) and tax_breakdown \
(each tax rate: rate, base, amount). Copy each value exactly as printed on the document; use \
null when the document does not show it, [] for a list it does not print.";

/// `POST /v1/chat/completions` body for the LLM style. `retry_note` is added after an
/// answer that was not valid JSON.
pub fn llm_chat(model: &str, doc: &OcrDocument, max_tokens: u32, retry_note: bool) -> Value {
    let user = json!(format!("Document OCR:\n{}", layout_text(doc)));
    schema_chat(model, LLM_INSTRUCTIONS, user, max_tokens, retry_note)
}

pub const VLM_INSTRUCTIONS: &str = "You read receipts and invoices. The images are the pages \
of one document, in order. Answer with one JSON object with the keys merchant, date, currency, \
subtotal, tax_amount and total, line_items (each item row: description, quantity, unit_price, \
amount) and tax_breakdown (each tax rate: rate, base, amount). Copy each value exactly as \
printed; use null when the document does not show it, [] for a list it does not print.";

/// A page as the JPEG (quality 85) a vision model is sent.
pub fn page_jpeg(img: &kie::PageImage) -> Result<Vec<u8>, image::ImageError> {
    let mut out = std::io::Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(img.0.as_ref())?;
    Ok(out.into_inner())
}

/// `POST /v1/chat/completions` body for the vision style: the pages (JPEG, see [`page_jpeg`])
/// as `image_url` parts holding data URIs.
pub fn vlm_chat(model: &str, pages: &[Vec<u8>], max_tokens: u32, retry_note: bool) -> Value {
    use base64::Engine as _;
    let mut parts = vec![json!({"type": "text", "text": "The document's pages:"})];
    for jpeg in pages {
        let data = base64::engine::general_purpose::STANDARD.encode(jpeg);
        parts.push(json!({"type": "image_url",
            "image_url": {"url": format!("data:image/jpeg;base64,{data}")}}));
    }
    schema_chat(
        model,
        VLM_INSTRUCTIONS,
        json!(parts),
        max_tokens,
        retry_note,
    )
}

/// A chat completion whose answer is constrained by [`answer_schema`]: instructions, the
/// user's content, and — after an answer that was not valid JSON — a note asking again.
fn schema_chat(
    model: &str,
    instructions: &str,
    user_content: Value,
    max_tokens: u32,
    retry_note: bool,
) -> Value {
    let mut messages = vec![
        json!({"role": "system", "content": instructions}),
        json!({"role": "user", "content": user_content}),
    ];
    if retry_note {
        messages.push(json!({"role": "user", "content":
            "Your previous answer was not a valid JSON object with those keys. Answer with the JSON object only."}));
    }
    json!({
        "model": model,
        "temperature": 0.0,
        "max_tokens": max_tokens,
        "messages": messages,
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "receipt_fields", "schema": answer_schema(), "strict": true},
        },
    })
}

/// The assistant's text and, when the server sent token log-probabilities, the lowest.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub content: String,
    pub min_logprob: Option<f64>,
}

/// `choices[0].message.content` of a chat completion (also the shape `/v1/tilt/generate`
/// answers with).
pub fn completion(v: &Value) -> Result<Completion, String> {
    let choice = v
        .get("choices")
        .and_then(|c| c.get(0))
        .ok_or("the answer has no choices[0]")?;
    let content = match choice.pointer("/message/content") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => return Err(format!("message.content is not a string: {other}")),
    };
    let min_logprob = choice
        .pointer("/logprobs/content")
        .and_then(Value::as_array)
        .and_then(|toks| {
            toks.iter()
                .filter_map(|t| t.get("logprob").and_then(Value::as_f64))
                .reduce(f64::min)
        });
    Ok(Completion {
        content,
        min_logprob,
    })
}

/// A TILT answer as a field's raw string: trimmed, the first of several values (" | "),
/// nothing for the empty answers models give when a document has no such field.
pub fn tilt_answer(content: &str) -> Option<String> {
    let first = content.split('|').next().unwrap_or_default().trim();
    let none = ["", "none", "null", "n/a", "na", "-"];
    (!none.contains(&first.to_ascii_lowercase().as_str())).then(|| first.to_string())
}

/// What an LLM answered: the fields it found, its line items and tax rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LlmAnswer {
    pub fields: Vec<(FieldName, String)>,
    pub line_items: Vec<RawLineItem>,
    pub tax_breakdown: Vec<RawTaxLine>,
}

/// A value of the answer as a raw string: strings trimmed (empty is none), numbers as printed.
fn raw_string(key: &str, v: Option<&Value>) -> Result<Option<String>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(format!("'{key}' is not a string: {other}")),
    }
}

/// The objects of a list in the answer (absent or null: none).
fn list<'a>(map: &'a Map<String, Value>, key: &str) -> Result<Vec<&'a Map<String, Value>>, String> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(rows)) => rows
            .iter()
            .map(|r| {
                r.as_object()
                    .ok_or(format!("'{key}' holds a non-object: {r}"))
            })
            .collect(),
        Some(other) => Err(format!("'{key}' is not a list: {other}")),
    }
}

/// The LLM's JSON answer: the first JSON object in the text (bare, in a ```json fence or
/// inside prose), each field a string (numbers are taken as printed) or null, and the
/// `line_items` and `tax_breakdown` lists (absent lists are empty).
pub fn llm_answer(content: &str) -> Result<LlmAnswer, String> {
    let obj = first_json_object(content).ok_or("the answer holds no JSON object")?;
    let Value::Object(map) = obj else {
        return Err("the answer is not a JSON object".into());
    };
    let mut out = LlmAnswer::default();
    for f in FieldName::ALL {
        if let Some(v) = raw_string(f.as_str(), map.get(f.as_str()))? {
            out.fields.push((f, v));
        }
    }
    for row in list(&map, "line_items")? {
        let get = |k: &str| raw_string(k, row.get(k));
        let item = RawLineItem {
            description: get("description")?,
            quantity: get("quantity")?,
            unit_price: get("unit_price")?,
            amount: get("amount")?,
            confidence: 0.6,
        };
        if item.amount.is_some() || item.description.is_some() {
            out.line_items.push(item);
        }
    }
    for row in list(&map, "tax_breakdown")? {
        let get = |k: &str| raw_string(k, row.get(k));
        let line = RawTaxLine {
            rate: get("rate")?,
            base: get("base")?,
            amount: get("amount")?,
            confidence: 0.6,
        };
        if line.amount.is_some() || line.rate.is_some() {
            out.tax_breakdown.push(line);
        }
    }
    Ok(out)
}

fn first_json_object(text: &str) -> Option<Value> {
    if let Ok(v) = serde_json::from_str::<Value>(text.trim()) {
        return Some(v);
    }
    // The first balanced {...} that parses (fences and prose around it are ignored).
    let bytes = text.as_bytes();
    let mut start = 0;
    while let Some(off) = text[start..].find('{') {
        let open = start + off;
        let (mut depth, mut in_str, mut esc) = (0i32, false, false);
        for (i, &b) in bytes.iter().enumerate().skip(open) {
            if in_str {
                match (esc, b) {
                    (true, _) => esc = false,
                    (false, b'\\') => esc = true,
                    (false, b'"') => in_str = false,
                    _ => {}
                }
                continue;
            }
            match b {
                b'"' => in_str = true,
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        if let Ok(v) = serde_json::from_str::<Value>(&text[open..=i]) {
                            return Some(v);
                        }
                        break;
                    }
                }
                _ => {}
            }
        }
        start = open + 1;
    }
    None
}

/// The message of an error body in any envelope this family of servers has used:
/// OpenAI's `{"error": {"message", "type", "code"}}`, older vLLM's `{"object": "error",
/// "message", "type", "code"}` and FastAPI's `{"detail": "..." | [{"msg", ...}]}`.
pub fn error_message(body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    if let Some(e) = v.get("error") {
        return match e {
            Value::String(s) => Some(s.clone()),
            _ => e.get("message").and_then(Value::as_str).map(String::from),
        };
    }
    if v.get("object").and_then(Value::as_str) == Some("error") {
        return v.get("message").and_then(Value::as_str).map(String::from);
    }
    match v.get("detail")? {
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => Some(
            items
                .iter()
                .map(|i| {
                    i.get("msg")
                        .and_then(Value::as_str)
                        .map(String::from)
                        .unwrap_or_else(|| i.to_string())
                })
                .collect::<Vec<_>>()
                .join("; "),
        ),
        other => Some(other.to_string()),
    }
}

/// The model ids of a `/v1/models` answer.
pub fn model_ids(v: &Value) -> Vec<String> {
    v.get("data")
        .and_then(Value::as_array)
        .map(|d| {
            d.iter()
                .filter_map(|m| m.get("id").and_then(Value::as_str).map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_three_error_envelopes_are_understood() {
        let cases = [
            (
                r#"{"error": {"message": "model not found", "type": "NotFoundError", "code": 404}}"#,
                "model not found",
            ),
            (
                r#"{"object": "error", "message": "max_tokens too large", "type": "BadRequestError", "code": 400}"#,
                "max_tokens too large",
            ),
            (
                r#"{"detail": "No valid OCR words found on any page for TILT."}"#,
                "No valid OCR words found on any page for TILT.",
            ),
            (
                r#"{"detail": [{"loc": ["body", "question"], "msg": "field required", "type": "value_error.missing"}]}"#,
                "field required",
            ),
        ];
        for (body, want) in cases {
            assert_eq!(error_message(body).as_deref(), Some(want), "{body}");
        }
        assert_eq!(error_message("<html>bad gateway</html>"), None);
    }

    #[test]
    fn llm_answers_are_found_in_fences_and_prose_and_coerced() {
        let a = llm_answer("Sure!\n```json\n{\"merchant\": \"ACME\", \"total\": 12.5, \"date\": null, \"currency\": \"\"}\n```")
            .expect("parses");
        assert_eq!(
            a.fields,
            vec![
                (FieldName::Merchant, "ACME".to_string()),
                (FieldName::Total, "12.5".to_string())
            ]
        );
        assert!(a.line_items.is_empty() && a.tax_breakdown.is_empty());
        assert!(llm_answer("no idea").is_err());
        assert!(llm_answer(r#"{"total": ["1", "2"]}"#).is_err());
        let nested = llm_answer(r#"x {"merchant": "A {b}", "total": "3"} y"#).expect("parses");
        assert_eq!(nested.fields[0].1, "A {b}");
    }

    #[test]
    fn llm_answers_carry_items_and_tax_rows() {
        let a = llm_answer(
            r#"{"total": "9.00", "line_items": [
                {"description": "Tea", "quantity": "2", "unit_price": "1.50", "amount": "3.00"},
                {"description": "Cake", "quantity": null, "unit_price": null, "amount": 6},
                {"description": "", "quantity": null, "unit_price": null, "amount": null}],
              "tax_breakdown": [{"rate": "7 %", "base": null, "amount": "0.59"}]}"#,
        )
        .expect("parses");
        assert_eq!(a.line_items.len(), 2, "the empty row is dropped");
        assert_eq!(a.line_items[0].quantity.as_deref(), Some("2"));
        assert_eq!(a.line_items[1].amount.as_deref(), Some("6"));
        assert_eq!(a.tax_breakdown[0].rate.as_deref(), Some("7 %"));
        assert!(llm_answer(r#"{"line_items": "none"}"#).is_err());
        assert!(llm_answer(r#"{"line_items": [1]}"#).is_err());
        let schema = answer_schema();
        let required: Vec<&str> = schema["required"]
            .as_array()
            .expect("required")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(required.contains(&"line_items") && required.contains(&"tax_breakdown"));
        assert_eq!(
            schema["properties"]["line_items"]["items"]["required"],
            json!(["description", "quantity", "unit_price", "amount"])
        );
    }

    #[test]
    fn vlm_requests_carry_each_page_as_a_data_uri_and_the_schema() {
        let page = kie::PageImage::new(image::RgbImage::from_pixel(8, 8, image::Rgb([9, 9, 9])));
        let jpeg = page_jpeg(&page).expect("encodes");
        assert_eq!(&jpeg[..2], b"\xff\xd8");
        let v = vlm_chat("qwen-vl", &[b"\xff\xd8\xff".to_vec(), jpeg], 64, false);
        let parts = v["messages"][1]["content"].as_array().expect("parts");
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[1]["image_url"]["url"], "data:image/jpeg;base64,/9j/");
        assert_eq!(
            v["response_format"]["json_schema"]["schema"]["required"]
                .as_array()
                .map(Vec::len),
            Some(8),
            "the six fields, line_items and tax_breakdown"
        );
    }

    #[test]
    fn tilt_answers_take_the_first_value_and_drop_empty_ones() {
        assert_eq!(tilt_answer(" 56.00 | 12.00 ").as_deref(), Some("56.00"));
        assert_eq!(tilt_answer(""), None);
        assert_eq!(tilt_answer("None"), None);
    }

    #[test]
    fn completions_give_content_and_the_weakest_token() {
        let v = json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": "56"},
            "logprobs": {"content": [{"token": "5", "logprob": -0.1}, {"token": "6", "logprob": -0.5}]}}]});
        let c = completion(&v).expect("parses");
        assert_eq!(c.content, "56");
        assert_eq!(c.min_logprob, Some(-0.5));
        assert!(completion(&json!({"choices": []})).is_err());
    }
}
