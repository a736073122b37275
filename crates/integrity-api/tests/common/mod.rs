//! Helpers of the API's integration tests: a provisioned pair of accounts,
//! requests sent in process to `integrity_api::app`, and checks of the
//! documented shapes.

#![allow(dead_code)]

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use integrity_api::{app, AppState};
use integrity_domain::manifest::Manifest;
use integrity_store::testing::TestDatabase;
use serde_json::{json, Value};
use tower::ServiceExt;

pub const ACME_TOKEN: &str = "acme-api-key-0000000001";
pub const ACME_VIEWER_TOKEN: &str = "acme-api-key-0000000002";
pub const OTHER_TOKEN: &str = "other-api-key-000000001";
pub const FROZEN_TOKEN: &str = "frozen-api-key-00000001";
pub const BASE_DOMAIN: &str = "integrity.test";
pub const PREFIXES: [&str; 2] = ["", integrity_api::LEGACY_PREFIX];

/// The provisioning manifest: `acme` with two call centers and custom fields
/// of every kind that carries options, `other` with a call center of the same
/// name (tenant isolation), and `frozen` whose API access is disabled.
pub fn manifest() -> Value {
    json!({"accounts": [
        {"subdomain": "acme", "name": "Acme Locating",
         "users": [
            {"name": "Al Dente", "email": "al@example.com", "role": "admin", "api_tokens": [ACME_TOKEN]},
            {"name": "Vi Ewer", "email": "vi@example.com", "role": "viewer", "api_tokens": [ACME_VIEWER_TOKEN]}],
         "call_centers": [
            {"name": "Georgia 811", "state": "Georgia", "facilities": ["Gas", "Water"],
             "service_areas": [{"code": "EXMPL01", "facilities": ["Gas"]}, {"code": "FOR01"}, {"code": "FOR02"}],
             "response_codes": [
                {"code": "1A", "description": "Marked.", "completes": true},
                {"code": "1B", "description": "Marked: High profile utility in conflict."},
                {"code": "10A", "description": "Large Projects: Meeting Date/Time Accepted.",
                 "ticket_types": ["Large Project"]}]},
            {"name": "Texas 811", "state": "Texas", "facility_required": true, "facilities": ["Gas"],
             "service_areas": [{"code": "TX01"}],
             "response_codes": [{"code": "10", "description": "Clear", "completes": true}]}],
         // Listed out of position order on purpose.
         "custom_fields": [
            {"name": "Notes", "type_id": 2, "position": 5},
            {"name": "Site visit", "type_id": 7, "position": 0},
            {"name": "Pick one", "type_id": 8, "required": true, "call_center": "Georgia 811", "position": 2,
             "options": [{"name": "Option 1"}, {"name": "Option 2"}]},
            {"name": "Area", "type_id": 9, "call_center": "Georgia 811", "position": 1,
             "options": [{"name": "North", "options": [{"name": "North-East"}, {"name": "North-West"}]},
                         {"name": "South"}]},
            {"name": "Crews", "type_id": 10, "position": 3,
             "options": [{"name": "Red"}, {"name": "Blue"}]},
            {"name": "Regions", "type_id": 11, "call_center": "Texas 811", "position": 4,
             "options": [{"name": "Gulf", "options": [{"name": "Houston", "options": [{"name": "Downtown"}]}]}]},
            {"name": "Some date", "type_id": 6, "position": 6}]},
        {"subdomain": "other", "name": "Other Utility",
         "users": [{"name": "Bo", "email": "bo@example.org", "role": "admin", "api_tokens": [OTHER_TOKEN]}],
         "call_centers": [{"name": "Georgia 811", "state": "Georgia", "service_areas": [{"code": "EXMPL01"}]}],
         "custom_fields": [{"name": "Other's field", "type_id": 1}]},
        {"subdomain": "frozen", "name": "Frozen Inc", "api_enabled": false,
         "users": [{"name": "Fr", "email": "fr@example.net", "role": "admin", "api_tokens": [FROZEN_TOKEN]}],
         "call_centers": [{"name": "Georgia 811", "service_areas": [{"code": "EXMPL01"}]}]}
    ]})
}

