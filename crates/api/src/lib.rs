//! # ocrlty
//!
//! The OCRlty service composed from its library crates: documents in ([`document`]), field
//! extraction through a KIE backend, and the command line built on them.

pub mod config;
pub mod config_files;
pub mod document;
pub mod embedded;
pub mod pipeline;
pub mod server;
pub mod visualize;

pub use document::{DocumentError, PageReport, ReadDocument, read_document, read_document_with};
