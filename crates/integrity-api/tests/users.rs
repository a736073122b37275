//! In-process HTTP tests of user management and API keys (`GET`/`POST
//! /users`, `PATCH /users/:id`, `…/api_tokens`), of the permission matrix
//! with the manifest's `grant`/`revoke` (`docs/permissions.md`), and of the
//! documented order of checks 401 → 402 → 404 → 403 → 400 → 422. Every test
//! runs on SQLite and, when `INTEGRITY_TEST_POSTGRES_URL` is set, on
//! PostgreSQL.

#![recursion_limit = "256"]

mod common;

use axum::body::Body;
use axum::http::Method;
use axum::Router;
use common::{
    assert_base_error, assert_keys, assert_timestamp, get, post_json, request, send, ticket_path,
    Resp, PREFIXES,
};
use integrity_domain::manifest::Manifest;
use integrity_store::test_on_both_backends;
use integrity_store::testing::TestDatabase;
use serde_json::{json, Value};

// ---- Fixture: accounts, users and keys of this file -----------------------

const ADMIN: &str = "users-admin-key-0000001";
const MANAGER: &str = "users-manager-key-00001";
const LOCATOR: &str = "users-locator-key-00001";
const VIEWER: &str = "users-viewer-key-000001";
/// A locator granted `users:read` and `tickets:create`.
const GRANTED: &str = "users-granted-key-00001";
/// A locator with `tickets:close` revoked.
const REVOKED: &str = "users-revoked-key-00001";
const OTHER_ADMIN: &str = "users-other-admin-key-01";
const FROZEN_ADMIN: &str = "users-frozen-admin-key-1";
const LIMITED_ADMIN: &str = "users-limited-admin-key1";
const LIMITED_LOCATOR: &str = "users-limited-locat-key1";

/// An id no resource of any account has.
const NO_SUCH_ID: i64 = 987_654_321;

const VIEWER_PERMISSIONS: [&str; 3] = ["call_centers:read", "custom_fields:read", "tickets:read"];
const LOCATOR_PERMISSIONS: [&str; 6] = [
    "call_centers:read",
    "custom_fields:read",
    "tickets:read",
    "tickets:update",
    "tickets:close",
    "responses:write",
];
const MANAGER_PERMISSIONS: [&str; 8] = [
    "call_centers:read",
    "custom_fields:read",
    "tickets:read",
    "tickets:create",
    "tickets:update",
    "tickets:close",
    "responses:write",
    "users:read",
];
const ADMIN_PERMISSIONS: [&str; 11] = [
    "call_centers:read",
    "custom_fields:read",
    "tickets:read",
    "tickets:create",
    "tickets:update",
    "tickets:close",
    "responses:write",
    "users:read",
    "users:write",
    "tokens:write",
    "relay:manage",
];
/// The locator's permissions plus `tickets:create` and `users:read`, in the
/// canonical order (not the manifest's).
const GRANTED_PERMISSIONS: [&str; 8] = [
    "call_centers:read",
    "custom_fields:read",
    "tickets:read",
    "tickets:create",
    "tickets:update",
    "tickets:close",
    "responses:write",
    "users:read",
];
const REVOKED_PERMISSIONS: [&str; 5] = [
    "call_centers:read",
    "custom_fields:read",
    "tickets:read",
    "tickets:update",
    "responses:write",
];

const USER_KEYS: [&str; 7] = [
    "id",
    "name",
    "email",
    "role",
    "active",
    "permissions",
    "created_at",
];
const NEW_TOKEN_KEYS: [&str; 6] = [
    "id",
    "user_id",
    "token",
    "prefix",
    "created_at",
    "last_used_at",
];
const LISTED_TOKEN_KEYS: [&str; 5] = ["id", "user_id", "prefix", "created_at", "last_used_at"];

fn manifest() -> Value {
    let center = json!({"name": "Georgia 811", "state": "Georgia", "facilities": ["Gas"],
        "service_areas": [{"code": "EXMPL01"}],
        "response_codes": [{"code": "1B", "description": "Marked: conflict."}]});
    json!({"accounts": [
        {"subdomain": "acme", "name": "Acme Locating",
         "users": [
            {"name": "Ad Min", "email": "ad@acme.test", "role": "admin", "api_tokens": [ADMIN]},
            {"name": "Ma Nager", "email": "ma@acme.test", "role": "manager", "api_tokens": [MANAGER]},
            {"name": "Lo Cator", "email": "lo@acme.test", "role": "locator", "api_tokens": [LOCATOR]},
            {"name": "Vi Ewer", "email": "vi@acme.test", "role": "viewer", "api_tokens": [VIEWER]},
            {"name": "Gr Anted", "email": "gr@acme.test", "role": "locator",
             "grant": ["users:read", "tickets:create"], "api_tokens": [GRANTED]},
            {"name": "Re Voked", "email": "re@acme.test", "role": "locator",
             "revoke": ["tickets:close"], "api_tokens": [REVOKED]}],
         "call_centers": [center.clone()],
         "custom_fields": [{"name": "Notes", "type_id": 2}]},
        {"subdomain": "other", "name": "Other Utility",
         "users": [{"name": "Bo", "email": "bo@other.test", "role": "admin", "api_tokens": [OTHER_ADMIN]}],
         "call_centers": [center.clone()]},
        {"subdomain": "frozen", "name": "Frozen Inc", "api_enabled": false,
         "users": [{"name": "Fr", "email": "fr@frozen.test", "role": "admin", "api_tokens": [FROZEN_ADMIN]}],
         "call_centers": [center]},
        {"subdomain": "limited", "name": "Limited Ltd", "plan": {"max_users": 2},
         "users": [
            {"name": "Li Admin", "email": "li@limited.test", "role": "admin", "api_tokens": [LIMITED_ADMIN]},
            {"name": "Li Locator", "email": "ll@limited.test", "role": "locator", "api_tokens": [LIMITED_LOCATOR]}]}
    ]})
}

struct Fixture {
    /// acme's call center.
    center: i64,
}

async fn provision(db: &TestDatabase) -> Fixture {
    let manifest = Manifest::from_json(&manifest().to_string()).expect("valid manifest");
    db.store.apply(&manifest).await.expect("apply manifest");
    let acme = db
        .store
        .account_by_subdomain("acme")
        .await
        .unwrap()
        .unwrap();
    let centers = db.store.call_centers(acme).await.unwrap();
    Fixture {
        center: centers[0].id,
    }
}

