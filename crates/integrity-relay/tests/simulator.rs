//! The call-center simulator against the Open Positive Response standard:
//! what it accepts, what it refuses and with which status, its fault
//! injection, and the batch endpoint.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use integrity_relay::simulator::{Simulator, SimulatorConfig, SimulatorStats};
use serde_json::{json, Value};
use tower::ServiceExt;

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Value,
}

async fn call(app: &Router, method: Method, uri: &str, body: &str, auth: Option<&str>) -> Reply {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(auth) = auth {
        request = request.header(header::AUTHORIZATION, auth);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::from(body.to_owned())).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&bytes)))
    };
    Reply {
        status,
        headers,
        body,
    }
}

async fn post(app: &Router, uri: &str, body: &Value) -> Reply {
    call(app, Method::POST, uri, &body.to_string(), None).await
}

async fn get(app: &Router, uri: &str) -> Value {
    let reply = call(app, Method::GET, uri, "", None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body
}

fn response(ticket: &str, member: &str, facilities: &[&str], action: &str) -> Value {
    json!({
        "ticketNumber": ticket,
        "memberCode": member,
        "facilityList": facilities,
        "action": action,
    })
}

fn batch_entry(ticket: &str, code: &str, facilities: &[&str], action: &str) -> Value {
    json!({"ticket": ticket, "code": code, "facilities": facilities, "action": action})
}

fn simulator() -> (Simulator, Router) {
    let sim = Simulator::new(SimulatorConfig::default());
    let app = sim.router();
    (sim, app)
}

fn messages(body: &Value) -> Vec<String> {
    body["messageList"]
        .as_array()
        .unwrap_or_else(|| panic!("no messageList in {body}"))
        .iter()
        .map(|m| m.as_str().unwrap().to_owned())
        .collect()
}

// ---- Single response: accepted ------------------------------------------------

#[tokio::test]
async fn an_accepted_response_is_201_and_recorded() {
    let (sim, app) = simulator();
    let mut body = response("200131-001002", "XYZ01", &["Water", "Sewer"], "MARKED");
    body["comment"] = json!("Comment for this action");
    body["session"] = json!("456654812");
    body["geometry"] = json!({"wkt": "LINESTRING(0 0, 1 1)", "geoJson": ""});

    let reply = post(&app, "/response", &body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!(reply.body, json!({"status": "success"}));

    let accepted = sim.accepted();
    assert_eq!(accepted.len(), 1);
    let first = &accepted[0];
    assert_eq!(first.ticket_number, "200131-001002");
    assert_eq!(first.member_code, "XYZ01");
    assert_eq!(first.facilities, ["Water", "Sewer"]);
    assert_eq!(first.action, "MARKED");
    assert_eq!(first.comment.as_deref(), Some("Comment for this action"));
    assert_eq!(first.session.as_deref(), Some("456654812"));
    let at = &first.received_at;
    assert!(
        at.len() == 24 && at.ends_with('Z') && at.as_bytes()[10] == b'T' && at.starts_with("20"),
        "not RFC 3339 UTC: {at}"
    );
}

#[tokio::test]
async fn the_session_key_misspelled_with_a_colon_is_accepted_as_session() {
    let (sim, app) = simulator();
    let mut body = response("T1", "M1", &["Gas"], "MARKED");
    body["session:"] = json!("S-1");
    let reply = post(&app, "/response", &body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!(sim.accepted()[0].session.as_deref(), Some("S-1"));
    assert_eq!(sim.accepted()[0].comment, None);

    let mut both = response("T2", "M1", &["Gas"], "MARKED");
    both["session"] = json!("S-2");
    both["session:"] = json!("S-2");
    let reply = post(&app, "/response", &both).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert_eq!(sim.accepted().len(), 1);
}

#[tokio::test]
async fn attachments_are_discarded_with_a_202() {
    let (sim, app) = simulator();
    let mut body = response("T1", "M1", &["Water"], "MARKED");
    body["attachmentList"] = json!([
        {"name": "Satellite", "mimeType": "image/png", "url": "https://example.com/a.png"},
        {"name": "Project Plan", "mimeType": "application/pdf", "value": "NTk1OVow"}
    ]);
    let reply = post(&app, "/response", &body).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    assert_eq!(reply.body["status"], "success");
    assert_eq!(
        messages(&reply.body),
        ["Response accepted, but file attachments are not supported by this center.  File attachments have been discarded."]
    );
    assert_eq!(sim.accepted().len(), 1);

    // Nothing to discard, nothing to remark on.
    let mut empty = response("T2", "M1", &["Water"], "MARKED");
    empty["attachmentList"] = json!([]);
    assert_eq!(
        post(&app, "/response", &empty).await.status,
        StatusCode::CREATED
    );
}

// ---- Single response: 400 -----------------------------------------------------

#[tokio::test]
async fn an_unknown_field_is_400_naming_it() {
    let (sim, app) = simulator();
    let mut body = response("T1", "M1", &["Water"], "MARKED");
    body["ticketnum"] = json!("T1");
    let reply = post(&app, "/response", &body).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.body,
        json!({"status": "failed", "messageList": ["Unknown field ticketnum"]})
    );

    // Unknown fields inside attachments and geometry count too.
    let mut nested = response("T1", "M1", &["Water"], "MARKED");
    nested["attachmentList"] =
        json!([{"name": "a", "mimeType": "image/png", "url": "u", "size": 3}]);
    nested["geometry"] = json!({"wkt": "POINT(0 0)", "srid": 4326});
    let reply = post(&app, "/response", &nested).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        messages(&reply.body),
        [
            "Unknown field attachmentList[0].size",
            "Unknown field geometry.srid"
        ]
    );
    assert!(sim.accepted().is_empty());
}

#[tokio::test]
async fn a_missing_required_field_is_400_and_every_problem_is_listed() {
    let (_, app) = simulator();
    let reply = post(
        &app,
        "/response",
        &json!({"ticketNumber": "T1", "memberCode": "M1"}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["status"], "failed");
    assert_eq!(
        messages(&reply.body),
        [
            "Missing required field action",
            "Missing required field facilityList"
        ]
    );

    let mut extra = response("T1", "M1", &["Water"], "MARKED");
    extra.as_object_mut().unwrap().remove("memberCode");
    extra["membercode"] = json!("M1");
    let reply = post(&app, "/response", &extra).await;
    assert_eq!(
        messages(&reply.body),
        [
            "Unknown field membercode",
            "Missing required field memberCode"
        ]
    );
}

#[tokio::test]
async fn a_wrong_type_is_400() {
    let (sim, app) = simulator();
    let cases = [
        (
            "facilityList",
            json!("Water"),
            "Field facilityList must be an array of strings, not a string",
        ),
        (
            "facilityList",
            json!([]),
            "Field facilityList must not be empty",
        ),
        (
            "facilityList",
            json!(["Water", 3]),
            "Field facilityList[1] must be a string, not a number",
        ),
        (
            "ticketNumber",
            json!(200131),
            "Field ticketNumber must be a string, not a number",
        ),
        // A serializer writing null for an absent optional field is caught.
        (
            "comment",
            Value::Null,
            "Field comment must be a string, not null",
        ),
        (
            "session",
            json!(456654812),
            "Field session must be a string, not a number",
        ),
        (
            "attachmentList",
            json!({}),
            "Field attachmentList must be an array of objects, not an object",
        ),
        (
            "geometry",
            json!("POINT(0 0)"),
            "Field geometry must be an object, not a string",
        ),
    ];
    for (field, value, expected) in cases {
        let mut body = response("T1", "M1", &["Water"], "MARKED");
        body[field] = value;
        let reply = post(&app, "/response", &body).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{field}: {}",
            reply.body
        );
        assert_eq!(messages(&reply.body), [expected], "{field}");
    }

    let mut attachment = response("T1", "M1", &["Water"], "MARKED");
    attachment["attachmentList"] =
        json!([{"name": "a", "url": "u", "value": "v"}, "not an object"]);
    let reply = post(&app, "/response", &attachment).await;
    assert_eq!(
        messages(&reply.body),
        [
            "Missing required field attachmentList[0].mimeType",
            "Field attachmentList[0] must have exactly one of url and value",
            "Field attachmentList[1] must be an object, not a string"
        ]
    );
    assert!(sim.accepted().is_empty());
}

#[tokio::test]
async fn a_document_that_is_not_json_is_400_malformed() {
    let (sim, app) = simulator();
    for body in [
        "",
        "{\"ticketNumber\": ",
        "ticketNumber=T1",
        "[1, 2]",
        "\"T1\"",
    ] {
        let reply = call(&app, Method::POST, "/response", body, None).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body:?}");
        assert_eq!(
            reply.body,
            json!({"status": "failed", "messageList": ["malformed document"]}),
            "{body:?}"
        );
    }
    assert!(sim.accepted().is_empty());
    assert_eq!(sim.stats().rejected, 5);
}