/// The ids the tests need after provisioning.
pub struct Fixture {
    pub georgia: i64,
    pub texas: i64,
    pub other_georgia: i64,
}

pub async fn provision(db: &TestDatabase) -> Fixture {
    let manifest = Manifest::from_json(&manifest().to_string()).expect("valid manifest");
    db.store.apply(&manifest).await.expect("apply manifest");
    let acme = db
        .store
        .account_by_subdomain("acme")
        .await
        .unwrap()
        .unwrap();
    let other = db
        .store
        .account_by_subdomain("other")
        .await
        .unwrap()
        .unwrap();
    let centers = db.store.call_centers(acme).await.unwrap();
    let other_centers = db.store.call_centers(other).await.unwrap();
    Fixture {
        georgia: centers.iter().find(|c| c.name == "Georgia 811").unwrap().id,
        texas: centers.iter().find(|c| c.name == "Texas 811").unwrap().id,
        other_georgia: other_centers[0].id,
    }
}

/// The application as `serve` builds it, without a base domain.
pub fn api(db: &TestDatabase) -> Router {
    app(AppState {
        store: db.store.clone(),
        base_domain: None,
    })
}

pub fn api_with_base_domain(db: &TestDatabase) -> Router {
    app(AppState {
        store: db.store.clone(),
        base_domain: Some(BASE_DOMAIN.to_string()),
    })
}

/// A response, read whole.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
}

impl Resp {
    /// The body as JSON; panics (naming the body) when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or_else(|e| {
            panic!(
                "{} body is not JSON ({e}): {:?}",
                self.status,
                String::from_utf8_lossy(&self.bytes)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("ASCII header").to_string())
    }

    /// Asserts the status, naming the body when it differs.
    pub fn expect(self, status: u16) -> Resp {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text()
        );
        self
    }

    /// Asserts an error response in the documented shape and returns its
    /// `errors` object.
    pub fn expect_error(self, status: u16) -> serde_json::Map<String, Value> {
        let resp = self.expect(status);
        errors_of(&resp.json())
    }
}

/// The `errors` object of an error body, checked to be attribute → list of
/// strings, with at least one entry.
pub fn errors_of(body: &Value) -> serde_json::Map<String, Value> {
    let object = body
        .as_object()
        .unwrap_or_else(|| panic!("error body is not an object: {body}"));
    assert_eq!(
        object.len(),
        1,
        "error body has keys besides `errors`: {body}"
    );
    let errors = body["errors"]
        .as_object()
        .unwrap_or_else(|| panic!("`errors` is not an object: {body}"))
        .clone();
    assert!(!errors.is_empty(), "`errors` is empty: {body}");
    for (key, messages) in &errors {
        let messages = messages
            .as_array()
            .unwrap_or_else(|| panic!("errors[{key}] is not a list: {body}"));
        assert!(!messages.is_empty(), "errors[{key}] is empty: {body}");
        assert!(
            messages.iter().all(Value::is_string),
            "errors[{key}] holds a non-string: {body}"
        );
    }
    errors
}

/// Asserts the body is `{"errors": {"base": [...]}}`.
pub fn assert_base_error(resp: Resp, status: u16) {
    let errors = resp.expect_error(status);
    assert!(
        errors.contains_key("base"),
        "expected a `base` error, got {errors:?}"
    );
}

pub fn request(
    method: Method,
    uri: &str,
    token: Option<&str>,
    body: impl Into<Body>,
) -> Request<Body> {
    let mut builder = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Token token=\"{token}\""));
    }
    builder.body(body.into()).expect("request")
}

pub async fn send(app: &Router, request: Request<Body>) -> Resp {
    let response = app
        .clone()
        .oneshot(request)
        .await
        .expect("infallible router");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("response body")
        .to_bytes()
        .to_vec();
    Resp {
        status,
        headers,
        bytes,
    }
}

pub async fn get(app: &Router, uri: &str, token: &str) -> Resp {
    send(app, request(Method::GET, uri, Some(token), Body::empty())).await
}

