//! `integrity tickets get|respond|close` end to end: the binary against the
//! application served in process on a loopback port, on SQLite and, when
//! configured, PostgreSQL.

use std::process::{Command, Output};

use integrity_domain::manifest::Manifest;
use integrity_store::test_on_both_backends;
use integrity_store::testing::TestDatabase;
use serde_json::{json, Value};

const KEY: &str = "cli-tickets-admin-key-01";

/// Georgia: facilities optional and a required custom field, so closing
/// its tickets is refused; Texas: nothing required.
fn manifest() -> String {
    json!({"accounts": [
        {"subdomain": "acme", "name": "Acme Locating",
         "users": [{"name": "Al Dente", "email": "al@example.com", "role": "admin", "api_tokens": [KEY]}],
         "call_centers": [
            {"name": "Georgia 811", "facilities": ["Gas"], "service_areas": [{"code": "EXMPL01"}],
             "response_codes": [{"code": "1A", "description": "Marked.", "completes": true},
                                {"code": "3J", "description": "Unmarked."}]},
            {"name": "Texas 811", "service_areas": [{"code": "TX01"}],
             "response_codes": [{"code": "10", "description": "Clear", "completes": true}]}],
         "custom_fields": [
            {"name": "Crew", "type_id": 1, "required": true, "call_center": "Georgia 811"}]}]})
    .to_string()
}

struct Server {
    url: String,
    georgia: i64,
    texas: i64,
    crew_field: i64,
}

