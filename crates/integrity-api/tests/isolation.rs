//! Tenant isolation: every endpoint that addresses a resource of account A,
//! called with account B's keys, answers as if the resource did not exist
//! (404, an empty list, `call_center: ["must exist"]`) and changes nothing
//! of A; and with a base domain, A's keys are refused (401) under B's host.
//! Every test runs on SQLite and, when `INTEGRITY_TEST_POSTGRES_URL` is set,
//! on PostgreSQL.

#![recursion_limit = "256"]

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request};
use axum::Router;
use common::{
    api, api_with_base_domain, assert_base_error, get, post_json, request, send, ticket_path, Resp,
    BASE_DOMAIN, PREFIXES,
};
use integrity_domain::manifest::Manifest;
use integrity_store::test_on_both_backends;
use integrity_store::testing::TestDatabase;
use serde_json::{json, Value};

const A_ADMIN: &str = "isolation-a-admin-key-01";
const A_LOCATOR: &str = "isolation-a-locator-key1";
const B_ADMIN: &str = "isolation-b-admin-key-01";
const B_LOCATOR: &str = "isolation-b-locator-key1";

/// A still open ticket with a response and a custom field value, and a
/// closed one; both numbers exist in B as well, in B's call center.
const OPEN: &str = "06191-285-085";
const CLOSED: &str = "06191-285-086";

/// Two accounts configured alike: the same call center name, service area,
/// response code and custom field name, so only the account tells them
/// apart. Subdomains `a` and `b`.
fn manifest() -> Value {
    let account = |subdomain: &str, admin: &str, locator: &str| {
        json!({"subdomain": subdomain, "name": format!("Account {subdomain}"),
            "users": [
                {"name": format!("Admin {subdomain}"), "email": format!("admin@{subdomain}.test"),
                 "role": "admin", "api_tokens": [admin]},
                {"name": format!("Locator {subdomain}"), "email": format!("locator@{subdomain}.test"),
                 "role": "locator", "api_tokens": [locator]}],
            "call_centers": [{"name": "Georgia 811", "state": "Georgia", "facilities": ["Gas"],
                "service_areas": [{"code": "EXMPL01"}],
                "response_codes": [{"code": "1B", "description": "Marked: conflict."}]}],
            "custom_fields": [{"name": "Notes", "type_id": 2}]})
    };
    json!({"accounts": [account("a", A_ADMIN, A_LOCATOR), account("b", B_ADMIN, B_LOCATOR)]})
}

/// One account as its own admin sees it.
struct Tenant {
    admin: &'static str,
    locator: &'static str,
    center: i64,
    notes_field: i64,
    admin_id: i64,
    locator_id: i64,
    /// A key issued through the API to the locator, and its id.
    issued: String,
    issued_id: i64,
    /// Every key id of the account's users (installed and issued).
    token_ids: Vec<i64>,
}

async fn list(app: &Router, uri: &str, token: &str) -> Vec<Value> {
    let resp = get(app, uri, token).await.expect(200);
    resp.json()
        .as_array()
        .unwrap_or_else(|| panic!("GET {uri}: not a list"))
        .clone()
}

async fn call(app: &Router, method: Method, uri: &str, token: &str, body: &str) -> Resp {
    send(app, request(method, uri, Some(token), body.to_string())).await
}

fn ticket_body(center: i64, number: &str, remarks: &str) -> Value {
    json!({"ticket": {"ticket_number": number, "service_area": "EXMPL01", "remarks": remarks,
                      "call_center": {"id": center}}})
}