// ---- Single response: 409 and 422 ---------------------------------------------

#[tokio::test]
async fn a_duplicate_is_409_even_resent_with_the_same_session() {
    let (sim, app) = simulator();
    let mut first = response("T1", "M1", &["Water", "Sewer"], "MARKED");
    first["session"] = json!("S-1");
    assert_eq!(
        post(&app, "/response", &first).await.status,
        StatusCode::CREATED
    );

    // The relay's resend after a crash: same content, same session.
    let reply = post(&app, "/response", &first).await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(
        reply.body,
        json!({"status": "invalid", "messageList": ["Duplicate responses are not allowed"]})
    );

    // The same response with another comment, no session and its
    // facilities in another order is still the same response.
    let mut reordered = response("T1", "M1", &["Sewer", "Water"], "MARKED");
    reordered["comment"] = json!("again");
    assert_eq!(
        post(&app, "/response", &reordered).await.status,
        StatusCode::CONFLICT
    );

    // Any of the four identifying fields differing makes a new response.
    for other in [
        response("T2", "M1", &["Water", "Sewer"], "MARKED"),
        response("T1", "M2", &["Water", "Sewer"], "MARKED"),
        response("T1", "M1", &["Water"], "MARKED"),
        response("T1", "M1", &["Water", "Sewer"], "CLEAR"),
    ] {
        assert_eq!(
            post(&app, "/response", &other).await.status,
            StatusCode::CREATED,
            "{other}"
        );
    }
    assert_eq!(sim.accepted().len(), 5);
    assert_eq!(sim.accepted()[0].session.as_deref(), Some("S-1"));
}

