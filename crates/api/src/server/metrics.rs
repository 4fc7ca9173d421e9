//! Prometheus metrics: requests by route and status, latency per route and per pipeline
//! stage, requests in flight, queue depth, cache hits, backend errors and process memory.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::pipeline::StageTimings;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteStatus {
    pub route: String,
    pub status: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabel {
    pub route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StageLabel {
    pub stage: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BackendLabel {
    pub backend: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    pub outcome: String,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms .. ~65 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 18))
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// The service's metrics and their registry.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub requests: Family<RouteStatus, Counter>,
    pub request_seconds: HistogramFamily<RouteLabel>,
    pub stage_seconds: HistogramFamily<StageLabel>,
    pub in_flight: Gauge,
    pub queue_depth: Gauge,
    pub cache_hits: Counter,
    pub cache_misses: Counter,
    pub backend_errors: Family<BackendLabel, Counter>,
    pub circuit_open: Family<BackendLabel, Gauge>,
    pub documents: Family<OutcomeLabel, Counter>,
    pub ready: Gauge,
    rss_bytes: Gauge,
    /// Jobs in the store by status (read from the store at each scrape).
    pub jobs: Family<StatusLabel, Gauge>,
    /// Seconds the oldest queued job has waited (0 when none).
    pub job_queue_age: Gauge<f64, std::sync::atomic::AtomicU64>,
    /// Seconds from claim to end of the jobs this process ran, by how they ended.
    pub job_seconds: HistogramFamily<OutcomeLabel>,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabel {
    pub status: String,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("ocrlty");
        let requests = Family::<RouteStatus, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        let request_seconds: HistogramFamily<RouteLabel> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            request_seconds.clone(),
        );
        let stage_seconds: HistogramFamily<StageLabel> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "stage_duration_seconds",
            "Pipeline stage latency (decode, ocr, kie, rules, total) of documents processed",
            stage_seconds.clone(),
        );
        let in_flight = Gauge::default();
        registry.register(
            "http_requests_in_flight",
            "HTTP requests being served",
            in_flight.clone(),
        );
        let queue_depth = Gauge::default();
        registry.register(
            "queue_depth",
            "Documents waiting for an OCR slot",
            queue_depth.clone(),
        );
        let cache_hits = Counter::default();
        registry.register(
            "cache_hits",
            "Extractions answered from the content-hash cache",
            cache_hits.clone(),
        );
        let cache_misses = Counter::default();
        registry.register(
            "cache_misses",
            "Extractions not in the cache",
            cache_misses.clone(),
        );
        let backend_errors = Family::<BackendLabel, Counter>::default();
        registry.register(
            "backend_errors",
            "KIE backend failures by backend",
            backend_errors.clone(),
        );
        let circuit_open = Family::<BackendLabel, Gauge>::default();
        registry.register(
            "backend_circuit_open",
            "1 while a backend's circuit breaker refuses calls",
            circuit_open.clone(),
        );
        let documents = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "documents",
            "Documents by outcome (ok, input_error, failed)",
            documents.clone(),
        );
        let ready = Gauge::default();
        registry.register(
            "ready",
            "1 once the models are loaded and warm",
            ready.clone(),
        );
        let rss_bytes = Gauge::default();
        registry.register(
            "process_resident_memory_bytes",
            "Resident set size of the process",
            rss_bytes.clone(),
        );
        let jobs = Family::<StatusLabel, Gauge>::default();
        registry.register("jobs", "Jobs in the queue's store by status", jobs.clone());
        let job_queue_age = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        registry.register(
            "job_queue_oldest_age_seconds",
            "How long the oldest queued job has waited",
            job_queue_age.clone(),
        );
        let job_seconds: HistogramFamily<OutcomeLabel> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "job_duration_seconds",
            "Jobs run by this process, claim to end, by outcome (succeeded, failed, retried, \
             lease_lost)",
            job_seconds.clone(),
        );
        Self {
            registry,
            jobs,
            job_queue_age,
            job_seconds,
            requests,
            request_seconds,
            stage_seconds,
            in_flight,
            queue_depth,
            cache_hits,
            cache_misses,
            backend_errors,
            circuit_open,
            documents,
            ready,
            rss_bytes,
        }
    }

    pub fn observe_stages(&self, t: &StageTimings) {
        for (stage, ms) in [
            ("decode", t.decode),
            ("ocr", t.ocr),
            ("kie", t.kie),
            ("rules", t.rules),
            ("total", t.total),
        ] {
            self.stage_seconds
                .get_or_create(&StageLabel {
                    stage: stage.into(),
                })
                .observe(ms / 1e3);
        }
    }

    pub fn document(&self, outcome: &str) {
        self.documents
            .get_or_create(&OutcomeLabel {
                outcome: outcome.into(),
            })
            .inc();
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        if let Some(rss) = resident_bytes() {
            self.rss_bytes.set(rss as i64);
        }
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// The process's resident set size, from /proc (Linux).
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}