/// Sets up one account through the API: two tickets (one worked and open,
/// one closed) and a key issued to the locator.
async fn set_up(app: &Router, admin: &'static str, locator: &'static str, label: &str) -> Tenant {
    let center = list(app, "/call_centers", admin).await[0]["id"]
        .as_i64()
        .expect("center id");
    let notes_field = list(app, "/custom_fields", admin).await[0]["id"]
        .as_i64()
        .expect("field id");
    let users = list(app, "/users", admin).await;
    let id_of = |role: &str| {
        users.iter().find(|u| u["role"] == role).expect("user")["id"]
            .as_i64()
            .expect("user id")
    };
    let (admin_id, locator_id) = (id_of("admin"), id_of("locator"));

    for number in [OPEN, CLOSED] {
        post_json(
            app,
            "/tickets",
            admin,
            &ticket_body(center, number, &format!("{label}'s ticket")),
        )
        .await
        .expect(201);
    }
    let open = ticket_path("", center, OPEN);
    post_json(
        app,
        &format!("{open}/ticket_responses"),
        locator,
        &json!({"ticket_response": {"service_area": "EXMPL01", "code": "1B", "comment": format!("{label}'s response")}}),
    )
    .await
    .expect(200);
    call(
        app,
        Method::PATCH,
        &open,
        locator,
        &json!({"ticket": {"custom_fields": {notes_field.to_string(): format!("{label}'s note")}, "assignee_id": locator_id}})
            .to_string(),
    )
    .await
    .expect(200);
    call(
        app,
        Method::PATCH,
        &format!("{}/close", ticket_path("", center, CLOSED)),
        locator,
        "",
    )
    .await
    .expect(200);

    let issued = post_json(
        app,
        &format!("/users/{locator_id}/api_tokens"),
        admin,
        &json!({}),
    )
    .await
    .expect(201)
    .json();
    let issued_token = issued["token"].as_str().expect("token").to_string();
    // Used once, so `last_used_at` is set before any snapshot.
    get(app, "/call_centers", &issued_token).await.expect(200);
    let mut token_ids = Vec::new();
    for user in [admin_id, locator_id] {
        for token in list(app, &format!("/users/{user}/api_tokens"), admin).await {
            token_ids.push(token["id"].as_i64().expect("token id"));
        }
    }
    Tenant {
        admin,
        locator,
        center,
        notes_field,
        admin_id,
        locator_id,
        issued: issued_token,
        issued_id: issued["id"].as_i64().expect("token id"),
        token_ids,
    }
}

/// Everything of an account its admin can read: tickets, their histories,
/// the ticket list, users and keys (without `last_used_at`, which the
/// account's own reads refresh).
async fn snapshot(app: &Router, t: &Tenant) -> Value {
    let mut tickets = Vec::new();
    let mut histories = Vec::new();
    for number in [OPEN, CLOSED] {
        let path = ticket_path("", t.center, number);
        tickets.push(get(app, &path, t.admin).await.expect(200).json());
        histories.push(Value::Array(
            list(app, &format!("{path}/history"), t.admin).await,
        ));
    }
    let mut tokens = Vec::new();
    for user in [t.admin_id, t.locator_id] {
        for mut token in list(app, &format!("/users/{user}/api_tokens"), t.admin).await {
            token
                .as_object_mut()
                .expect("token object")
                .remove("last_used_at");
            tokens.push(token);
        }
    }
    json!({
        "tickets": tickets,
        "histories": histories,
        "list": list(app, "/tickets", t.admin).await,
        "users": list(app, "/users", t.admin).await,
        "tokens": tokens,
    })
}

/// Asserts nothing of the account changed since `before`, and its keys work.
async fn assert_unchanged(app: &Router, t: &Tenant, before: &Value, after_what: &str) {
    let now = snapshot(app, t).await;
    for key in ["tickets", "histories", "list", "users", "tokens"] {
        assert_eq!(now[key], before[key], "{key} changed by {after_what}");
    }
    for token in [t.admin, t.locator, t.issued.as_str()] {
        get(app, "/call_centers", token).await.expect(200);
    }
}

/// Every request that addresses one of `a`'s resources: (method, path,
/// body), under `prefix`. Bodies are valid for `a`, so only the account
/// check stands between them and `a`'s data.
fn requests_on(a: &Tenant, prefix: &str) -> Vec<(Method, String, String)> {
    let mut requests = Vec::new();
    let patch = json!({"ticket": {"custom_fields": {a.notes_field.to_string(): "overwritten"}}})
        .to_string();
    let assign = json!({"ticket": {"assignee_id": null}}).to_string();
    let respond = json!({"ticket_response": {"service_area": "EXMPL01", "code": "1B", "comment": "intruder"}}).to_string();
    let replace = json!({"ticket_responses": []}).to_string();
    for number in [OPEN, CLOSED] {
        let t = ticket_path(prefix, a.center, number);
        requests.extend([
            (Method::GET, t.clone(), String::new()),
            (Method::PATCH, t.clone(), patch.clone()),
            (Method::PATCH, t.clone(), assign.clone()),
            (Method::PATCH, format!("{t}/close"), String::new()),
            (Method::PATCH, format!("{t}/close"), patch.clone()),
            (Method::PATCH, format!("{t}/reopen"), String::new()),
            (
                Method::POST,
                format!("{t}/ticket_responses"),
                respond.clone(),
            ),
            (
                Method::PUT,
                format!("{t}/ticket_responses"),
                replace.clone(),
            ),
            (Method::GET, format!("{t}/history"), String::new()),
        ]);
    }
    let user_change = json!({"user": {"name": "Taken Over", "email": "owned@b.test", "role": "viewer", "active": false}}).to_string();
    for user in [a.admin_id, a.locator_id] {
        requests.extend([
            (
                Method::PATCH,
                format!("{prefix}/users/{user}"),
                user_change.clone(),
            ),
            (
                Method::GET,
                format!("{prefix}/users/{user}/api_tokens"),
                String::new(),
            ),
            (
                Method::POST,
                format!("{prefix}/users/{user}/api_tokens"),
                String::new(),
            ),
        ]);
    }
    for token in &a.token_ids {
        requests.push((
            Method::DELETE,
            format!("{prefix}/api_tokens/{token}"),
            String::new(),
        ));
    }
    requests
}