pub async fn post_json(app: &Router, uri: &str, token: &str, body: &Value) -> Resp {
    send(
        app,
        request(Method::POST, uri, Some(token), body.to_string()),
    )
    .await
}

/// `POST /tickets` with `{"ticket": ticket}` as acme.
pub async fn post_ticket(app: &Router, ticket: Value) -> Resp {
    post_json(app, "/tickets", ACME_TOKEN, &json!({ "ticket": ticket })).await
}

pub fn ticket_path(prefix: &str, call_center: impl std::fmt::Display, number: &str) -> String {
    format!("{prefix}/tickets/by_center/{call_center}/by_number/{number}")
}

/// A minimal valid ticket of a call center.
pub fn minimal_ticket(call_center: i64, number: &str) -> Value {
    json!({"ticket_number": number, "call_center": {"id": call_center}})
}

/// A ticket with every field the documentation shows, in the GET shape,
/// with timestamps given in other offsets and precisions than the API
/// writes.
pub fn full_ticket(call_center: i64, number: &str) -> Value {
    json!({
        "ticket_number": number,
        "reference_ticket_number": "06191-281-082",
        "sequence_number": 84,
        "ticket_type": "Normal",
        "ticket_action": "NEW",
        "ticket_source": null,
        "service_area": "EXMPL01",
        "additional_service_areas": ["EXMPL02", "FOR02", "ATL03"],
        "taken_at": "2016-06-29T11:26:47-04:00",
        "work_start_at": "2016-07-03T09:00:00Z",
        "response_due_at": "2016-07-02T06:59:59.5+00:00",
        "remarks": "Re-mark this remark pls",
        "excavator": {
            "type": "Contractor",
            "name": "SHOVEL INC",
            "address": "12 OAK RD, NORCROSS, GA 31235",
            "phone": "9382 23092 33",
            "contact": {"name": "JACK POT", "phone": "7911927565 | Alternate: 89419284", "email": "JACKPOT@EXAMPLE.COM"},
            "alt_contact": {"name": "Bill Ding", "phone": "4129 2142 1922"},
            "caller": {"name": "Corey Ander", "phone": "0981 209 323", "email": ""}
        },
        "work": {
            "type": "replacing damaged handholes",
            "address": "Street Rd, Town, County, GA",
            "nearby_street": "Kings Way",
            "subdivision": "Central Park",
            "done_for": "CITY OF NEW YORK",
            "duration": "3 Days",
            "driving_directions": null,
            "locate_instructions": "locate the left quadrant.",
            "explosives": false,
            "white_painted": false,
            "deeper_than_16_inches": null,
            "overhead": false,
            "tunneling_or_boring": true,
            "area": {"type": "Polygon", "coordinates": [[[-84.1, 33.9], [-84.09, 33.9], [-84.09, 33.91], [-84.1, 33.9]]]}
        },
        "call_center": {"id": call_center},
        "lat": 48.992424,
        "lng": -82.49301288
    })
}