fn app(db: &TestDatabase) -> Router {
    common::api(db)
}

// ---- Requests -------------------------------------------------------------

async fn call(app: &Router, method: Method, uri: &str, token: &str, body: &str) -> Resp {
    send(app, request(method, uri, Some(token), body.to_string())).await
}

async fn patch_json(app: &Router, uri: &str, token: &str, body: &Value) -> Resp {
    call(app, Method::PATCH, uri, token, &body.to_string()).await
}

async fn delete(app: &Router, uri: &str, token: &str) -> Resp {
    send(
        app,
        request(Method::DELETE, uri, Some(token), Body::empty()),
    )
    .await
}

/// Asserts 204 with an empty body.
fn assert_no_content(resp: Resp, what: &str) {
    assert_eq!(resp.status.as_u16(), 204, "{what}: body {}", resp.text());
    assert!(
        resp.bytes.is_empty(),
        "{what}: 204 with a body: {:?}",
        resp.text()
    );
}

/// Asserts a 422 whose `errors` are exactly `expected`.
fn assert_invalid(resp: Resp, expected: Value, what: &str) {
    let status = resp.status.as_u16();
    assert_eq!(status, 422, "{what}: body {}", resp.text());
    let errors = Value::Object(resp.expect_error(422));
    assert_eq!(errors, expected, "{what}");
}

/// Asserts a `{"errors": {"base": […]}}` answer with this status, naming the
/// request when it is not.
fn assert_base(resp: Resp, status: u16, what: &str) {
    assert_eq!(resp.status.as_u16(), status, "{what}: body {}", resp.text());
    assert_base_error(resp, status);
}

/// `GET /users` as `token`, 200 expected.
async fn users(app: &Router, token: &str) -> Vec<Value> {
    get(app, "/users", token)
        .await
        .expect(200)
        .json()
        .as_array()
        .expect("a list")
        .clone()
}

async fn user_by_email(app: &Router, admin: &str, email: &str) -> Value {
    users(app, admin)
        .await
        .into_iter()
        .find(|u| {
            u["email"]
                .as_str()
                .is_some_and(|e| e.eq_ignore_ascii_case(email))
        })
        .unwrap_or_else(|| panic!("no user {email}"))
}

async fn user_id(app: &Router, admin: &str, email: &str) -> i64 {
    user_by_email(app, admin, email).await["id"]
        .as_i64()
        .expect("id")
}

async fn tokens_of(app: &Router, admin: &str, user: i64) -> Vec<Value> {
    get(app, &format!("/users/{user}/api_tokens"), admin)
        .await
        .expect(200)
        .json()
        .as_array()
        .expect("a list")
        .clone()
}

/// Whether `token` authenticates (`GET /call_centers`): 200 or 401, nothing
/// else.
async fn works(app: &Router, token: &str) -> bool {
    let resp = get(app, "/call_centers", token).await;
    match resp.status.as_u16() {
        200 => true,
        401 => {
            assert_base_error(resp, 401);
            false
        }
        other => panic!("GET /call_centers: {other} {}", resp.text()),
    }
}

/// Rounds and clients of the concurrency tests.
const ROUNDS: usize = 4;
const RACERS: usize = 12;

/// `POST /users` with each body at once, as concurrent clients would.
async fn create_concurrently(app: &Router, token: &'static str, bodies: Vec<Value>) -> Vec<Resp> {
    let tasks: Vec<_> = bodies
        .into_iter()
        .map(|body| {
            let app = app.clone();
            tokio::spawn(async move { post_json(&app, "/users", token, &body).await })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.expect("request task"));
    }
    answers
}

fn open_ticket(center: i64, number: &str) -> Value {
    json!({"ticket": {"ticket_number": number, "service_area": "EXMPL01", "call_center": {"id": center}}})
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value}"))
        .iter()
        .map(|v| v.as_str().unwrap_or_else(|| panic!("not a string: {v}")))
        .collect()
}