/// Provisions the account, takes in `G-1` (Georgia) and `T-1` (Texas), and
/// serves the application as `integrity serve` does.
async fn serve(db: &TestDatabase) -> Server {
    db.store
        .apply(&Manifest::from_json(&manifest()).unwrap())
        .await
        .unwrap();
    let account = db
        .store
        .account_by_subdomain("acme")
        .await
        .unwrap()
        .unwrap();
    let centers = db.store.call_centers(account).await.unwrap();
    let id_of = |name: &str| centers.iter().find(|c| c.name == name).unwrap().id;
    let (georgia, texas) = (id_of("Georgia 811"), id_of("Texas 811"));
    let crew_field = db.store.custom_fields(account).await.unwrap()[0].id;
    for (center, number, area) in [(georgia, "G-1", "EXMPL01"), (texas, "T-1", "TX01")] {
        let ticket = integrity_domain::ticket::parse_intake(json!({
            "ticket_number": number, "call_center": {"id": center}, "service_area": area
        }))
        .unwrap();
        db.store
            .intake_ticket(account, &ticket, None, None)
            .await
            .unwrap();
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = integrity_api::app(integrity_api::AppState {
        store: db.store.clone(),
        base_domain: None,
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    Server {
        url,
        georgia,
        texas,
        crew_field,
    }
}

/// Runs `integrity` with `args` and `env`, off the test's runtime so the
/// server on it keeps answering. The connection settings and a database
/// come only from the test: none of the caller's environment leaks in.
async fn integrity(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_integrity"));
    command
        .args(args)
        .env_remove("INTEGRITY_URL")
        .env_remove("INTEGRITY_TOKEN")
        // A database URL the other commands would refuse: `tickets` must
        // not look at it.
        .env("INTEGRITY_DATABASE_URL", "mysql://nowhere/none")
        .env("RUST_LOG", "warn");
    for (name, value) in env {
        command.env(name, value);
    }
    tokio::task::spawn_blocking(move || command.output().expect("run integrity"))
        .await
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The JSON a successful command printed.
fn printed(out: &Output) -> Value {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", text(&out.stdout)))
}

/// Asserts a refusal: exit status 2, nothing on stdout, and `lines` on
/// stderr.
fn refused(out: &Output, lines: &[&str]) {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(out.stdout.is_empty(), "stdout: {}", text(&out.stdout));
    for line in lines {
        assert!(
            stderr.lines().any(|l| l.trim() == *line),
            "no line {line:?} in stderr:\n{stderr}"
        );
    }
}

test_on_both_backends! {
    async fn get_respond_and_close_work_a_ticket_through_the_api(db: &TestDatabase) {
        let s = serve(db).await;
        let (georgia, texas) = (s.georgia.to_string(), s.texas.to_string());
        let auth = ["--url", s.url.as_str(), "--token", KEY];

        let out = integrity(&[&["tickets", "get", &georgia, "G-1"][..], &auth].concat(), &[]).await;
        let ticket = printed(&out);
        assert_eq!(ticket["ticket_number"], "G-1");
        assert_eq!(ticket["call_center"], json!({"id": s.georgia, "name": "Georgia 811"}));
        assert_eq!(ticket["status"], "unassigned");
        assert_eq!(ticket["custom_fields"][0]["value"], Value::Null);

        // The same, with the connection from the environment and the
        // legacy path.
        let legacy = format!("{}/api/integrations/integrity", s.url);
        let out = integrity(
            &["tickets", "get", &texas, "T-1"],
            &[("INTEGRITY_URL", &legacy), ("INTEGRITY_TOKEN", KEY)],
        )
        .await;
        assert_eq!(printed(&out)["ticket_number"], "T-1");

        let out = integrity(
            &[&["tickets", "respond", &georgia, "G-1", "--service-area", "EXMPL01", "--code", "3J",
                "--facility", "Gas", "--comment", "Gate locked"][..], &auth].concat(),
            &[],
        )
        .await;
        let response = printed(&out);
        assert_eq!(
            (&response["service_area"], &response["facility"], &response["code"], &response["comment"]),
            (&json!("EXMPL01"), &json!("Gas"), &json!("3J"), &json!("Gate locked"))
        );
        assert_eq!(response["respondent"]["name"], "Al Dente");
        let account = db.store.account_by_subdomain("acme").await.unwrap().unwrap();
        let stored = db.store.ticket_by_number(account, s.georgia, "G-1").await.unwrap().unwrap();
        assert_eq!(stored.responses.len(), 1);
        assert_eq!((stored.responses[0].code.as_str(), stored.responses[0].comment.as_str()), ("3J", "Gate locked"));

        // Refusals: the status and each field's message, exit status 2.
        let out = integrity(
            &[&["tickets", "respond", &georgia, "G-1", "--service-area", "NOPE01", "--code", "9Z"][..], &auth].concat(),
            &[],
        )
        .await;
        refused(&out, &[
            "error: the server answered 422 Unprocessable Entity",
            "code: is not included in the list",
            "service_area: is not included in the list",
        ]);
        let out = integrity(&[&["tickets", "close", &georgia, "G-1"][..], &auth].concat(), &[]).await;
        let blank = format!("custom_fields[{}]: can't be blank", s.crew_field);
        refused(&out, &["error: the server answered 422 Unprocessable Entity", &blank]);
        let out = integrity(&[&["tickets", "close", &georgia, "G-1", "--field", "x"][..], &auth].concat(), &[]).await;
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("expected ID=VALUE"), "{out:?}");
        // The required field set in the same request as the close.
        let crew = format!("{}=North crew", s.crew_field);
        let out = integrity(&[&["tickets", "close", &georgia, "G-1", "--field", &crew][..], &auth].concat(), &[]).await;
        let closed = printed(&out);
        assert_eq!(closed["status"], "closed");
        assert_eq!(closed["custom_fields"][0]["value"], "North crew", "{closed}");
        let out = integrity(&[&["tickets", "get", &georgia, "T-1"][..], &auth].concat(), &[]).await;
        refused(&out, &["error: the server answered 404 Not Found", "base: not found"]);

        let out = integrity(&[&["tickets", "close", &texas, "T-1"][..], &auth].concat(), &[]).await;
        let closed = printed(&out);
        assert_eq!(closed["status"], "closed");
        assert!(closed["closed_at"].is_string(), "{closed}");
        let stored = db.store.ticket_by_number(account, s.texas, "T-1").await.unwrap().unwrap();
        assert_eq!(stored.status.as_str(), "closed");
        let out = integrity(&[&["tickets", "close", &texas, "T-1"][..], &auth].concat(), &[]).await;
        refused(&out, &["status: is already closed"]);

        let out = integrity(&["tickets", "get", &georgia, "G-1", "--url", &s.url, "--token", "itg_not_a_key"], &[]).await;
        refused(&out, &["error: the server answered 401 Unauthorized", "base: invalid API token"]);
    }
}

#[tokio::test]
async fn a_server_out_of_reach_is_a_failure_not_a_refusal() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let out = integrity(
        &["tickets", "get", "1", "G-1", "--url", &url, "--token", KEY],
        &[],
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(out.stdout.is_empty());
    assert!(stderr.starts_with("error: transport:"), "{stderr}");
}

#[tokio::test]
async fn without_a_key_nothing_is_sent() {
    let out = integrity(
        &[
            "tickets",
            "close",
            "1",
            "G-1",
            "--url",
            "http://127.0.0.1:9",
        ],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no API key: pass --token or set INTEGRITY_TOKEN"),
        "{}",
        text(&out.stderr)
    );
    let out = integrity(
        &[
            "tickets", "get", "1", "G-1", "--url", "ftp://h", "--token", KEY,
        ],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("not an http(s) URL"),
        "{}",
        text(&out.stderr)
    );
}
