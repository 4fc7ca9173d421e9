//! # tilt-prep
//!
//! Arctic-TILT model inputs prepared from the OCR Document ([`ocr_document`]): tokens with
//! their boxes, chunks with the question prefix, RoI boxes and page images. Only the TILT code
//! (the in-process backend, the model server) depends on it; the OCR Document itself and the
//! backends that read it need no tokenizer.

pub mod tilt_input;
