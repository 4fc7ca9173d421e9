use std::path::PathBuf;
use std::time::Duration;

/// Why a document could not be read. Every variant but [`InputError::Library`] is the
/// sender's problem (a 4xx on the API).
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("empty input: the file has zero bytes")]
    Empty,

    #[error(
        "unsupported format: {seen} (supported: PDF, JPEG, PNG, TIFF, WebP, CII/UBL e-invoice XML)"
    )]
    UnsupportedFormat { seen: String },

    #[error("the PDF is encrypted and cannot be opened without a password")]
    Encrypted,

    #[error("the PDF has {pages} pages, over the limit of {max_pages}")]
    TooManyPages { pages: usize, max_pages: usize },

    #[error("the PDF has no pages")]
    NoPages,

    #[error("unreadable PDF: {0}")]
    CorruptPdf(String),

    #[error("page {page}: {message}")]
    Page { page: usize, message: String },

    #[error("reading the PDF took longer than its time budget of {0:?}")]
    TimeBudget(Duration),

    #[error(
        "cannot load libpdfium from {path}: {message} (run scripts/setup, or set PDFIUM_LIB_DIR)"
    )]
    Library { path: PathBuf, message: String },
}

impl InputError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            InputError::Empty => "empty_input",
            InputError::UnsupportedFormat { .. } => "unsupported_format",
            InputError::Encrypted => "encrypted_pdf",
            InputError::TooManyPages { .. } => "too_many_pages",
            InputError::NoPages => "no_pages",
            InputError::CorruptPdf(_) => "corrupt_pdf",
            InputError::Page { .. } => "unreadable_page",
            InputError::TimeBudget(_) => "time_budget_exceeded",
            InputError::Library { .. } => "pdfium_unavailable",
        }
    }

    /// True when the input is at fault, false when the service is.
    pub fn is_input_error(&self) -> bool {
        !matches!(self, InputError::Library { .. })
    }
}
