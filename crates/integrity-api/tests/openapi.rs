#![recursion_limit = "256"]
//! The OpenAPI document: the committed `openapi.json` is the one the code
//! generates, the server serves it, and every operation it lists is routed.

mod common;

use axum::http::Method;
use common::*;
use integrity_store::testing::TestDatabase;
use serde_json::Value;

fn committed_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../openapi.json")
}

#[test]
fn the_committed_document_is_the_generated_one() {
    let committed = std::fs::read_to_string(committed_path()).unwrap_or_default();
    let generated = integrity_api::openapi::document_json();
    assert!(
        committed == generated,
        "openapi.json is out of date: regenerate it with `cargo run -- openapi > openapi.json`"
    );
}

#[test]
fn the_document_is_openapi_3_1_with_the_token_scheme() {
    let doc: Value = serde_json::from_str(&integrity_api::openapi::document_json()).unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["Token"]["in"],
        "header"
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["Token"]["name"],
        "Authorization"
    );
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 18, "{} paths", paths.len());
    for (path, operations) in paths {
        for (method, operation) in operations.as_object().unwrap() {
            if ["parameters", "summary", "description"].contains(&method.as_str()) {
                continue;
            }
            let responses = operation["responses"].as_object().unwrap();
            let public = operation
                .get("security")
                .is_some_and(|s| s == &serde_json::json!([{}]));
            if !public {
                assert!(responses.contains_key("401"), "{method} {path} lacks 401");
            }
        }
    }
}

/// Each documented operation, called without a key, is answered by its
/// handler: 401 where a key is needed, never the 405 or 404 of a path the
/// router lacks.
#[tokio::test]
async fn every_documented_operation_is_routed() {
    let db = TestDatabase::sqlite().await;
    provision(&db).await;
    let app = api(&db);
    let doc: Value = serde_json::from_str(&integrity_api::openapi::document_json()).unwrap();
    for (path, operations) in doc["paths"].as_object().unwrap() {
        let concrete = path
            .split('/')
            .map(|part| if part.starts_with('{') { "1" } else { part })
            .collect::<Vec<_>>()
            .join("/");
        for (method, operation) in operations.as_object().unwrap() {
            let Ok(method) = method.to_uppercase().parse::<Method>() else {
                continue;
            };
            let public = operation
                .get("security")
                .is_some_and(|s| s == &serde_json::json!([{}]));
            for prefix in PREFIXES {
                let uri = format!("{prefix}{concrete}");
                let resp = send(
                    &app,
                    request(method.clone(), &uri, None, axum::body::Body::empty()),
                )
                .await;
                if public {
                    assert!(
                        resp.status.is_success() || resp.status == 404,
                        "{method} {uri}: {}",
                        resp.status
                    );
                } else {
                    assert_eq!(resp.status, 401, "{method} {uri}");
                }
            }
        }
    }
    db.finish().await;
}

#[tokio::test]
async fn the_server_serves_the_document_under_both_prefixes() {
    let db = TestDatabase::sqlite().await;
    let app = api(&db);
    let expected: Value = serde_json::from_str(&integrity_api::openapi::document_json()).unwrap();
    for prefix in PREFIXES {
        let resp = send(
            &app,
            request(
                Method::GET,
                &format!("{prefix}/openapi.json"),
                None,
                axum::body::Body::empty(),
            ),
        )
        .await;
        assert_eq!(resp.status, 200);
        assert_eq!(resp.json(), expected);
    }
    db.finish().await;
}
