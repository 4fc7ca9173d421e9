//! Webhook deliveries from the outbox: signed, retried with backoff, only to allowed hosts, no
//! redirects followed.
//!
//! Each delivery is `POST <callback_url>` with the [`crate::WebhookEvent`] as JSON and
//!
//! - `OCRlty-Event-Id: <event id>` — the same in every delivery of an event: receivers
//!   de-duplicate on it;
//! - `OCRlty-Signature: t=<unix seconds>,v1=<hex>` — HMAC-SHA256 with `WEBHOOK_SECRET` over
//!   `"<t>." + body`; receivers recompute it (see [`verify`]) and refuse old timestamps.
//!
//! A 2xx answer settles the event; anything else (a redirect included) is tried again later.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::{Delivery, JobStore};

pub const EVENT_ID_HEADER: &str = "ocrlty-event-id";
pub const SIGNATURE_HEADER: &str = "ocrlty-signature";

/// The hosts callbacks may go to (`WEBHOOK_ALLOWED_HOSTS`): `host` (any port), `host:port`, or
/// `*.domain` (any subdomain). Empty: no callbacks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedHosts(Vec<String>);

impl AllowedHosts {
    /// From a comma-separated list.
    pub fn parse(list: &str) -> Self {
        AllowedHosts(
            list.split(',')
                .map(|h| h.trim().trim_end_matches('.').to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `url` may be called: an absolute `http` URL without credentials whose host is
    /// listed. The reason when not.
    pub fn check(&self, url: &str) -> Result<reqwest::Url, String> {
        let u = reqwest::Url::parse(url).map_err(|e| format!("callback_url is not a URL: {e}"))?;
        match u.scheme() {
            "http" => {}
            "https" => {
                return Err(
                    "callback_url: https is not supported by this build (no TLS client); use an \
                     http receiver on a trusted network or an egress proxy"
                        .into(),
                );
            }
            s => {
                return Err(format!(
                    "callback_url: scheme '{s}' is not allowed (http only)"
                ));
            }
        }
        if !u.username().is_empty() || u.password().is_some() {
            return Err("callback_url must not carry credentials".into());
        }
        let host = u
            .host_str()
            .ok_or("callback_url has no host")?
            .trim_end_matches('.')
            .to_ascii_lowercase();
        let port = u.port_or_known_default().unwrap_or(80);
        let with_port = format!("{host}:{port}");
        let allowed = self.0.iter().any(|a| {
            if let Some(domain) = a.strip_prefix("*.") {
                host.ends_with(&format!(".{domain}"))
            } else {
                *a == host || *a == with_port
            }
        });
        if allowed {
            Ok(u)
        } else if self.0.is_empty() {
            Err("callbacks are off: WEBHOOK_ALLOWED_HOSTS is empty".into())
        } else {
            Err(format!(
                "callback_url host '{host}' is not in WEBHOOK_ALLOWED_HOSTS"
            ))
        }
    }
}

/// The signature header's value for `body` sent at `timestamp` (Unix seconds).
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    format!("t={timestamp},v1={}", hex(&mac(secret, timestamp, body)))
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    m.update(timestamp.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m.finalize().into_bytes().to_vec()
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the signature header is malformed")]
    Malformed,
    #[error("the signature does not match")]
    Mismatch,
    #[error("the signature's timestamp is outside the tolerance")]
    Stale,
}

/// What a receiver does: checks `header` against `body` and that its timestamp is within
/// `tolerance` of `now` (Unix seconds). Constant time in the comparison.
pub fn verify(
    secret: &[u8],
    header: &str,
    body: &[u8],
    now: i64,
    tolerance: Duration,
) -> Result<(), VerifyError> {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => v1 = Some(v.to_string()),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return Err(VerifyError::Malformed);
    };
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    m.update(t.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    let given = unhex(&v1).ok_or(VerifyError::Malformed)?;
    m.verify_slice(&given).map_err(|_| VerifyError::Mismatch)?;
    if now.abs_diff(t) > tolerance.as_secs() {
        return Err(VerifyError::Stale);
    }
    Ok(())
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Delivers the outbox: one event at a time, until told to stop.
#[derive(Debug, Clone)]
pub struct Dispatcher {
    store: Arc<dyn JobStore>,
    client: reqwest::Client,
    secret: Vec<u8>,
    allowed: AllowedHosts,
    /// The first retry's delay; doubled for each later one.
    backoff: Duration,
}

/// How long a claimed event is hidden from other dispatchers (longer than a delivery takes).
const HOLD: Duration = Duration::from_secs(60);
const TIMEOUT: Duration = Duration::from_secs(10);

impl Dispatcher {
    pub fn new(
        store: Arc<dyn JobStore>,
        secret: &str,
        allowed: AllowedHosts,
        backoff: Duration,
    ) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .user_agent(concat!("ocrlty-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Dispatcher {
            store,
            client,
            secret: secret.as_bytes().to_vec(),
            allowed,
            backoff,
        })
    }

    /// Delivers due events until `stop` turns true; idles `idle` when none is due.
    pub async fn run(self, mut stop: tokio::sync::watch::Receiver<bool>, idle: Duration) {
        while !*stop.borrow() {
            let next = match self.store.claim_delivery(HOLD).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the webhook outbox");
                    None
                }
            };
            match next {
                Some(d) => self.deliver(d).await,
                None => {
                    tokio::select! {
                        _ = tokio::time::sleep(idle) => {}
                        _ = stop.changed() => {}
                    }
                }
            }
        }
    }

    /// One delivery attempt, recorded in the outbox.
    pub async fn deliver(&self, d: Delivery) {
        let result = self.post(&d).await;
        match &result {
            Ok(()) => {
                tracing::info!(event_id = %d.event_id, job_id = %d.job_id, attempt = d.attempt, "webhook delivered")
            }
            Err(e) => {
                tracing::warn!(event_id = %d.event_id, job_id = %d.job_id, attempt = d.attempt, error = %e, "webhook delivery failed")
            }
        }
        let retry_in = crate::backoff(self.backoff, d.attempt);
        if let Err(e) = self
            .store
            .delivery_done(&d.event_id, result, retry_in)
            .await
        {
            tracing::warn!(event_id = %d.event_id, error = %e, "cannot record a webhook delivery; it will be tried again");
        }
    }

    async fn post(&self, d: &Delivery) -> Result<(), String> {
        let url = self.allowed.check(&d.url)?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|t| t.as_secs() as i64)
            .unwrap_or(0);
        let resp = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(EVENT_ID_HEADER, &d.event_id)
            .header(SIGNATURE_HEADER, sign(&self.secret, now, d.body.as_bytes()))
            .body(d.body.clone())
            .send()
            .await
            .map_err(|e| format!("cannot reach the receiver: {e}"))?;
        let status = resp.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("the receiver answered {status}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_catch_tampering() {
        let body = br#"{"event_id":"e1"}"#;
        let h = sign(b"s3cret", 1_700_000_000, body);
        assert!(h.starts_with("t=1700000000,v1="), "{h}");
        let tol = Duration::from_secs(300);
        assert_eq!(verify(b"s3cret", &h, body, 1_700_000_100, tol), Ok(()));
        assert_eq!(
            verify(b"s3cret", &h, br#"{"event_id":"e2"}"#, 1_700_000_100, tol),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify(b"other", &h, body, 1_700_000_100, tol),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify(b"s3cret", &h, body, 1_700_001_000, tol),
            Err(VerifyError::Stale)
        );
        assert_eq!(
            verify(b"s3cret", "v1=zz", body, 0, tol),
            Err(VerifyError::Malformed)
        );
    }

    #[test]
    fn the_signature_is_hmac_sha256_over_timestamp_dot_body() {
        // Computed here from the definition, with the HMAC primitive alone.
        let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(b"Jefe").expect("key");
        m.update(b"42.what do ya want for nothing?");
        let want = hex(&m.finalize().into_bytes());
        assert_eq!(
            sign(b"Jefe", 42, b"what do ya want for nothing?"),
            format!("t=42,v1={want}")
        );
    }

    #[test]
    fn only_listed_hosts_are_called() {
        let a = AllowedHosts::parse("hooks.example.com, 127.0.0.1:9000,*.corp.test");
        assert!(a.check("http://hooks.example.com/x").is_ok());
        assert!(a.check("http://HOOKS.example.com:8080/x").is_ok());
        assert!(a.check("http://127.0.0.1:9000/cb").is_ok());
        assert!(a.check("http://127.0.0.1:9001/cb").is_err());
        assert!(a.check("http://a.b.corp.test/cb").is_ok());
        assert!(a.check("http://corp.test/cb").is_err());
        assert!(a.check("http://169.254.169.254/latest/meta-data").is_err());
        assert!(a.check("http://hooks.example.com.evil.test/").is_err());
        assert!(a.check("http://user:pw@hooks.example.com/").is_err());
        assert!(a.check("file:///etc/passwd").is_err());
        assert!(a.check("not a url").is_err());
        let none = AllowedHosts::parse("");
        assert!(matches!(
            none.check("http://hooks.example.com/"),
            Err(e) if e.contains("WEBHOOK_ALLOWED_HOSTS is empty")
        ));
    }
}
