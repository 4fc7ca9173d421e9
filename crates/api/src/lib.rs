//! # ocrlty
//!
//! The OCRlty service composed from its library crates: documents in ([`document`]), and the
//! command line built on them.

pub mod document;

pub use document::{DocumentError, PageReport, ReadDocument, read_document};