test_on_both_backends! {
    // ---- 1. GET /users and effective permissions ---------------------------

    async fn users_list_has_the_documented_shape_and_effective_permissions(db: &TestDatabase) {
        provision(db).await;
        let app = app(db);
        for prefix in PREFIXES {
            let body = get(&app, &format!("{prefix}/users"), ADMIN).await.expect(200).json();
            let list = body.as_array().expect("a list");
            let emails: Vec<&str> = list.iter().map(|u| u["email"].as_str().expect("email")).collect();
            assert_eq!(
                emails,
                ["ad@acme.test", "ma@acme.test", "lo@acme.test", "vi@acme.test", "gr@acme.test", "re@acme.test"],
                "acme's users only: {body}"
            );
            for user in list {
                assert_keys("user", user, &USER_KEYS);
                assert!(user["id"].is_i64(), "{user}");
                assert_eq!(user["active"], json!(true), "{user}");
                assert_timestamp("created_at", &user["created_at"]);
            }
            let expected: [(&str, &str, &str, &[&str]); 6] = [
                ("Ad Min", "admin", "ad@acme.test", &ADMIN_PERMISSIONS),
                ("Ma Nager", "manager", "ma@acme.test", &MANAGER_PERMISSIONS),
                ("Lo Cator", "locator", "lo@acme.test", &LOCATOR_PERMISSIONS),
                ("Vi Ewer", "viewer", "vi@acme.test", &VIEWER_PERMISSIONS),
                ("Gr Anted", "locator", "gr@acme.test", &GRANTED_PERMISSIONS),
                ("Re Voked", "locator", "re@acme.test", &REVOKED_PERMISSIONS),
            ];
            for (user, (name, role, email, permissions)) in list.iter().zip(expected) {
                assert_eq!(user["name"], name, "{user}");
                assert_eq!(user["role"], role, "{user}");
                assert_eq!(user["email"], email, "{user}");
                assert_eq!(strings(&user["permissions"]), permissions, "effective permissions of {email}");
            }
        }
    }

    async fn users_list_needs_users_read(db: &TestDatabase) {
        provision(db).await;
        let app = app(db);
        for prefix in PREFIXES {
            let uri = format!("{prefix}/users");
            for (who, token, status) in [
                ("viewer", VIEWER, 403),
                ("locator", LOCATOR, 403),
                ("locator with tickets:close revoked", REVOKED, 403),
                ("manager", MANAGER, 200),
                ("admin", ADMIN, 200),
                ("locator granted users:read", GRANTED, 200),
            ] {
                let resp = get(&app, &uri, token).await;
                if status == 200 {
                    let list = resp.expect(200).json();
                    assert_eq!(list.as_array().map(Vec::len), Some(6), "GET {uri} as {who}: {list}");
                } else {
                    assert_base(resp, status, &format!("GET {uri} as {who}"));
                }
            }
        }
    }

    async fn manifest_grant_and_revoke_drive_the_endpoint_checks(db: &TestDatabase) {
        let f = provision(db).await;
        let app = app(db);
        // tickets:create: granted to one locator, not a locator's otherwise.
        post_json(&app, "/tickets", GRANTED, &open_ticket(f.center, "G-1")).await.expect(201);
        assert_base(post_json(&app, "/tickets", LOCATOR, &open_ticket(f.center, "L-1")).await, 403, "POST /tickets as locator");
        post_json(&app, "/tickets", ADMIN, &open_ticket(f.center, "T-1")).await.expect(201);
        post_json(&app, "/tickets", ADMIN, &open_ticket(f.center, "T-2")).await.expect(201);
        for prefix in PREFIXES {
            let close = format!("{}/close", ticket_path(prefix, f.center, "T-1"));
            let reopen = format!("{}/reopen", ticket_path(prefix, f.center, "T-1"));
            // tickets:close revoked: 403 on close and reopen of an existing ticket.
            assert_base(call(&app, Method::PATCH, &close, REVOKED, "").await, 403, &format!("PATCH {close} as REVOKED"));
            let t = get(&app, &ticket_path(prefix, f.center, "T-1"), ADMIN).await.expect(200).json();
            assert_eq!(t["status"], "unassigned", "the refused close changed nothing: {t}");
            // The rest of the locator's permissions remain.
            let patch = ticket_path(prefix, f.center, "T-1");
            patch_json(&app, &patch, REVOKED, &json!({"ticket": {"custom_fields": {}}})).await.expect(200);
            // A plain locator may close and reopen.
            let closed = call(&app, Method::PATCH, &close, LOCATOR, "").await.expect(200).json();
            assert_eq!(closed["status"], "closed");
            assert_base(call(&app, Method::PATCH, &reopen, REVOKED, "").await, 403, &format!("PATCH {reopen} as REVOKED"));
            let reopened = call(&app, Method::PATCH, &reopen, LOCATOR, "").await.expect(200).json();
            assert_eq!(reopened["status"], "unassigned");
        }
    }

    async fn grant_and_revoke_changed_by_patch_take_effect(db: &TestDatabase) {
        let f = provision(db).await;
        let app = app(db);
        post_json(&app, "/tickets", ADMIN, &open_ticket(f.center, "T-1")).await.expect(201);
        let viewer = user_id(&app, ADMIN, "vi@acme.test").await;
        let locator = user_id(&app, ADMIN, "lo@acme.test").await;

        assert_base(get(&app, "/users", VIEWER).await, 403, "GET /users as viewer");
        assert_no_content(
            patch_json(&app, &format!("/users/{viewer}"), ADMIN, &json!({"user": {"grant": ["users:read"]}})).await,
            "grant users:read",
        );
        assert_eq!(users(&app, VIEWER).await.len(), 6, "the viewer granted users:read lists users");
        let shown = user_by_email(&app, ADMIN, "vi@acme.test").await;
        assert_eq!(strings(&shown["permissions"]), ["call_centers:read", "custom_fields:read", "tickets:read", "users:read"]);

        // Changing something else keeps the grant.
        assert_no_content(
            patch_json(&app, &format!("/users/{viewer}"), ADMIN, &json!({"user": {"name": "Vi Renamed"}})).await,
            "rename",
        );
        assert_eq!(users(&app, VIEWER).await.len(), 6, "a rename keeps the grant");

        assert_no_content(
            patch_json(&app, &format!("/users/{viewer}"), ADMIN, &json!({"user": {"grant": []}})).await,
            "clear grants",
        );
        assert_base(get(&app, "/users", VIEWER).await, 403, "GET /users after the grant was withdrawn");

        let close = format!("{}/close", ticket_path("", f.center, "T-1"));
        assert_no_content(
            patch_json(&app, &format!("/users/{locator}"), ADMIN, &json!({"user": {"revoke": ["tickets:close"]}})).await,
            "revoke tickets:close",
        );
        assert_base(call(&app, Method::PATCH, &close, LOCATOR, "").await, 403, "close after revoke");
        let shown = user_by_email(&app, ADMIN, "lo@acme.test").await;
        assert_eq!(strings(&shown["permissions"]), REVOKED_PERMISSIONS);
        assert_no_content(
            patch_json(&app, &format!("/users/{locator}"), ADMIN, &json!({"user": {"revoke": []}})).await,
            "clear revokes",
        );
        call(&app, Method::PATCH, &close, LOCATOR, "").await.expect(200);
    }

    // ---- 2. POST /users ---------------------------------------------------

    async fn create_user_answers_201_with_the_user(db: &TestDatabase) {
        provision(db).await;
        let app = app(db);
        for (i, prefix) in PREFIXES.into_iter().enumerate() {
            let email = format!("new{i}@acme.test");
            let resp = post_json(
                &app,
                &format!("{prefix}/users"),
                ADMIN,
                &json!({"user": {"name": "New Person", "email": email, "role": "locator"}}),
            )
            .await;
            let user = resp.expect(201).json();
            assert_keys("created user", &user, &USER_KEYS);
            assert!(user["id"].is_i64(), "{user}");
            assert_eq!(user["name"], "New Person");
            assert_eq!(user["email"], email.as_str());
            assert_eq!(user["role"], "locator");
            assert_eq!(user["active"], json!(true));
            assert_eq!(strings(&user["permissions"]), LOCATOR_PERMISSIONS);
            assert_timestamp("created_at", &user["created_at"]);
            let listed = user_by_email(&app, ADMIN, &email).await;
            assert_eq!(listed, user, "GET /users shows the user as POST answered it");
        }
        // Grant and revoke on creation.
        let user = post_json(
            &app,
            "/users",
            ADMIN,
            &json!({"user": {"name": "Special", "email": "sp@acme.test", "role": "viewer",
                              "grant": ["tokens:write"], "revoke": ["tickets:read"]}}),
        )
        .await
        .expect(201)
        .json();
        assert_eq!(strings(&user["permissions"]), ["call_centers:read", "custom_fields:read", "tokens:write"]);
        assert_eq!(users(&app, ADMIN).await.len(), 9);
    }

    async fn create_user_validates_with_rails_messages(db: &TestDatabase) {
        provision(db).await;
        let app = app(db);
        let cases = [
            ("blank name", json!({"name": "", "email": "x1@acme.test", "role": "viewer"}), json!({"name": ["can't be blank"]})),
            ("whitespace name", json!({"name": "   ", "email": "x2@acme.test", "role": "viewer"}), json!({"name": ["can't be blank"]})),
            ("invalid e-mail", json!({"name": "X", "email": "not-an-email", "role": "viewer"}), json!({"email": ["is invalid"]})),
            ("taken e-mail", json!({"name": "X", "email": "ma@acme.test", "role": "viewer"}), json!({"email": ["has already been taken"]})),
            ("taken e-mail, other case", json!({"name": "X", "email": "MA@Acme.TEST", "role": "viewer"}), json!({"email": ["has already been taken"]})),
            ("bad role", json!({"name": "X", "email": "x3@acme.test", "role": "owner"}), json!({"role": ["is not included in the list"]})),
        ];
        for prefix in PREFIXES {
            for (what, user, expected) in &cases {
                let resp = post_json(&app, &format!("{prefix}/users"), ADMIN, &json!({"user": user})).await;
                assert_invalid(resp, expected.clone(), &format!("POST {prefix}/users, {what}"));
            }
        }
        assert_eq!(users(&app, ADMIN).await.len(), 6, "no invalid user was created");
        // The other account's e-mail addresses are not taken here.
        post_json(&app, "/users", ADMIN, &json!({"user": {"name": "Bo Too", "email": "bo@other.test", "role": "viewer"}}))
            .await
            .expect(201);
    }

    async fn create_user_without_root_key_is_400(db: &TestDatabase) {
        provision(db).await;
        let app = app(db);
        for prefix in PREFIXES {
            let uri = format!("{prefix}/users");
            for body in [
                json!({"name": "X", "email": "x@acme.test", "role": "viewer"}).to_string(),
                json!({"user": null}).to_string(),
                "{".to_string(),
                "[]".to_string(),
                String::new(),
            ] {
                assert_base(call(&app, Method::POST, &uri, ADMIN, &body).await, 400, &format!("POST {uri} {body:?}"));
            }
        }
        assert_eq!(users(&app, ADMIN).await.len(), 6);
    }

    async fn create_user_needs_users_write(db: &TestDatabase) {
        provision(db).await;
        let app = app(db);
        let body = json!({"user": {"name": "X", "email": "x@acme.test", "role": "viewer"}});
        for prefix in PREFIXES {
            let uri = format!("{prefix}/users");
            for (who, token) in [("manager", MANAGER), ("viewer", VIEWER), ("granted locator", GRANTED)] {
                assert_base(post_json(&app, &uri, token, &body).await, 403, &format!("POST {uri} as {who}"));
                // 403 comes before the body is looked at.
                assert_base(call(&app, Method::POST, &uri, token, "{nope").await, 403, &format!("POST {uri} as {who}, malformed"));
            }
        }
        assert_eq!(users(&app, ADMIN).await.len(), 6);
    }

    async fn the_plan_user_limit_is_402(db: &TestDatabase) {
        provision(db).await;
        let app = app(db);
        let new_user = |email: &str| json!({"user": {"name": "Newcomer", "email": email, "role": "viewer"}});
        // Two of two places are taken.
        for prefix in PREFIXES {
            let resp = post_json(&app, &format!("{prefix}/users"), LIMITED_ADMIN, &new_user("n1@limited.test")).await;
            assert_base(resp, 402, "POST /users beyond the plan");
        }
        assert_eq!(users(&app, LIMITED_ADMIN).await.len(), 2, "the refused user was not created");

        // Deactivating one frees a place.
        let locator = user_id(&app, LIMITED_ADMIN, "ll@limited.test").await;
        assert_no_content(
            patch_json(&app, &format!("/users/{locator}"), LIMITED_ADMIN, &json!({"user": {"active": false}})).await,
            "deactivate",
        );
        assert!(!works(&app, LIMITED_LOCATOR).await);
        let created = post_json(&app, "/users", LIMITED_ADMIN, &new_user("n1@limited.test")).await.expect(201).json();
        let newcomer = created["id"].as_i64().expect("id");
        assert_base(post_json(&app, "/users", LIMITED_ADMIN, &new_user("n2@limited.test")).await, 402, "a fourth user");

        // Reactivating beyond the limit is refused and changes nothing.
        let resp = patch_json(&app, &format!("/users/{locator}"), LIMITED_ADMIN,
                              &json!({"user": {"active": true, "name": "Li Back"}})).await;
        assert_base(resp, 402, "PATCH active: true beyond the plan");
        let shown = user_by_email(&app, LIMITED_ADMIN, "ll@limited.test").await;
        assert_eq!(shown["active"], json!(false), "{shown}");
        assert_eq!(shown["name"], "Li Locator", "the refused PATCH changed nothing: {shown}");
        assert!(!works(&app, LIMITED_LOCATOR).await);

        // An active user saying so is no reactivation.
        let admin = user_id(&app, LIMITED_ADMIN, "li@limited.test").await;
        assert_no_content(
            patch_json(&app, &format!("/users/{admin}"), LIMITED_ADMIN, &json!({"user": {"active": true}})).await,
            "active: true of an active user at the limit",
        );

        // Swapping: deactivate the newcomer, reactivate the locator.
        assert_no_content(
            patch_json(&app, &format!("/users/{newcomer}"), LIMITED_ADMIN, &json!({"user": {"active": false}})).await,
            "deactivate newcomer",
        );
        assert_no_content(
            patch_json(&app, &format!("/users/{locator}"), LIMITED_ADMIN, &json!({"user": {"active": true}})).await,
            "reactivate within the plan",
        );
        assert!(works(&app, LIMITED_LOCATOR).await);
        let active = users(&app, LIMITED_ADMIN).await.iter().filter(|u| u["active"] == json!(true)).count();
        assert_eq!(active, 2);
    }

    async fn concurrent_creations_respect_the_plan_limit(db: &TestDatabase) {
        provision(db).await;
        let app = app(db);
        let admin = user_id(&app, LIMITED_ADMIN, "li@limited.test").await;
        // A race is won or lost by timing: run several rounds.
        for round in 0..ROUNDS {
            // Everyone but the admin is deactivated: one of two places is free.
            for user in users(&app, LIMITED_ADMIN).await {
                if user["id"] != json!(admin) && user["active"] == json!(true) {
                    assert_no_content(
                        patch_json(&app, &format!("/users/{}", user["id"]), LIMITED_ADMIN, &json!({"user": {"active": false}})).await,
                        "deactivate",
                    );
                }
            }
            let bodies = (0..RACERS)
                .map(|i| json!({"user": {"name": format!("Racer {i}"), "email": format!("r{round}-{i}@limited.test"), "role": "viewer"}}))
                .collect();
            let answers = create_concurrently(&app, LIMITED_ADMIN, bodies).await;
            let statuses: Vec<u16> = answers.iter().map(|r| r.status.as_u16()).collect();
            assert_eq!(
                statuses.iter().filter(|s| **s == 201).count(),
                1,
                "round {round}: one place, {RACERS} concurrent POST /users: {statuses:?}"
            );
            for resp in answers.into_iter().filter(|r| r.status.as_u16() != 201) {
                assert_base(resp, 402, &format!("round {round}: a concurrent creation beyond the plan"));
            }
            let active = users(&app, LIMITED_ADMIN).await.iter().filter(|u| u["active"] == json!(true)).count();
            assert_eq!(active, 2, "round {round}: the plan allows 2 active users");
        }
    }

    async fn concurrent_creations_with_one_email_create_one_user(db: &TestDatabase) {
        provision(db).await;
        let app = app(db);
        for round in 0..ROUNDS {
            let bodies = (0..RACERS)
                .map(|i| {
                    let email = if i % 2 == 0 { format!("race{round}@acme.test") } else { format!("RACE{round}@Acme.test") };
                    json!({"user": {"name": format!("Racer {i}"), "email": email, "role": "viewer"}})
                })
                .collect();
            let answers = create_concurrently(&app, ADMIN, bodies).await;
            let statuses: Vec<u16> = answers.iter().map(|r| r.status.as_u16()).collect();
            assert_eq!(
                statuses.iter().filter(|s| **s == 201).count(),
                1,
                "round {round}: {RACERS} concurrent POST /users with one e-mail: {statuses:?}"
            );
            for resp in answers.into_iter().filter(|r| r.status.as_u16() != 201) {
                assert_invalid(
                    resp,
                    json!({"email": ["has already been taken"]}),
                    &format!("round {round}: a concurrent creation with a taken e-mail"),
                );
            }
        }
        assert_eq!(users(&app, ADMIN).await.len(), 6 + ROUNDS);
    }

    // ---- 3. PATCH /users/:id ----------------------------------------------

    async fn patch_user_answers_204_and_changes_the_user(db: &TestDatabase) {
        provision(db).await;
        let app = app(db);
        let viewer = user_id(&app, ADMIN, "vi@acme.test").await;
        let before = user_by_email(&app, ADMIN, "vi@acme.test").await;
        for prefix in PREFIXES {
            assert_no_content(
                patch_json(&app, &format!("{prefix}/users/{viewer}"), ADMIN,
                           &json!({"user": {"name": "Vi Changed", "email": "vi.changed@acme.test", "role": "manager"}})).await,
                "PATCH name, email, role",
            );
            let user = user_by_email(&app, ADMIN, "vi.changed@acme.test").await;
            assert_eq!(user["id"], json!(viewer));
            assert_eq!(user["name"], "Vi Changed");
            assert_eq!(user["role"], "manager");
            assert_eq!(user["active"], json!(true));
            assert_eq!(strings(&user["permissions"]), MANAGER_PERMISSIONS);
            assert_eq!(user["created_at"], before["created_at"]);
            // The new role takes effect for the user's key.
            get(&app, "/users", VIEWER).await.expect(200);

            assert_no_content(
                patch_json(&app, &format!("{prefix}/users/{viewer}"), ADMIN,
                           &json!({"user": {"grant": ["users:write"], "revoke": ["tickets:read"]}})).await,
                "PATCH grant, revoke",
            );
            let user = user_by_email(&app, ADMIN, "vi.changed@acme.test").await;
            assert_eq!(strings(&user["permissions"]), [
                "call_centers:read", "custom_fields:read", "tickets:create", "tickets:update", "tickets:close",
                "responses:write", "users:read", "users:write",
            ]);

            // Back to how it was, GET /users' own shape sent back.
            let mut back = before.clone();
            back["grant"] = json!([]);
            back["revoke"] = json!([]);
            assert_no_content(
                patch_json(&app, &format!("{prefix}/users/{viewer}"), ADMIN, &json!({"user": back})).await,
                "PATCH with the listed user",
            );
            assert_eq!(user_by_email(&app, ADMIN, "vi@acme.test").await, before);
        }
        // The same e-mail in another case is the user's own, not taken.
        assert_no_content(
            patch_json(&app, &format!("/users/{viewer}"), ADMIN, &json!({"user": {"email": "VI@acme.test"}})).await,
            "own e-mail in another case",
        );
    }

    async fn patch_user_validates(db: &TestDatabase) {
        provision(db).await;
        let app = app(db);
        let viewer = user_id(&app, ADMIN, "vi@acme.test").await;
        let before = users(&app, ADMIN).await;
        let uri = format!("/users/{viewer}");
        for (what, user, expected) in [
            ("blank name", json!({"name": " "}), json!({"name": ["can't be blank"]})),
            ("invalid e-mail", json!({"email": "nope"}), json!({"email": ["is invalid"]})),
            ("taken e-mail", json!({"email": "MA@acme.test"}), json!({"email": ["has already been taken"]})),
            ("bad role", json!({"role": "superuser"}), json!({"role": ["is not included in the list"]})),
        ] {
            assert_invalid(patch_json(&app, &uri, ADMIN, &json!({"user": user})).await, expected, &format!("PATCH {uri}, {what}"));
        }
        assert_base(patch_json(&app, &uri, ADMIN, &json!({"name": "X"})).await, 400, "PATCH without root key");
        assert_eq!(users(&app, ADMIN).await, before, "nothing changed");
    }

    async fn patch_user_of_another_account_or_bad_id_is_404(db: &TestDatabase) {
        provision(db).await;
        let app = app(db);
        let theirs = user_id(&app, OTHER_ADMIN, "bo@other.test").await;
        let their_users = users(&app, OTHER_ADMIN).await;
        let body = json!({"user": {"name": "Taken Over", "active": false}});
        for prefix in PREFIXES {
            for id in [
                theirs.to_string(),
                NO_SUCH_ID.to_string(),
                "abc".into(),
                "1x".into(),
                "0".into(),
                "-1".into(),
                "1.0".into(),
                "99999999999999999999999".into(),
            ] {
                let uri = format!("{prefix}/users/{id}");
                assert_base(patch_json(&app, &uri, ADMIN, &body).await, 404, &format!("PATCH {uri}"));
            }
        }
        assert_eq!(users(&app, OTHER_ADMIN).await, their_users, "the other account's user is unchanged");
        assert!(works(&app, OTHER_ADMIN).await);
    }

    async fn patch_user_needs_users_write(db: &TestDatabase) {
        provision(db).await;
        let app = app(db);
        let viewer = user_id(&app, ADMIN, "vi@acme.test").await;
        let before = users(&app, ADMIN).await;
        for (who, token) in [("manager", MANAGER), ("viewer", VIEWER), ("granted locator", GRANTED)] {
            let resp = patch_json(&app, &format!("/users/{viewer}"), token, &json!({"user": {"role": "admin"}})).await;
            assert_base(resp, 403, &format!("PATCH /users/:id as {who}"));
        }
        assert_eq!(users(&app, ADMIN).await, before);
    }

    async fn deactivating_a_user_stops_their_keys_at_once(db: &TestDatabase) {
        provision(db).await;
        let app = app(db);
        let locator = user_id(&app, ADMIN, "lo@acme.test").await;
        let issued = post_json(&app, &format!("/users/{locator}/api_tokens"), ADMIN, &json!({})).await.expect(201).json();
        let issued = issued["token"].as_str().expect("token").to_string();
        assert!(works(&app, LOCATOR).await);
        assert!(works(&app, &issued).await);
        assert_no_content(
            patch_json(&app, &format!("/users/{locator}"), ADMIN, &json!({"user": {"active": false}})).await,
            "deactivate",
        );
        for prefix in PREFIXES {
            for token in [LOCATOR, issued.as_str()] {
                let resp = get(&app, &format!("{prefix}/call_centers"), token).await;
                assert_eq!(resp.status.as_u16(), 401, "the very next request: {}", resp.text());
                assert_eq!(resp.header("www-authenticate").as_deref(), Some("Token realm=\"Application\""));
                assert_base_error(resp, 401);
            }
        }
        let shown = user_by_email(&app, ADMIN, "lo@acme.test").await;
        assert_eq!(shown["active"], json!(false));
        assert_no_content(
            patch_json(&app, &format!("/users/{locator}"), ADMIN, &json!({"user": {"active": true}})).await,
            "reactivate",
        );
        assert!(works(&app, LOCATOR).await);
        assert!(works(&app, &issued).await);
    }

    // ---- 4. API tokens ----------------------------------------------------

    async fn issued_tokens_are_shown_once_and_authenticate(db: &TestDatabase) {
        provision(db).await;
        let app = app(db);
        let locator = user_id(&app, ADMIN, "lo@acme.test").await;
        let mut secrets = Vec::new();
        for prefix in PREFIXES {
            let resp = send(&app, request(Method::POST, &format!("{prefix}/users/{locator}/api_tokens"), Some(ADMIN), Body::empty())).await;
            let created = resp.expect(201).json();
            assert_keys("issued token", &created, &NEW_TOKEN_KEYS);
            assert!(created["id"].is_i64(), "{created}");
            assert_eq!(created["user_id"], json!(locator));
            assert_eq!(created["last_used_at"], Value::Null);
            assert_timestamp("created_at", &created["created_at"]);
            let token = created["token"].as_str().expect("token is a string").to_string();
            let hex = token.strip_prefix("itg_").unwrap_or_else(|| panic!("token without itg_: {token}"));
            assert_eq!(hex.len(), 64, "256 bits in hex: {token}");
            assert!(hex.bytes().all(|b| b.is_ascii_hexdigit()), "hex: {token}");
            let shown_prefix = created["prefix"].as_str().expect("prefix");
            assert!(token.starts_with(shown_prefix) && shown_prefix.len() < token.len() / 2, "prefix {shown_prefix:?} of {token}");

            // It authenticates as the locator (call centers yes, users no).
            assert!(works(&app, &token).await);
            assert_base(get(&app, "/users", &token).await, 403, "the new token is the locator's");

            let listed = get(&app, &format!("{prefix}/users/{locator}/api_tokens"), ADMIN).await.expect(200);
            assert!(!listed.text().contains(hex), "the listing never shows the key");
            let listed = listed.json();
            let list = listed.as_array().expect("a list");
            for entry in list {
                assert_keys("listed token", entry, &LISTED_TOKEN_KEYS);
                assert_eq!(entry["user_id"], json!(locator));
            }
            let entry = list.iter().find(|t| t["id"] == created["id"]).unwrap_or_else(|| panic!("new token not listed: {listed}"));
            assert_eq!(entry["prefix"], created["prefix"]);
            assert_eq!(entry["created_at"], created["created_at"]);
            assert_timestamp("last_used_at after use", &entry["last_used_at"]);
            secrets.push(token);
        }
        assert_ne!(secrets[0], secrets[1]);
        // Both issued keys and the installed one.
        assert_eq!(tokens_of(&app, ADMIN, locator).await.len(), 3);
    }

    async fn revoked_tokens_stop_at_once(db: &TestDatabase) {
        provision(db).await;
        let app = app(db);
        let locator = user_id(&app, ADMIN, "lo@acme.test").await;
        for prefix in PREFIXES {
            let created = post_json(&app, &format!("{prefix}/users/{locator}/api_tokens"), ADMIN, &json!({})).await.expect(201).json();
            let (id, token) = (created["id"].as_i64().unwrap(), created["token"].as_str().unwrap().to_string());
            assert!(works(&app, &token).await);
            assert_no_content(delete(&app, &format!("{prefix}/api_tokens/{id}"), ADMIN).await, "DELETE token");
            assert!(!works(&app, &token).await, "a revoked token is 401 at once");
            assert_base(delete(&app, &format!("{prefix}/api_tokens/{id}"), ADMIN).await, 404, "DELETE again");
            let ids: Vec<Value> = tokens_of(&app, ADMIN, locator).await.iter().map(|t| t["id"].clone()).collect();
            assert!(!ids.contains(&json!(id)), "revoked token still listed: {ids:?}");
            assert!(works(&app, LOCATOR).await, "the user's other key still works");
        }
        for id in ["abc", "0", "-3", "1.5", "99999999999999999999999"] {
            assert_base(delete(&app, &format!("/api_tokens/{id}"), ADMIN).await, 404, &format!("DELETE /api_tokens/{id}"));
        }
        assert_base(delete(&app, &format!("/api_tokens/{NO_SUCH_ID}"), ADMIN).await, 404, "DELETE unknown token");
        assert_base(post_json(&app, &format!("/users/{NO_SUCH_ID}/api_tokens"), ADMIN, &json!({})).await, 404, "POST token of no user");
        assert_base(get(&app, &format!("/users/{NO_SUCH_ID}/api_tokens"), ADMIN).await, 404, "GET tokens of no user");
        assert_base(get(&app, "/users/abc/api_tokens", ADMIN).await, 404, "GET tokens of a non-numeric id");
    }

    async fn another_accounts_token_is_404_and_keeps_working(db: &TestDatabase) {
        provision(db).await;
        let app = app(db);
        let bo = user_id(&app, OTHER_ADMIN, "bo@other.test").await;
        let theirs = post_json(&app, &format!("/users/{bo}/api_tokens"), OTHER_ADMIN, &json!({})).await.expect(201).json();
        let (id, token) = (theirs["id"].as_i64().unwrap(), theirs["token"].as_str().unwrap().to_string());
        let installed = tokens_of(&app, OTHER_ADMIN, bo).await;
        for prefix in PREFIXES {
            for entry in &installed {
                let uri = format!("{prefix}/api_tokens/{}", entry["id"]);
                assert_base(delete(&app, &uri, ADMIN).await, 404, &format!("DELETE {uri} as acme"));
            }
            assert_base(get(&app, &format!("{prefix}/users/{bo}/api_tokens"), ADMIN).await, 404, "GET other's user tokens");
            assert_base(post_json(&app, &format!("{prefix}/users/{bo}/api_tokens"), ADMIN, &json!({})).await, 404, "POST other's user token");
        }
        assert!(installed.iter().any(|t| t["id"] == json!(id)));
        assert_eq!(tokens_of(&app, OTHER_ADMIN, bo).await.len(), installed.len(), "no token was added or removed");
        assert!(works(&app, &token).await, "the other account's token still works for its owner");
        assert!(works(&app, OTHER_ADMIN).await);
    }

    async fn only_admins_manage_tokens(db: &TestDatabase) {
        provision(db).await;
        let app = app(db);
        let locator = user_id(&app, ADMIN, "lo@acme.test").await;
        let installed = tokens_of(&app, ADMIN, locator).await;
        let token_id = installed[0]["id"].as_i64().unwrap();
        for prefix in PREFIXES {
            for (who, token) in [("manager", MANAGER), ("viewer", VIEWER), ("locator (own tokens)", LOCATOR)] {
                let what = |w: &str| format!("{w} as {who}");
                assert_base(post_json(&app, &format!("{prefix}/users/{locator}/api_tokens"), token, &json!({})).await, 403, &what("POST tokens"));
                assert_base(get(&app, &format!("{prefix}/users/{locator}/api_tokens"), token).await, 403, &what("GET tokens"));
                assert_base(delete(&app, &format!("{prefix}/api_tokens/{token_id}"), token).await, 403, &what("DELETE token"));
            }
        }
        assert_eq!(tokens_of(&app, ADMIN, locator).await.len(), installed.len(), "no token was issued");
        assert!(works(&app, LOCATOR).await, "the token the manager tried to delete still works");
    }

    // ---- 5. Order of checks -----------------------------------------------

    async fn disabled_account_is_402_even_for_missing_resources(db: &TestDatabase) {
        provision(db).await;
        let app = app(db);
        for prefix in PREFIXES {
            let ticket = ticket_path(prefix, NO_SUCH_ID, "NOPE");
            let requests: Vec<(Method, String, &str)> = vec![
                (Method::GET, format!("{prefix}/users"), ""),
                (Method::POST, format!("{prefix}/users"), "{malformed"),
                (Method::PATCH, format!("{prefix}/users/{NO_SUCH_ID}"), "{malformed"),
                (Method::PATCH, format!("{prefix}/users/abc"), ""),
                (Method::GET, format!("{prefix}/users/{NO_SUCH_ID}/api_tokens"), ""),
                (Method::POST, format!("{prefix}/users/{NO_SUCH_ID}/api_tokens"), ""),
                (Method::DELETE, format!("{prefix}/api_tokens/{NO_SUCH_ID}"), ""),
                (Method::GET, ticket.clone(), ""),
                (Method::PATCH, ticket.clone(), "{malformed"),
                (Method::PATCH, format!("{ticket}/close"), ""),
                (Method::POST, format!("{ticket}/ticket_responses"), "[]"),
                (Method::GET, format!("{ticket}/history"), ""),
            ];
            for (method, uri, body) in requests {
                let what = format!("{method} {uri} as the disabled account's admin");
                assert_base(call(&app, method, &uri, FROZEN_ADMIN, body).await, 402, &what);
            }
        }
        // 401 still comes first.
        let resp = send(&app, request(Method::PATCH, &format!("/users/{NO_SUCH_ID}"), None, "{")).await;
        assert_base(resp, 401, "no token");
    }

    async fn missing_resources_are_404_before_403(db: &TestDatabase) {
        provision(db).await;
        let app = app(db);
        let other_user = user_id(&app, OTHER_ADMIN, "bo@other.test").await;
        for prefix in PREFIXES {
            let ticket = ticket_path(prefix, NO_SUCH_ID, "NOPE");
            let requests: Vec<(Method, String, &str)> = vec![
                (Method::PATCH, format!("{prefix}/users/{NO_SUCH_ID}"), "{malformed"),
                (Method::PATCH, format!("{prefix}/users/{other_user}"), "{malformed"),
                (Method::GET, format!("{prefix}/users/{NO_SUCH_ID}/api_tokens"), ""),
                (Method::POST, format!("{prefix}/users/{NO_SUCH_ID}/api_tokens"), ""),
                (Method::DELETE, format!("{prefix}/api_tokens/{NO_SUCH_ID}"), ""),
                (Method::PATCH, ticket.clone(), "{malformed"),
                (Method::PATCH, format!("{ticket}/close"), "{malformed"),
                (Method::PATCH, format!("{ticket}/reopen"), ""),
                (Method::POST, format!("{ticket}/ticket_responses"), "{malformed"),
                (Method::PUT, format!("{ticket}/ticket_responses"), "{malformed"),
            ];
            for (method, uri, body) in requests {
                let what = format!("{method} {uri} as viewer");
                assert_base(call(&app, method, &uri, VIEWER, body).await, 404, &what);
            }
        }
    }

    async fn existing_resources_are_403_before_400(db: &TestDatabase) {
        let f = provision(db).await;
        let app = app(db);
        post_json(&app, "/tickets", ADMIN, &open_ticket(f.center, "T-1")).await.expect(201);
        let before = get(&app, &ticket_path("", f.center, "T-1"), ADMIN).await.expect(200).json();
        let locator = user_id(&app, ADMIN, "lo@acme.test").await;
        let token_id = tokens_of(&app, ADMIN, locator).await[0]["id"].as_i64().unwrap();
        for prefix in PREFIXES {
            let ticket = ticket_path(prefix, f.center, "T-1");
            for body in ["{malformed", "\"just a string\"", "{}"] {
                let requests: Vec<(Method, String)> = vec![
                    (Method::PATCH, format!("{prefix}/users/{locator}")),
                    (Method::PATCH, ticket.clone()),
                    (Method::PATCH, format!("{ticket}/close")),
                    (Method::POST, format!("{ticket}/ticket_responses")),
                    (Method::PUT, format!("{ticket}/ticket_responses")),
                    (Method::POST, format!("{prefix}/users/{locator}/api_tokens")),
                    (Method::DELETE, format!("{prefix}/api_tokens/{token_id}")),
                ];
                for (method, uri) in requests {
                    let what = format!("{method} {uri} {body:?} as viewer");
                    assert_base(call(&app, method, &uri, VIEWER, body).await, 403, &what);
                }
            }
            let reopen = format!("{ticket}/reopen");
            assert_base(call(&app, Method::PATCH, &reopen, VIEWER, "{malformed").await, 403, "reopen as viewer");
        }
        assert_eq!(get(&app, &ticket_path("", f.center, "T-1"), ADMIN).await.expect(200).json(), before);
        assert!(works(&app, LOCATOR).await);
    }

    async fn allowed_callers_get_400_then_422(db: &TestDatabase) {
        let f = provision(db).await;
        let app = app(db);
        post_json(&app, "/tickets", ADMIN, &open_ticket(f.center, "T-1")).await.expect(201);
        let before = get(&app, &ticket_path("", f.center, "T-1"), ADMIN).await.expect(200).json();
        let viewer = user_id(&app, ADMIN, "vi@acme.test").await;
        let users_before = users(&app, ADMIN).await;
        for prefix in PREFIXES {
            let ticket = ticket_path(prefix, f.center, "T-1");
            let user = format!("{prefix}/users/{viewer}");
            // 400: malformed, or without the root key.
            for (method, uri, body) in [
                (Method::PATCH, user.clone(), "{malformed"),
                (Method::PATCH, user.clone(), r#"{"name": "X"}"#),
                (Method::POST, format!("{prefix}/users"), "{malformed"),
                (Method::PATCH, ticket.clone(), "{malformed"),
                (Method::PATCH, ticket.clone(), r#"{"custom_fields": {}}"#),
                (Method::PATCH, format!("{ticket}/close"), "{malformed"),
                (Method::POST, format!("{ticket}/ticket_responses"), "{malformed"),
                (Method::POST, format!("{ticket}/ticket_responses"), r#"{"code": "1B"}"#),
                (Method::PUT, format!("{ticket}/ticket_responses"), r#"{"ticket_response": []}"#),
            ] {
                let what = format!("{method} {uri} {body:?} as admin");
                assert_base(call(&app, method, &uri, ADMIN, body).await, 400, &what);
            }
            // 422: well formed, invalid content.
            assert_invalid(
                patch_json(&app, &user, ADMIN, &json!({"user": {"role": "owner"}})).await,
                json!({"role": ["is not included in the list"]}),
                "PATCH user with a bad role",
            );
            assert_invalid(
                post_json(&app, &format!("{prefix}/users"), ADMIN, &json!({"user": {"name": "X", "email": "x@", "role": "viewer"}})).await,
                json!({"email": ["is invalid"]}),
                "POST user with a bad e-mail",
            );
            assert_invalid(
                patch_json(&app, &ticket, ADMIN, &json!({"ticket": {"custom_fields": {NO_SUCH_ID.to_string(): "x"}}})).await,
                json!({format!("custom_fields[{NO_SUCH_ID}]"): ["is invalid"]}),
                "PATCH ticket with an unknown custom field",
            );
            assert_invalid(
                post_json(&app, &format!("{ticket}/ticket_responses"), ADMIN, &json!({"ticket_response": {"service_area": "EXMPL01"}})).await,
                json!({"code": ["can't be blank"]}),
                "POST a response without a code",
            );
        }
        assert_eq!(get(&app, &ticket_path("", f.center, "T-1"), ADMIN).await.expect(200).json(), before);
        assert_eq!(users(&app, ADMIN).await, users_before);
    }
}
