//! # ocrlty
//!
//! The OCRlty service composed from its library crates: documents in ([`document`]), field
//! extraction through a KIE backend, and the command line built on them.

pub mod config;
pub mod document;
pub mod embedded;
pub mod pipeline;
pub mod server;
pub mod tilt_backend;
pub mod tilt_server;
pub mod visualize;

pub use document::{DocumentError, PageReport, ReadDocument, read_document, read_document_with};

use kie::{Extraction, FieldName};
use serde_json::{Map, Value, json};

/// An extraction as OCRlty prints it: `data` (the six normalised values), `fields` (each with
/// raw text, confidence and evidence) and `warnings`.
pub fn extraction_json(x: &Extraction) -> Value {
    let mut data = Map::new();
    let mut fields = Map::new();
    for name in FieldName::ALL {
        let f = x.field(name);
        data.insert(name.as_str().into(), json!(f.value));
        fields.insert(
            name.as_str().into(),
            serde_json::to_value(f).unwrap_or(Value::Null),
        );
    }
    json!({"data": data, "fields": fields, "warnings": x.warnings})
}