#[tokio::test]
async fn an_invalid_action_is_409() {
    let sim = Simulator::new(SimulatorConfig {
        actions: Some(vec!["MARKED".into(), "CLEAR".into()]),
        ..SimulatorConfig::default()
    });
    let app = sim.router();
    let reply = post(
        &app,
        "/response",
        &response("T1", "M1", &["Water"], "marked"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(
        reply.body,
        json!({"status": "invalid", "messageList": ["invalid action"]})
    );
    // Every validation issue is listed at once.
    let reply = post(
        &app,
        "/response",
        &response("T1", "M1", &["Water", "Water"], "NOPE"),
    )
    .await;
    assert_eq!(
        messages(&reply.body),
        ["invalid action", "facilityList names Water more than once"]
    );
    assert_eq!(
        post(
            &app,
            "/response",
            &response("T1", "M1", &["Water"], "CLEAR")
        )
        .await
        .status,
        StatusCode::CREATED
    );

    // Without a list of actions, only a blank one is invalid.
    let (_, open) = simulator();
    let reply = post(&open, "/response", &response("T1", "M1", &["Water"], " ")).await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(messages(&reply.body), ["invalid action"]);
    assert_eq!(
        post(
            &open,
            "/response",
            &response("T1", "M1", &["Water"], "ANYTHING")
        )
        .await
        .status,
        StatusCode::CREATED
    );
    assert_eq!(sim.accepted().len(), 1);
}

#[tokio::test]
async fn an_unknown_member_is_422() {
    let sim = Simulator::new(SimulatorConfig {
        members: Some(vec!["XYZ01".into()]),
        ..SimulatorConfig::default()
    });
    let app = sim.router();
    let reply = post(
        &app,
        "/response",
        &response("T1", "XYZ02", &["Water"], "MARKED"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        reply.body,
        json!({"status": "unprocessable", "messageList": ["memberCode does not exist on the indicated ticket"]})
    );
    let reply = post(&app, "/response", &response("", "XYZ02", &[""], "MARKED")).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        messages(&reply.body),
        [
            "ticketNumber does not refer to a ticket",
            "memberCode does not exist on the indicated ticket",
            "facilityList is not valid for this memberCode on this ticket"
        ]
    );
    assert_eq!(
        post(
            &app,
            "/response",
            &response("T1", "XYZ01", &["Water"], "MARKED")
        )
        .await
        .status,
        StatusCode::CREATED
    );
    assert_eq!(sim.accepted().len(), 1);
}

// ---- Authorization and faults -------------------------------------------------

#[tokio::test]
async fn authorization_when_configured_must_match_exactly() {
    let sim = Simulator::new(SimulatorConfig {
        authorization: Some("Bearer s3cret".into()),
        ..SimulatorConfig::default()
    });
    let app = sim.router();
    let body = response("T1", "M1", &["Water"], "MARKED").to_string();
    for auth in [
        None,
        Some("Bearer wrong"),
        Some("bearer s3cret"),
        Some("Bearer s3cret "),
    ] {
        let reply = call(&app, Method::POST, "/response", &body, auth).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{auth:?}");
        assert_eq!(reply.body["status"], "failed");
        let reply = call(&app, Method::POST, "/response/batch", "{}", auth).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{auth:?}");
    }
    assert!(sim.accepted().is_empty());

    let reply = call(
        &app,
        Method::POST,
        "/response",
        &body,
        Some("Bearer s3cret"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!(sim.accepted().len(), 1);
}

#[tokio::test]
async fn a_fail_rate_of_one_answers_every_request_503() {
    let sim = Simulator::new(SimulatorConfig {
        fail_rate: 1.0,
        ..SimulatorConfig::default()
    });
    let app = sim.router();
    for i in 0..5 {
        let body = response(&format!("T{i}"), "M1", &["Water"], "MARKED");
        let reply = post(&app, "/response", &body).await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(reply.body["status"], "failed");
    }
    let batch = json!({"responses": [batch_entry("T1", "M1", &["Water"], "MARKED")]});
    assert_eq!(
        post(&app, "/response/batch", &batch).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert!(sim.accepted().is_empty());
    assert_eq!(
        sim.stats(),
        SimulatorStats {
            received: 6,
            requests: 6,
            accepted: 0,
            rejected: 0,
            faults: 6
        }
    );
    // The simulator's own windows stay open while it fails.
    assert_eq!(get(&app, "/stats").await["faults"], 6);
}

#[tokio::test]
async fn a_center_down_at_start_answers_503_then_comes_up() {
    let sim = Simulator::new(SimulatorConfig {
        down_for_secs: 1,
        authorization: Some("token".into()),
        ..SimulatorConfig::default()
    });
    let app = sim.router();
    let body = response("T1", "M1", &["Water"], "MARKED").to_string();

    // Down means down: not even authorization is checked.
    let reply = call(&app, Method::POST, "/response", &body, None).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.headers[header::RETRY_AFTER], "1");
    let reply = call(&app, Method::POST, "/response", &body, Some("token")).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let reply = call(&app, Method::POST, "/response", &body, Some("token")).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!(sim.stats().faults, 2);

    let up = Simulator::new(SimulatorConfig::default()).router();
    assert_eq!(
        call(&up, Method::POST, "/response", &body, None)
            .await
            .status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn latency_delays_every_answer() {
    let sim = Simulator::new(SimulatorConfig {
        latency_ms: 150,
        ..SimulatorConfig::default()
    });
    let app = sim.router();
    let started = Instant::now();
    let reply = post(
        &app,
        "/response",
        &response("T1", "M1", &["Water"], "MARKED"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert!(started.elapsed() >= Duration::from_millis(150));
}

// ---- Batch ------------------------------------------------------------------

#[tokio::test]
async fn a_batch_all_accepted_is_200() {
    let (sim, app) = simulator();
    let mut first = batch_entry("200131-001002", "XYZ01", &["Water"], "MARKED");
    first["comment"] = json!("Comment for this action");
    first["session:"] = json!("456654812");
    first["locatedWkt"] = json!("LINESTRING(0 0, 1 1)");
    let second = batch_entry("200131-001002", "XYZ02", &["Sewer"], "MARKED");

    let reply = post(
        &app,
        "/response/batch",
        &json!({"responses": [first, second]}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        reply.body,
        json!({"responses": [
            {"ticket": "200131-001002", "code": "XYZ01", "facilities": ["Water"], "action": "MARKED",
             "result": "accepted", "messageList": []},
            {"ticket": "200131-001002", "code": "XYZ02", "facilities": ["Sewer"], "action": "MARKED",
             "result": "accepted", "messageList": []}
        ]})
    );
    let accepted = sim.accepted();
    assert_eq!(accepted.len(), 2);
    assert_eq!(accepted[0].session.as_deref(), Some("456654812"));
    assert_eq!(
        accepted[0].comment.as_deref(),
        Some("Comment for this action")
    );
    assert_eq!(accepted[1].member_code, "XYZ02");
}

#[tokio::test]
async fn a_mixed_batch_is_207_with_a_result_per_entry() {
    let sim = Simulator::new(SimulatorConfig {
        members: Some(vec!["XYZ01".into(), "XYZ02".into()]),
        actions: Some(vec!["MARKED".into(), "CLEAR".into()]),
        ..SimulatorConfig::default()
    });
    let app = sim.router();
    assert_eq!(
        post(
            &app,
            "/response",
            &response("T0", "XYZ01", &["Gas"], "CLEAR")
        )
        .await
        .status,
        StatusCode::CREATED
    );

    let mut with_references = batch_entry("T1", "XYZ01", &["Water"], "MARKED");
    with_references["references"] =
        json!([{"name": "Locate Photos", "value": "https://example.com/ref?1"}]);
    let batch = json!({"responses": [
        with_references,
        batch_entry("T0", "XYZ01", &["Gas"], "CLEAR"),
        batch_entry("T1", "XYZ01", &["Water"], "MARKED"),
        batch_entry("T2", "XYZ02", &["Sewer"], "PAINTED"),
        batch_entry("T3", "XYZ09", &["Sewer"], "MARKED"),
        batch_entry("T4", "XYZ02", &["Sewer"], "MARKED"),
    ]});
    let reply = post(&app, "/response/batch", &batch).await;
    assert_eq!(reply.status, StatusCode::MULTI_STATUS, "{}", reply.body);
    let entries = reply.body["responses"].as_array().unwrap();
    let results: Vec<(&str, &str, Vec<String>)> = entries
        .iter()
        .map(|e| {
            (
                e["ticket"].as_str().unwrap(),
                e["result"].as_str().unwrap(),
                messages(e),
            )
        })
        .collect();
    assert_eq!(
        results,
        [
            ("T1", "accepted", vec!["Response accepted, but references are not supported by this center.  References have been discarded.".to_owned()]),
            // A duplicate of one accepted through the single endpoint...
            ("T0", "duplicate", vec!["Duplicate responses are not allowed".to_owned()]),
            // ...and of one accepted earlier in the same batch.
            ("T1", "duplicate", vec!["Duplicate responses are not allowed".to_owned()]),
            ("T2", "invalid", vec!["invalid action".to_owned()]),
            ("T3", "unprocessable", vec!["memberCode does not exist on the indicated ticket".to_owned()]),
            ("T4", "accepted", vec![]),
        ]
    );
    assert_eq!(entries[3]["code"], "XYZ02");
    assert_eq!(entries[3]["facilities"], json!(["Sewer"]));
    assert_eq!(entries[3]["action"], "PAINTED");

    let tickets: Vec<String> = sim
        .accepted()
        .into_iter()
        .map(|a| a.ticket_number)
        .collect();
    assert_eq!(tickets, ["T0", "T1", "T4"]);

    // Nothing accepted is no more a 200 than a mix is.
    let again = json!({"responses": [batch_entry("T4", "XYZ02", &["Sewer"], "MARKED")]});
    let reply = post(&app, "/response/batch", &again).await;
    assert_eq!(reply.status, StatusCode::MULTI_STATUS);
    assert_eq!(reply.body["responses"][0]["result"], "duplicate");
}

#[tokio::test]
async fn a_malformed_batch_is_400_and_accepts_nothing() {
    let (sim, app) = simulator();
    let good = batch_entry("T1", "M1", &["Water"], "MARKED");
    let cases: Vec<(String, Vec<&str>)> =
        vec![
        ("not json".into(), vec!["malformed document"]),
        ("[]".into(), vec!["malformed document"]),
        ("{}".into(), vec!["Missing required field responses"]),
        (json!({"responses": []}).to_string(), vec!["Field responses must not be empty"]),
        (
            json!({"responses": good}).to_string(),
            vec!["Field responses must be an array of objects, not an object"],
        ),
        (
            json!({"responses": [good], "sender": "me"}).to_string(),
            vec!["Unknown field sender"],
        ),
        // The single endpoint's field names are unknown in a batch, and one
        // bad entry refuses the whole batch, the good entry included.
        (
            json!({"responses": [
                good,
                {"ticketNumber": "T2", "code": "M1", "facilities": ["Water"], "action": "MARKED"},
                {"ticket": "T3", "code": "M1", "facilities": "Water", "action": "MARKED",
                 "references": [{"name": "x"}]},
                7
            ]})
            .to_string(),
            vec![
                "Unknown field responses[1].ticketNumber",
                "Missing required field responses[1].ticket",
                "Field responses[2].facilities must be an array of strings, not a string",
                "Missing required field responses[2].references[0].value",
                "Field responses[3] must be an object",
            ],
        ),
    ];
    for (body, expected) in cases {
        let reply = call(&app, Method::POST, "/response/batch", &body, None).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(reply.body["status"], "failed", "{body}");
        assert_eq!(messages(&reply.body), expected, "{body}");
    }
    assert!(sim.accepted().is_empty());
}

// ---- The simulator's own windows ----------------------------------------------

#[tokio::test]
async fn get_responses_lists_the_accepted_in_order_and_stats_count() {
    let (sim, app) = simulator();
    assert_eq!(get(&app, "/responses").await, json!([]));

    post(
        &app,
        "/response",
        &response("T1", "M1", &["Water"], "MARKED"),
    )
    .await;
    post(
        &app,
        "/response",
        &response("T1", "M1", &["Water"], "MARKED"),
    )
    .await; // duplicate
    let batch = json!({"responses": [
        batch_entry("T2", "M1", &["Gas"], "MARKED"),
        batch_entry("T3", "M1", &["Gas"], "CLEAR"),
    ]});
    post(&app, "/response/batch", &batch).await;
    let mut last = response("T4", "M2", &["Sewer"], "MARKED");
    last["session"] = json!("S-4");
    post(&app, "/response", &last).await;
    call(&app, Method::POST, "/response", "nope", None).await;

    let listed = get(&app, "/responses").await;
    let listed = listed.as_array().unwrap();
    let tickets: Vec<&str> = listed
        .iter()
        .map(|r| r["ticket_number"].as_str().unwrap())
        .collect();
    assert_eq!(tickets, ["T1", "T2", "T3", "T4"]);
    assert_eq!(
        listed[3],
        json!({
            "ticket_number": "T4", "member_code": "M2", "facilities": ["Sewer"],
            "action": "MARKED", "comment": null, "session": "S-4",
            "received_at": sim.accepted()[3].received_at,
        })
    );
    assert_eq!(
        listed.to_vec(),
        sim.accepted()
            .iter()
            .map(|a| serde_json::to_value(a).unwrap())
            .collect::<Vec<_>>()
    );

    assert_eq!(
        get(&app, "/stats").await,
        json!({"received": 5, "requests": 5, "accepted": 4, "rejected": 2, "faults": 0})
    );
}

#[tokio::test]
async fn serve_answers_over_tcp() {
    let sim = Simulator::new(SimulatorConfig::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(sim.clone().serve(listener));

    let client = reqwest::Client::new();
    let reply = client
        .post(format!("http://{addr}/response"))
        .json(&response("T1", "M1", &["Water"], "MARKED"))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status().as_u16(), 201);
    assert_eq!(sim.accepted().len(), 1);
    server.abort();
}