/// The documentation's example ticket (contract §3), the reference for key
/// sets.
pub fn documented_ticket() -> Value {
    json!({
      "id": 8915,
      "ticket_number": "06191-285-085",
      "reference_ticket_number": "06191-281-082",
      "version_number": 0,
      "sequence_number": 84,
      "ticket_type": "Normal",
      "ticket_action": "NEW",
      "ticket_source": null,
      "service_area": "EXMPL01",
      "additional_service_areas": ["EXMPL02", "FOR02", "ATL03"],
      "status": "assigned",
      "created_at": "2016-06-29T15:29:36.947Z",
      "updated_at": "2016-10-11T18:42:16.202Z",
      "closed_at": null,
      "taken_at": "2016-06-29T15:26:47.000Z",
      "work_start_at": "2016-07-03T09:00:00.000Z",
      "response_due_at": "2016-07-02T06:59:59.000Z",
      "remarks": "Re-mark this remark pls",
      "response_status": "not_available",
      "excavator": {
        "type": "Contractor",
        "name": "SHOVEL INC",
        "address": "12 OAK RD, NORCROSS, GA 31235",
        "phone": "9382 23092 33",
        "contact": { "name": "JACK POT", "phone": "7911927565 | Alternate: 89419284", "email": "JACKPOT@EXAMPLE.COM" },
        "alt_contact": { "name": "Bill Ding", "phone": "4129 2142 1922" },
        "caller": { "name": "Corey Ander", "phone": "0981 209 323", "email": "" }
      },
      "work": {
        "type": "replacing damaged handholes",
        "address": "Street Rd, Town, County, GA",
        "nearby_street": "Kings Way",
        "subdivision": "Central Park",
        "done_for": "CITY OF NEW YORK",
        "duration": "3 Days",
        "driving_directions": null,
        "locate_instructions": "locate the left quadrant.",
        "explosives": false,
        "white_painted": false,
        "deeper_than_16_inches": null,
        "overhead": false,
        "tunneling_or_boring": true,
        "area": { "type": "Polygon", "coordinates": [[[-84.1, 33.9], [-84.09, 33.9], [-84.09, 33.91], [-84.1, 33.9]]] }
      },
      "assignee": { "id": 42, "name": "Al Dente" },
      "custom_fields": [
        { "id": 132, "type_id": 7, "name": "Site visit", "value": true },
        { "id": 95, "type_id": 6, "name": "Some date", "value": null }
      ],
      "ticket_responses": [
        { "id": 34, "service_area": "EXMPL01", "facility": null, "code": "1A", "comment": "",
          "status": "pending", "created_at": "2016-10-11T18:42:16.202Z", "updated_at": "2016-10-11T18:42:16.202Z",
          "responded_at": null, "respondent": { "id": 12492, "name": "Jack Pot" } }
      ],
      "call_center": { "id": 8493, "name": "Georgia 811" },
      "lat": 48.992424,
      "lng": -82.49301288
    })
}

pub fn keys(value: &Value) -> BTreeSet<String> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .cloned()
        .collect()
}

/// Asserts `actual` has exactly the keys of `expected`, naming what is
/// missing or extra.
pub fn assert_same_keys(what: &str, actual: &Value, expected: &Value) {
    let (actual, expected) = (keys(actual), keys(expected));
    let missing: Vec<_> = expected.difference(&actual).collect();
    let extra: Vec<_> = actual.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what}: missing keys {missing:?}, unexpected keys {extra:?}"
    );
}

pub fn assert_keys(what: &str, actual: &Value, expected: &[&str]) {
    let expected: Value = Value::Object(
        expected
            .iter()
            .map(|k| (k.to_string(), Value::Null))
            .collect(),
    );
    assert_same_keys(what, actual, &expected);
}

/// `2016-06-29T15:29:36.947Z`: UTC, milliseconds, `Z`.
pub fn is_api_timestamp(text: &str) -> bool {
    let pattern = b"dddd-dd-ddTdd:dd:dd.dddZ";
    text.len() == pattern.len()
        && text.bytes().zip(pattern.iter()).all(|(c, p)| match p {
            b'd' => c.is_ascii_digit(),
            other => c == *other,
        })
}

pub fn assert_timestamp(what: &str, value: &Value) {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("{what} is not a string: {value}"));
    assert!(
        is_api_timestamp(text),
        "{what} is not like 2016-06-29T15:29:36.947Z: {text:?}"
    );
}

/// The ticket numbers of a list response, in order.
pub fn numbers(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|t| {
            t["ticket_number"]
                .as_str()
                .expect("ticket_number")
                .to_string()
        })
        .collect()
}

/// The target of `Link: <…>; rel="next"`, if the response has one.
pub fn next_link(resp: &Resp) -> Option<String> {
    let link = resp.header("link")?;
    let next = link
        .split(',')
        .find(|part| part.contains("rel=\"next\""))
        .unwrap_or_else(|| panic!("Link header without rel=\"next\": {link}"));
    let start = next.find('<').expect("Link target opens with <") + 1;
    let end = next.find('>').expect("Link target closes with >");
    Some(next[start..end].to_string())
}

/// Timestamps of successive changes must differ: wait past the millisecond.
pub fn tick() {
    std::thread::sleep(std::time::Duration::from_millis(5));
}
