//! The gateway routes (`PROXY_MODEL_SERVER=1`): `/v1/chat/completions` and `/v1/models` passed
//! to the model server at `VLLM_BASE_URL`, behind the API key check, so that clients of the
//! model and of the extraction API use one address. The answer (a stream too) is passed back as
//! it comes, with the model server's status.

use axum::Extension;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::Response;

use super::AppState;
use super::problem::{ApiError, Problem};
use super::routes::RequestId;

/// The models the model server serves (passed through).
#[utoipa::path(get, path = "/v1/models", tag = "gateway",
    responses(
        (status = 200, description = "The model server's answer, passed through"),
        (status = 502, description = "The model server is unreachable", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("api_key" = [])))]
pub(super) async fn models(
    State(st): State<AppState>,
    Extension(id): Extension<RequestId>,
) -> Response {
    forward(&st, &id.0, Method::GET, "models", None).await
}

/// An OpenAI chat completion on the model server (passed through; `stream: true` streams).
#[utoipa::path(post, path = "/v1/chat/completions", tag = "gateway",
    request_body(content = Object, content_type = "application/json"),
    responses(
        (status = 200, description = "The model server's answer, passed through"),
        (status = 502, description = "The model server is unreachable", body = Problem, content_type = "application/problem+json"),
        (status = 504, description = "The model server took longer than VLLM_TIMEOUT_S", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("api_key" = [])))]
pub(super) async fn chat(
    State(st): State<AppState>,
    Extension(id): Extension<RequestId>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .cloned()
        .unwrap_or(HeaderValue::from_static("application/json"));
    forward(
        &st,
        &id.0,
        Method::POST,
        "chat/completions",
        Some((ct, body)),
    )
    .await
}

async fn forward(
    st: &AppState,
    request_id: &str,
    method: Method,
    path: &str,
    body: Option<(HeaderValue, Bytes)>,
) -> Response {
    let Some(target) = &st.settings().proxy else {
        return ApiError::NotFound("the gateway routes are off (PROXY_MODEL_SERVER)".into())
            .into_response_with(request_id);
    };
    let url = format!("{}/{path}", target.base_url.trim_end_matches('/'));
    let mut req =
        st.0.http
            .request(method, &url)
            .timeout(target.timeout)
            .header("x-request-id", request_id);
    if let Some(k) = &target.api_key {
        req = req.bearer_auth(k);
    }
    if let Some((ct, bytes)) = body {
        req = req.header(header::CONTENT_TYPE, ct).body(bytes);
    }
    match req.send().await {
        Ok(r) => {
            let mut out = Response::builder().status(r.status().as_u16());
            if let Some(ct) = r.headers().get(header::CONTENT_TYPE) {
                out = out.header(header::CONTENT_TYPE, ct);
            }
            out.body(Body::from_stream(r.bytes_stream()))
                .unwrap_or_else(|e| {
                    ApiError::Internal(e.to_string()).into_response_with(request_id)
                })
        }
        Err(e) => {
            tracing::warn!(request_id, url = %url, error = %e, "the model server did not answer");
            ApiError::ModelServer {
                message: if e.is_timeout() {
                    "the model server did not answer in time".into()
                } else {
                    "the model server is unreachable".into()
                },
                timeout: e.is_timeout(),
            }
            .into_response_with(request_id)
        }
    }
}
