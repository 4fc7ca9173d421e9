//! The gateway routes (`PROXY_MODEL_SERVER=1`) against mock-vllm as a real process: passed
//! through with the model server's status and body, behind the API key check, a clear problem
//! when the model server is away, and 404 when the routes are off.

mod common;
mod oneshot;

use axum::body::Body;
use axum::http::Request;
use oneshot::{send, state};

fn chat(body: &str, key: Option<&str>) -> Request<Body> {
    let mut r = Request::post("/v1/chat/completions").header("content-type", "application/json");
    if let Some(k) = key {
        r = r.header("authorization", format!("Bearer {k}"));
    }
    r.body(Body::from(body.to_string())).expect("request")
}

fn models(key: Option<&str>) -> Request<Body> {
    let mut r = Request::get("/v1/models");
    if let Some(k) = key {
        r = r.header("authorization", format!("Bearer {k}"));
    }
    r.body(Body::empty()).expect("request")
}

#[tokio::test]
async fn passes_chat_and_models_to_the_model_server() {
    let mock = tokio::task::spawn_blocking(|| common::start_mock(&[]))
        .await
        .expect("mock");
    let base = format!("{}/v1", mock.base);
    let st = state(&[
        "--proxy-model-server",
        "true",
        "--vllm-base-url",
        &base,
        "--api-keys",
        "k1",
    ]);
    let (status, _, v) = send(&st, models(Some("k1"))).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["data"][0]["id"], "Snowflake/snowflake-arctic-tilt-v1.3");

    let body = r#"{"model": "Snowflake/snowflake-arctic-tilt-v1.3",
                   "messages": [{"role": "user", "content": "What is the total?"}]}"#;
    let (status, _, v) = send(&st, chat(body, Some("k1"))).await;
    assert_eq!(status, 200, "{v}");
    assert!(v["choices"][0]["message"]["content"].is_string(), "{v}");

    // The model server's own refusal comes back as it is.
    let (status, _, v) = send(&st, chat(r#"{"model": "m"}"#, Some("k1"))).await;
    assert_eq!(status, 400, "{v}");

    let (status, _, v) = send(&st, chat(body, None)).await;
    assert_eq!(
        (status.as_u16(), v["code"].as_str()),
        (401, Some("unauthorized"))
    );
    let (status, _, _) = send(&st, models(Some("wrong"))).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn an_absent_model_server_and_routes_turned_off_have_their_problems() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    let st = state(&[
        "--proxy-model-server",
        "true",
        "--vllm-base-url",
        &format!("http://127.0.0.1:{port}/v1"),
    ]);
    let (status, _, v) = send(&st, models(None)).await;
    assert_eq!(
        (status.as_u16(), v["code"].as_str()),
        (502, Some("model_server_unavailable")),
        "{v}"
    );
    let off = state(&[]);
    let (status, _, v) = send(&off, models(None)).await;
    assert_eq!(
        (status.as_u16(), v["code"].as_str()),
        (404, Some("not_found")),
        "{v}"
    );
}