async fn provision(db: &TestDatabase) {
    let manifest = Manifest::from_json(&manifest().to_string()).expect("valid manifest");
    db.store.apply(&manifest).await.expect("apply manifest");
}

test_on_both_backends! {
    async fn another_accounts_resources_are_404_and_stay_unchanged(db: &TestDatabase) {
        provision(db).await;
        let app = api(db);
        let a = set_up(&app, A_ADMIN, A_LOCATOR, "a").await;
        let b = set_up(&app, B_ADMIN, B_LOCATOR, "b").await;
        assert_ne!(a.center, b.center);
        assert!(a.token_ids.contains(&a.issued_id));
        let a_before = snapshot(&app, &a).await;
        let b_before = snapshot(&app, &b).await;

        // How B is told that something does not exist at all.
        let absent = get(&app, &ticket_path("", 987_654_321, OPEN), B_ADMIN).await;
        assert_base_error(absent, 404);
        let absent = get(&app, &ticket_path("", 987_654_321, OPEN), B_ADMIN).await.json();

        for token in [B_ADMIN, B_LOCATOR] {
            for prefix in PREFIXES {
                for (method, uri, body) in requests_on(&a, prefix) {
                    let what = format!("{method} {uri} with B's {}", if token == B_ADMIN { "admin" } else { "locator" });
                    let resp = call(&app, method, &uri, token, &body).await;
                    assert_eq!(resp.status.as_u16(), 404, "{what}: {}", resp.text());
                    assert_eq!(resp.json(), absent, "{what}: answered as for a resource that exists nowhere");
                }
                assert_unchanged(&app, &a, &a_before, &format!("B's requests under {prefix:?}")).await;
            }
        }

        for prefix in PREFIXES {
            // Listing by A's call center finds nothing.
            for query in [format!("call_center_id={}", a.center), format!("call_center_id={}&q={OPEN}", a.center)] {
                let uri = format!("{prefix}/tickets?{query}");
                let body = get(&app, &uri, B_ADMIN).await.expect(200).json();
                assert_eq!(body, json!([]), "GET {uri} with B's admin");
            }
            // B's own listing holds B's tickets only.
            for ticket in list(&app, &format!("{prefix}/tickets"), B_ADMIN).await {
                assert_eq!(ticket["call_center"]["id"], json!(b.center), "{ticket}");
                assert_eq!(ticket["remarks"], "b's ticket", "{ticket}");
            }
            // B's users are B's.
            let emails: Vec<Value> = list(&app, &format!("{prefix}/users"), B_ADMIN).await.iter().map(|u| u["email"].clone()).collect();
            assert_eq!(emails, [json!("admin@b.test"), json!("locator@b.test")]);

            // Intake into A's call center: as if it did not exist, whether
            // the number is new or one of A's (which would version it).
            for number in ["NEW-1", OPEN, CLOSED] {
                let uri = format!("{prefix}/tickets");
                let resp = post_json(&app, &uri, B_ADMIN, &ticket_body(a.center, number, "intruder")).await;
                assert_eq!(resp.status.as_u16(), 422, "POST {uri} {number} into A's center: {}", resp.text());
                assert_eq!(
                    Value::Object(resp.expect_error(422)),
                    json!({"call_center": ["must exist"]}),
                    "POST {uri} {number} into A's center"
                );
            }
            // A's own ticket, read back and re-sent by B.
            let mut theirs = a_before["tickets"][0].clone();
            theirs["remarks"] = json!("rewritten by B");
            let resp = post_json(&app, &format!("{prefix}/tickets"), B_ADMIN, &json!({"ticket": theirs})).await;
            assert_eq!(
                Value::Object(resp.expect_error(422)),
                json!({"call_center": ["must exist"]}),
                "POST A's read-back ticket"
            );
        }
        assert_unchanged(&app, &a, &a_before, "B's listing and intake").await;
        // B's own data is untouched too (nothing landed there instead).
        assert_unchanged(&app, &b, &b_before, "B's requests on A").await;
    }

    async fn a_key_is_refused_under_another_accounts_host(db: &TestDatabase) {
        provision(db).await;
        let plain = api(db);
        let a = set_up(&plain, A_ADMIN, A_LOCATOR, "a").await;
        let b = set_up(&plain, B_ADMIN, B_LOCATOR, "b").await;
        let a_before = snapshot(&plain, &a).await;
        let b_before = snapshot(&plain, &b).await;
        let app = api_with_base_domain(db);
        let b_host = format!("b.{BASE_DOMAIN}");

        let with_host = |method: Method, uri: &str, host: &str, token: &str, body: String| {
            Request::builder()
                .method(method)
                .uri(uri)
                .header(header::HOST, host)
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::AUTHORIZATION, format!("Token token=\"{token}\""))
                .body(Body::from(body))
                .expect("request")
        };

        // A's host accepts A's keys.
        for token in [A_ADMIN, A_LOCATOR, a.issued.as_str()] {
            let resp = send(&app, with_host(Method::GET, "/call_centers", &format!("a.{BASE_DOMAIN}"), token, String::new())).await;
            assert_eq!(resp.status.as_u16(), 200, "A's key under A's host: {}", resp.text());
        }

        for prefix in PREFIXES {
            let mut requests: Vec<(Method, String, String)> = vec![
                (Method::GET, format!("{prefix}/call_centers"), String::new()),
                (Method::GET, format!("{prefix}/custom_fields"), String::new()),
                (Method::GET, format!("{prefix}/tickets"), String::new()),
                (Method::GET, format!("{prefix}/tickets?call_center_id={}", a.center), String::new()),
                (Method::POST, format!("{prefix}/tickets"), ticket_body(a.center, "HOST-1", "via B's host").to_string()),
                (Method::POST, format!("{prefix}/tickets"), ticket_body(a.center, OPEN, "via B's host").to_string()),
                (Method::GET, format!("{prefix}/users"), String::new()),
                (Method::POST, format!("{prefix}/users"),
                 json!({"user": {"name": "Via B", "email": "via@b.test", "role": "admin"}}).to_string()),
            ];
            // Every endpoint on A's resources, and on B's.
            requests.extend(requests_on(&a, prefix));
            requests.extend(requests_on(&b, prefix));
            for token in [A_ADMIN, A_LOCATOR, a.issued.as_str()] {
                for (method, uri, body) in &requests {
                    let resp = send(&app, with_host(method.clone(), uri, &b_host, token, body.clone())).await;
                    let what = format!("{method} {uri} with an A key under Host {b_host}");
                    assert_eq!(resp.status.as_u16(), 401, "{what}: {}", resp.text());
                    assert_eq!(
                        resp.header("www-authenticate").as_deref(),
                        Some("Token realm=\"Application\""),
                        "{what}"
                    );
                    assert_base_error(resp, 401);
                }
            }
        }
        // B's host however it is spelled.
        let user = format!("/users/{}", a.locator_id);
        let change = json!({"user": {"active": false}}).to_string();
        for host in [format!("B.{BASE_DOMAIN}"), format!("b.{BASE_DOMAIN}:443"), format!("b.{BASE_DOMAIN}.")] {
            for (method, uri, body) in [(Method::GET, "/call_centers", String::new()), (Method::PATCH, user.as_str(), change.clone())] {
                let resp = send(&app, with_host(method.clone(), uri, &host, A_ADMIN, body)).await;
                assert_eq!(resp.status.as_u16(), 401, "{method} {uri} with A's admin under Host {host}: {}", resp.text());
                assert_base_error(resp, 401);
            }
        }
        assert_unchanged(&plain, &a, &a_before, "A's keys under B's host").await;
        assert_unchanged(&plain, &b, &b_before, "A's keys under B's host").await;
        // The keys still work where they belong.
        let resp = send(&app, with_host(Method::GET, "/call_centers", &format!("a.{BASE_DOMAIN}"), A_ADMIN, String::new())).await;
        assert_eq!(resp.status.as_u16(), 200, "{}", resp.text());
        let resp = send(&app, with_host(Method::GET, "/call_centers", &b_host, B_ADMIN, String::new())).await;
        assert_eq!(resp.status.as_u16(), 200, "{}", resp.text());
    }
}
