//! Reading a multipart upload: file parts counted as they stream in (an oversized upload is
//! refused at the limit, never buffered whole), text parts for the options.

use std::time::Duration;

use axum::extract::multipart::{Multipart, MultipartError};
use axum::http::StatusCode;
use bytes::Bytes;

use super::problem::ApiError;

/// One uploaded file.
#[derive(Debug, Clone)]
pub struct Upload {
    pub filename: Option<String>,
    pub bytes: Bytes,
}

/// The longest file name kept (in characters), as most file systems allow.
const MAX_FILENAME_CHARS: usize = 255;

/// A client's file name as a label, never a path: its last component (after any `/` or `\`),
/// control characters dropped, at most 255 characters; `None` when nothing is left.
pub fn clean_filename(raw: &str) -> Option<String> {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let clean: String = last
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_FILENAME_CHARS)
        .collect();
    let clean = clean.trim();
    (!clean.is_empty() && clean != "." && clean != "..").then(|| clean.to_string())
}

/// What a form carried: files and text options by name.
#[derive(Debug, Default)]
pub struct Form {
    pub files: Vec<Upload>,
    pub text: Vec<(String, String)>,
}

impl Form {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.text
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

const TEXT_LIMIT: usize = 4096;

/// How much of an oversized upload is read and thrown away before the 413 goes out, so that
/// clients that send the whole body before reading the answer get it; past this the
/// connection is closed.
pub const DRAIN_CAP: u64 = 4 * 1024 * 1024;

/// The longest an unused body is drained (a client trickling it gets the answer after this).
const DRAIN_TIME: Duration = Duration::from_secs(10);

/// `read` unless the client sends nothing for `stall`: a trickling upload gets a 408 instead of
/// holding its connection for as long as it trickles.
async fn within<T>(
    stall: Duration,
    read: impl std::future::Future<Output = Result<T, MultipartError>>,
    limit_mb: u64,
) -> Result<T, ApiError> {
    match tokio::time::timeout(stall, read).await {
        Ok(r) => r.map_err(|e| multipart_error(e, limit_mb)),
        Err(_) => Err(ApiError::SlowBody {
            secs: stall.as_secs_f64(),
        }),
    }
}

/// Reads the whole form. Parts named in `file_names` are files; at most `max_files` of them;
/// all bytes together at most `limit` (the body limit is enforced by the extractor as well);
/// a pause of `stall` in the upload ends it with a 408.
pub async fn read_form(
    mut mp: Multipart,
    file_names: &[&str],
    max_files: usize,
    limit: u64,
    limit_mb: u64,
    stall: Duration,
) -> Result<Form, ApiError> {
    let mut form = Form::default();
    let mut total: u64 = 0;
    while let Some(mut field) = within(stall, mp.next_field(), limit_mb).await? {
        let name = field.name().unwrap_or_default().to_string();
        if file_names.contains(&name.as_str()) {
            if form.files.len() == max_files {
                return Err(ApiError::BadRequest(format!(
                    "too many files: at most {max_files} per request"
                )));
            }
            let filename = field.file_name().and_then(clean_filename);
            let mut buf = Vec::new();
            while let Some(chunk) = within(stall, field.chunk(), limit_mb).await? {
                total += chunk.len() as u64;
                if total > limit {
                    let until = tokio::time::Instant::now() + DRAIN_TIME;
                    let mut seen = 0u64;
                    while let Ok(Ok(Some(c))) = tokio::time::timeout_at(until, field.chunk()).await
                    {
                        seen += c.len() as u64;
                        if seen > DRAIN_CAP {
                            break;
                        }
                    }
                    drop(field);
                    let rest = DRAIN_CAP.saturating_sub(seen);
                    let _ = tokio::time::timeout_at(until, drain(&mut mp, rest)).await;
                    return Err(ApiError::TooLarge { limit_mb });
                }
                buf.extend_from_slice(&chunk);
            }
            form.files.push(Upload {
                filename,
                bytes: Bytes::from(buf),
            });
        } else {
            let mut buf = Vec::new();
            while let Some(chunk) = within(stall, field.chunk(), limit_mb).await? {
                buf.extend_from_slice(&chunk);
                if buf.len() > TEXT_LIMIT {
                    return Err(ApiError::BadRequest(format!(
                        "form field '{name}' is longer than {TEXT_LIMIT} bytes"
                    )));
                }
            }
            let value = String::from_utf8(buf).map_err(|_| {
                ApiError::BadRequest(format!("form field '{name}' is not UTF-8 text"))
            })?;
            form.text.push((name, value));
        }
    }
    Ok(form)
}

/// Reads and discards a request body that will not be used, up to [`DRAIN_CAP`] bytes, so that
/// the client reads the error answer instead of a reset connection.
pub async fn drain_body(body: axum::body::Body) {
    use futures_util::StreamExt;
    let mut stream = body.into_data_stream();
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        let mut seen = 0u64;
        while let Some(Ok(c)) = stream.next().await {
            seen += c.len() as u64;
            if seen > DRAIN_CAP {
                return;
            }
        }
    })
    .await;
}

/// Reads and discards the remaining parts of the upload, up to `cap` bytes.
async fn drain(mp: &mut Multipart, cap: u64) {
    let mut seen = 0u64;
    while let Ok(Some(mut f)) = mp.next_field().await {
        while let Ok(Some(c)) = f.chunk().await {
            seen += c.len() as u64;
            if seen > cap {
                return;
            }
        }
    }
}

fn multipart_error(e: MultipartError, limit_mb: u64) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge { limit_mb }
    } else {
        ApiError::BadRequest(format!("malformed multipart body: {}", e.body_text()))
    }
}

#[cfg(test)]
mod tests {
    use super::clean_filename;

    #[test]
    fn file_names_are_labels_not_paths() {
        assert_eq!(
            clean_filename("../../etc/passwd").as_deref(),
            Some("passwd")
        );
        assert_eq!(
            clean_filename("C:\\Users\\me\\r.png").as_deref(),
            Some("r.png")
        );
        assert_eq!(clean_filename("a\u{7}b\tc.pdf").as_deref(), Some("abc.pdf"));
        assert_eq!(
            clean_filename(&"x".repeat(10_000)).map(|n| n.len()),
            Some(255)
        );
        assert_eq!(clean_filename("dir/"), None);
        assert_eq!(clean_filename(".."), None);
        assert_eq!(clean_filename("  "), None);
    }
}
