//! In-process HTTP tests of working a ticket (`API-CONTRACT.md` §3 and §4):
//! custom field values, close and reopen, responses and auto-close,
//! assignment and routing, history, concurrency, the order of checks and
//! tenant isolation. Every test runs on SQLite and, when
//! `INTEGRITY_TEST_POSTGRES_URL` is set, on PostgreSQL.

#![recursion_limit = "512"]

mod common;

use axum::body::Body;
use axum::http::Method;
use axum::Router;
use common::*;
use integrity_domain::manifest::Manifest;
use integrity_store::test_on_both_backends;
use integrity_store::testing::TestDatabase;
use serde_json::{json, Value};

// ---- Fixture ----------------------------------------------------------------

const ADMIN: &str = "work-admin-token-0000001";
const VIEWER: &str = "work-viewer-token-000001";
const LOCATOR: &str = "work-locator-token-00001";
const BEA: &str = "work-bea-token-000000001";
const INACTIVE: &str = "work-inactive-token-0001";
const OTHER: &str = "work-other-token-0000001";

/// How many service areas the "Bulk 811" center holds (and its tickets name).
const BULK_AREAS: usize = 20;

fn bulk_area(i: usize) -> String {
    format!("SA{i:02}")
}

/// `acme` with three call centers (Georgia: facilities optional, a required
/// custom field, routed service areas; Texas: facilities required, one area
/// with its own facility list; Bulk: twenty areas), custom fields of all
/// eleven types, users of every role and one that `ina_active` decides; and
/// `other`, a second tenant.
fn work_manifest(ina_active: bool) -> Value {
    let bulk_areas: Vec<Value> = (1..=BULK_AREAS)
        .map(|i| json!({"code": bulk_area(i)}))
        .collect();
    json!({"accounts": [
        {"subdomain": "acme", "name": "Acme Locating",
         "users": [
            {"name": "Al Dente", "email": "al@example.com", "role": "admin", "api_tokens": [ADMIN]},
            {"name": "Vi Ewer", "email": "vi@example.com", "role": "viewer", "api_tokens": [VIEWER]},
            {"name": "Lo Cator", "email": "lo@example.com", "role": "locator", "api_tokens": [LOCATOR]},
            {"name": "Bea Signed", "email": "bea@example.com", "role": "locator", "api_tokens": [BEA]},
            {"name": "Ina Ctive", "email": "ina@example.com", "role": "locator", "active": ina_active,
             "api_tokens": [INACTIVE]}],
         "call_centers": [
            {"name": "Georgia 811", "state": "Georgia", "facilities": ["Gas", "Water"],
             "service_areas": [
                {"code": "EXMPL01", "facilities": ["Gas"]}, {"code": "FOR01"}, {"code": "FOR02"},
                {"code": "ROUTE01", "assignee": "bea@example.com"},
                {"code": "ROUTE02", "assignee": "ina@example.com"}],
             "response_codes": [
                {"code": "1A", "description": "Marked.", "completes": true},
                {"code": "1B", "description": "Marked: High profile utility in conflict."},
                {"code": "10A", "description": "Large Projects: Meeting Date/Time Accepted.",
                 "ticket_types": ["Large Project"], "completes": true}]},
            {"name": "Texas 811", "state": "Texas", "facility_required": true,
             "facilities": ["Gas", "Water", "Electric"],
             "service_areas": [{"code": "TX01"}, {"code": "TX02", "facilities": ["Gas"]}],
             "response_codes": [
                {"code": "10", "description": "Clear", "completes": true},
                {"code": "3J", "description": "Not complete"}]},
            {"name": "Bulk 811", "service_areas": bulk_areas,
             "response_codes": [{"code": "C", "description": "Clear", "completes": true}]}],
         "custom_fields": [
            {"name": "Line", "type_id": 1, "position": 0},
            {"name": "Text", "type_id": 2, "position": 1},
            {"name": "Link", "type_id": 3, "position": 2},
            {"name": "Count", "type_id": 4, "position": 3},
            {"name": "Ratio", "type_id": 5, "position": 4},
            {"name": "Day", "type_id": 6, "position": 5},
            {"name": "Flag", "type_id": 7, "position": 6},
            {"name": "Choice", "type_id": 8, "position": 7,
             "options": [{"name": "A"}, {"name": "B"}]},
            {"name": "Cascade", "type_id": 9, "position": 8,
             "options": [{"name": "North", "options": [{"name": "North-East", "options": [{"name": "NE-1"}]},
                                                       {"name": "North-West"}]},
                         {"name": "South"}]},
            {"name": "Multi", "type_id": 10, "position": 9,
             "options": [{"name": "Red"}, {"name": "Blue"}, {"name": "Green"}]},
            {"name": "Cascade multi", "type_id": 11, "position": 10,
             "options": [{"name": "Gulf", "options": [{"name": "Houston", "options": [{"name": "Downtown"}]}]},
                         {"name": "Plains"}]},
            {"name": "Permit", "type_id": 1, "required": true, "call_center": "Georgia 811", "position": 11},
            {"name": "Texas only", "type_id": 7, "call_center": "Texas 811", "position": 12}]},
        {"subdomain": "other", "name": "Other Utility",
         "users": [{"name": "Bo", "email": "bo@example.org", "role": "admin", "api_tokens": [OTHER]}],
         "call_centers": [{"name": "Georgia 811", "state": "Georgia", "facilities": ["Gas"],
                           "service_areas": [{"code": "EXMPL01"}, {"code": "FOR01"}],
                           "response_codes": [{"code": "1A", "completes": true}]}],
         "custom_fields": [{"name": "Theirs", "type_id": 1}]}
    ]})
}

/// Ids the tests need after provisioning.
struct W {
    georgia: i64,
    texas: i64,
    bulk: i64,
    other_georgia: i64,
    /// `{"id", "name"}` of the users.
    al: Value,
    bea: Value,
    locator: Value,
    inactive_id: i64,
    other_user_id: i64,
    /// `GET /custom_fields` as acme.
    fields: Vec<Value>,
    /// The other account's field.
    theirs: i64,
}

impl W {
    fn field_json(&self, name: &str) -> &Value {
        self.fields
            .iter()
            .find(|f| f["name"] == name)
            .unwrap_or_else(|| panic!("no custom field {name}"))
    }

    fn field(&self, name: &str) -> i64 {
        self.field_json(name)["id"].as_i64().expect("field id")
    }

    /// The id of the option at `path` (names from the top) of a field.
    fn option(&self, field: &str, path: &[&str]) -> i64 {
        let mut options = &self.field_json(field)["options"];
        let mut id = None;
        for name in path {
            let node = options
                .as_array()
                .unwrap_or_else(|| panic!("{field}: no options at {name}"))
                .iter()
                .find(|o| o["name"] == *name)
                .unwrap_or_else(|| panic!("{field}: no option {name}"));
            id = node["id"].as_i64();
            options = &node["options"];
        }
        id.expect("option id")
    }
}

async fn user_ref(db: &TestDatabase, token: &str) -> Value {
    let p = db
        .store
        .authenticate(token)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("token {token} authenticates"));
    json!({"id": p.user_id, "name": p.user_name})
}

async fn setup(db: &TestDatabase) -> (Router, W) {
    let apply = |active: bool| {
        let manifest =
            Manifest::from_json(&work_manifest(active).to_string()).expect("valid manifest");
        async move { db.store.apply(&manifest).await.expect("apply manifest") }
    };
    apply(true).await;
    let al = user_ref(db, ADMIN).await;
    let bea = user_ref(db, BEA).await;
    let locator = user_ref(db, LOCATOR).await;
    let inactive_id = user_ref(db, INACTIVE).await["id"].as_i64().unwrap();
    let other_user_id = user_ref(db, OTHER).await["id"].as_i64().unwrap();
    // Same e-mail, same id: the user is now inactive.
    apply(false).await;
    assert!(
        db.store.authenticate(INACTIVE).await.unwrap().is_none(),
        "the user was deactivated"
    );

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
    let center = |name: &str| centers.iter().find(|c| c.name == name).unwrap().id;
    let other_centers = db.store.call_centers(other).await.unwrap();

    let app = api(db);
    let fields = get(&app, "/custom_fields", ADMIN).await.expect(200).json();
    let theirs = get(&app, "/custom_fields", OTHER).await.expect(200).json()[0]["id"]
        .as_i64()
        .unwrap();
    let w = W {
        georgia: center("Georgia 811"),
        texas: center("Texas 811"),
        bulk: center("Bulk 811"),
        other_georgia: other_centers[0].id,
        al,
        bea,
        locator,
        inactive_id,
        other_user_id,
        fields: fields.as_array().unwrap().clone(),
        theirs,
    };
    (app, w)
}

/// Georgia: EXMPL01 and FOR01, FOR02 held; ATL03 not held by the account.
fn georgia_ticket(w: &W, number: &str) -> Value {
    json!({
        "ticket_number": number, "ticket_type": "Normal", "service_area": "EXMPL01",
        "additional_service_areas": ["FOR01", "FOR02", "ATL03"], "call_center": {"id": w.georgia}
    })
}

/// Texas: TX01 (all three facilities), TX02 (Gas only), TX99 not held.
fn texas_ticket(w: &W, number: &str) -> Value {
    json!({
        "ticket_number": number, "ticket_type": "Normal", "service_area": "TX01",
        "additional_service_areas": ["TX02", "TX99"], "call_center": {"id": w.texas}
    })
}

/// Bulk: the first `areas` of the center's service areas.
fn bulk_ticket(w: &W, number: &str, areas: usize) -> Value {
    let additional: Vec<String> = (2..=areas).map(bulk_area).collect();
    json!({
        "ticket_number": number, "service_area": bulk_area(1),
        "additional_service_areas": additional, "call_center": {"id": w.bulk}
    })
}

async fn create(app: &Router, ticket: Value) -> Value {
    post_json(app, "/tickets", ADMIN, &json!({ "ticket": ticket }))
        .await
        .expect(201)
        .json()
}

fn path(center: i64, number: &str) -> String {
    ticket_path("", center, number)
}

async fn call(app: &Router, method: Method, uri: &str, token: &str, body: impl Into<Body>) -> Resp {
    send(app, request(method, uri, Some(token), body)).await
}

async fn patch(app: &Router, uri: &str, token: &str, body: &Value) -> Resp {
    call(app, Method::PATCH, uri, token, body.to_string()).await
}

async fn put(app: &Router, uri: &str, token: &str, body: &Value) -> Resp {
    call(app, Method::PUT, uri, token, body.to_string()).await
}

async fn read(app: &Router, uri: &str) -> Value {
    get(app, uri, ADMIN).await.expect(200).json()
}

async fn history(app: &Router, uri: &str) -> Vec<Value> {
    get(app, &format!("{uri}/history"), ADMIN)
        .await
        .expect(200)
        .json()
        .as_array()
        .expect("history is a list")
        .clone()
}

fn kinds(history: &[Value]) -> Vec<String> {
    history
        .iter()
        .map(|e| e["kind"].as_str().expect("kind").to_string())
        .collect()
}

fn of_kind<'a>(history: &'a [Value], kind: &str) -> Vec<&'a Value> {
    history.iter().filter(|e| e["kind"] == kind).collect()
}

fn fields_body(pairs: &[(i64, Value)]) -> Value {
    let map: serde_json::Map<String, Value> = pairs
        .iter()
        .map(|(id, v)| (id.to_string(), v.clone()))
        .collect();
    json!({"ticket": {"custom_fields": map}})
}

fn value_of(ticket: &Value, field: i64) -> Value {
    ticket["custom_fields"]
        .as_array()
        .unwrap_or_else(|| panic!("custom_fields is not a list: {ticket}"))
        .iter()
        .find(|f| f["id"] == json!(field))
        .unwrap_or_else(|| {
            panic!(
                "field {field} is not on the ticket: {}",
                ticket["custom_fields"]
            )
        })["value"]
        .clone()
}

fn cf(id: impl std::fmt::Display) -> String {
    format!("custom_fields[{id}]")
}

/// `{"errors": {key: [message]}}` for each pair.
fn errors(pairs: &[(String, &str)]) -> Value {
    let mut map = serde_json::Map::new();
    for (key, message) in pairs {
        map.insert(key.clone(), json!([message]));
    }
    json!({ "errors": map })
}

/// Asserts the status and the whole body.
#[track_caller]
fn assert_error(what: &str, resp: Resp, status: u16, expected: Value) {
    assert_eq!(resp.status.as_u16(), status, "{what}: body {}", resp.text());
    assert_eq!(resp.json(), expected, "{what}");
}

fn response_body(area: &str, code: &str, facility: Option<&str>, comment: &str) -> Value {
    let mut r = json!({"service_area": area, "code": code, "comment": comment});
    if let Some(f) = facility {
        r["facility"] = json!(f);
    }
    r
}

async fn respond(app: &Router, uri: &str, token: &str, r: Value) -> Resp {
    post_json(
        app,
        &format!("{uri}/ticket_responses"),
        token,
        &json!({ "ticket_response": r }),
    )
    .await
}

/// Posts a response that must be accepted; returns the ticket after it.
async fn respond_ok(
    app: &Router,
    uri: &str,
    area: &str,
    code: &str,
    facility: Option<&str>,
) -> Value {
    respond(app, uri, ADMIN, response_body(area, code, facility, ""))
        .await
        .expect(200);
    read(app, uri).await
}

/// `(service_area, facility, code)` of each response, sorted.
fn pairs(responses: &Value) -> Vec<(String, Option<String>, String)> {
    let mut out: Vec<_> = responses
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {responses}"))
        .iter()
        .map(|r| {
            (
                r["service_area"].as_str().unwrap().to_string(),
                r["facility"].as_str().map(str::to_string),
                r["code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

fn triple(area: &str, facility: Option<&str>, code: &str) -> (String, Option<String>, String) {
    (
        area.to_string(),
        facility.map(str::to_string),
        code.to_string(),
    )
}

const RESPONSE_KEYS: [&str; 10] = [
    "id",
    "service_area",
    "facility",
    "code",
    "comment",
    "status",
    "created_at",
    "updated_at",
    "responded_at",
    "respondent",
];

test_on_both_backends! {
    // ---- 1. Custom field values ---------------------------------------------

    async fn the_documented_patch_example(db: &TestDatabase) {
        let (app, w) = setup(db).await;
        let (flag, day) = (w.field("Flag"), w.field("Day"));
        for (i, prefix) in PREFIXES.iter().enumerate() {
            let number = format!("DOC-{i}");
            create(&app, georgia_ticket(&w, &number)).await;
            let uri = ticket_path(prefix, w.georgia, &number);
            let before = read(&app, &uri).await;
            let body = json!({"ticket": {"custom_fields": {flag.to_string(): "1", day.to_string(): "7"}}});
            assert_error(
                "documented example",
                patch(&app, &uri, ADMIN, &body).await,
                422,
                errors(&[(cf(day), "is invalid")]),
            );
            assert_eq!(read(&app, &uri).await, before, "nothing changed, not even the valid boolean");
            tick();

            let body = json!({"ticket": {"custom_fields": {flag.to_string(): "1", day.to_string(): "2016-07-03"}}});
            let t = patch(&app, &uri, ADMIN, &body).await.expect(200).json();
            assert_eq!(value_of(&t, flag), json!(true));
            assert_eq!(value_of(&t, day), json!("2016-07-03"));
            assert_eq!(t["id"], before["id"]);
            assert_ne!(t["updated_at"], before["updated_at"], "a change touches the ticket");
            assert_same_keys("PATCH answers the whole ticket", &t, &documented_ticket());
            assert_eq!(read(&app, &uri).await, t, "PATCH answers the ticket as GET shows it");
        }
    }

    async fn patch_accepts_every_field_type_and_answers_typed_values(db: &TestDatabase) {
        let (app, w) = setup(db).await;
        create(&app, georgia_ticket(&w, "CF-1")).await;
        let uri = path(w.georgia, "CF-1");
        let fresh = read(&app, &uri).await;
        let names: Vec<&str> = fresh["custom_fields"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
        assert_eq!(
            names,
            ["Line", "Text", "Link", "Count", "Ratio", "Day", "Flag", "Choice", "Cascade", "Multi", "Cascade multi", "Permit"],
            "common fields and Georgia's, not Texas'"
        );

        let b = w.option("Choice", &["B"]);
        let a = w.option("Choice", &["A"]);
        let ne1 = w.option("Cascade", &["North", "North-East", "NE-1"]);
        let north_west = w.option("Cascade", &["North", "North-West"]);
        let south = w.option("Cascade", &["South"]);
        let (red, blue, green) = (w.option("Multi", &["Red"]), w.option("Multi", &["Blue"]), w.option("Multi", &["Green"]));
        let downtown = w.option("Cascade multi", &["Gulf", "Houston", "Downtown"]);
        let houston = w.option("Cascade multi", &["Gulf", "Houston"]);
        let plains = w.option("Cascade multi", &["Plains"]);

        // Form strings.
        let strings: Vec<(&str, Value, Value)> = vec![
            ("Line", json!("abc def"), json!("abc def")),
            ("Text", json!("line 1\nline 2"), json!("line 1\nline 2")),
            ("Link", json!("https://example.com/a?b=1"), json!("https://example.com/a?b=1")),
            ("Count", json!("7"), json!(7)),
            ("Ratio", json!("2.5"), json!(2.5)),
            ("Day", json!("2016-07-03"), json!("2016-07-03")),
            ("Flag", json!("1"), json!(true)),
            ("Choice", json!(b.to_string()), json!(b)),
            ("Cascade", json!(ne1.to_string()), json!(ne1)),
            ("Multi", json!([red.to_string(), blue.to_string()]), json!([red, blue])),
            ("Cascade multi", json!([downtown.to_string(), plains.to_string()]), json!([downtown, plains])),
            ("Permit", json!("P-1"), json!("P-1")),
        ];
        // Typed JSON, other values.
        let typed: Vec<(&str, Value, Value)> = vec![
            ("Line", json!("x"), json!("x")),
            ("Link", json!("http://example.org"), json!("http://example.org")),
            ("Count", json!(-12), json!(-12)),
            ("Ratio", json!(7), json!(7.0)),
            ("Day", json!("2016-02-29"), json!("2016-02-29")),
            ("Flag", json!(false), json!(false)),
            ("Choice", json!(a), json!(a)),
            ("Cascade", json!(south), json!(south)),
            ("Multi", json!([green]), json!([green])),
            ("Cascade multi", json!([houston]), json!([houston])),
        ];
        // More string forms.
        let more: Vec<(&str, Value, Value)> = vec![
            ("Flag", json!("true"), json!(true)),
            ("Count", json!("+7"), json!(7)),
            ("Cascade", json!(north_west), json!(north_west)),
        ];
        for (round, cases) in [strings, typed, more].into_iter().enumerate() {
            let body = fields_body(&cases.iter().map(|(n, raw, _)| (w.field(n), raw.clone())).collect::<Vec<_>>());
            let t = patch(&app, &uri, ADMIN, &body).await.expect(200).json();
            let read_back = read(&app, &uri).await;
            assert_eq!(read_back, t, "round {round}: PATCH answers what GET shows");
            for (name, raw, expected) in &cases {
                assert_eq!(value_of(&t, w.field(name)), *expected, "round {round}: {name} sent as {raw}");
            }
            assert_eq!(t["status"], "unassigned", "values do not change the status");
        }
    }

    async fn invalid_values_name_the_field_and_the_rails_message(db: &TestDatabase) {
        let (app, w) = setup(db).await;
        create(&app, georgia_ticket(&w, "BAD-1")).await;
        let uri = path(w.georgia, "BAD-1");
        // Some values set, so that "unchanged" means something.
        let (flag, day, count) = (w.field("Flag"), w.field("Day"), w.field("Count"));
        patch(&app, &uri, ADMIN, &fields_body(&[(flag, json!(true)), (day, json!("2016-07-03")), (count, json!(3))]))
            .await
            .expect(200);
        let before = read(&app, &uri).await;
        let history_before = history(&app, &uri).await;

        let red = w.option("Multi", &["Red"]);
        let ne1 = w.option("Cascade", &["North", "North-East", "NE-1"]);
        let downtown = w.option("Cascade multi", &["Gulf", "Houston", "Downtown"]);
        let b = w.option("Choice", &["B"]);
        const INVALID: &str = "is invalid";
        const NOT_IN_LIST: &str = "is not included in the list";
        const NAN: &str = "is not a number";
        let cases: Vec<(&str, Value, &str)> = vec![
            ("Line", json!("a\nb"), INVALID),
            ("Line", json!("x".repeat(256)), "is too long (maximum is 255 characters)"),
            ("Line", json!(7), INVALID),
            ("Text", json!("x".repeat(65_536)), "is too long (maximum is 65535 characters)"),
            ("Text", json!(["a"]), INVALID),
            ("Link", json!("ftp://example.com"), INVALID),
            ("Link", json!("example.com"), INVALID),
            ("Link", json!("http://"), INVALID),
            ("Count", json!("7.5"), "must be an integer"),
            ("Count", json!(7.5), "must be an integer"),
            ("Count", json!("abc"), NAN),
            ("Count", json!("99999999999999999999"), NAN),
            ("Ratio", json!("abc"), NAN),
            ("Ratio", json!("NaN"), NAN),
            ("Ratio", json!(true), NAN),
            ("Day", json!("7"), INVALID),
            ("Day", json!("2016-02-30"), INVALID),
            ("Day", json!("2016-7-3"), INVALID),
            ("Day", json!("03/07/2016"), INVALID),
            ("Flag", json!("yes"), INVALID),
            ("Flag", json!(2), INVALID),
            ("Choice", json!(999_999_999), NOT_IN_LIST),
            ("Choice", json!(red), NOT_IN_LIST),
            ("Choice", json!("B"), INVALID),
            ("Choice", json!([b]), INVALID),
            ("Cascade", json!(999_999_999), NOT_IN_LIST),
            ("Cascade", json!(downtown), NOT_IN_LIST),
            ("Cascade", json!("North"), INVALID),
            ("Multi", json!(red), INVALID),
            ("Multi", json!([red, 999_999_999]), NOT_IN_LIST),
            ("Multi", json!([ne1]), NOT_IN_LIST),
            ("Multi", json!([red, "Red"]), INVALID),
            ("Cascade multi", json!([downtown, "x"]), INVALID),
            ("Cascade multi", json!([999_999_999]), NOT_IN_LIST),
            ("Cascade multi", json!(downtown), INVALID),
            ("Permit", json!("a\r\nb"), INVALID),
        ];
        for (name, raw, message) in &cases {
            let id = w.field(name);
            let shown: String = raw.to_string().chars().take(40).collect();
            assert_error(
                &format!("{name} = {shown}"),
                patch(&app, &uri, ADMIN, &fields_body(&[(id, raw.clone())])).await,
                422,
                errors(&[(cf(id), message)]),
            );
        }
        // Several bad values: each is named.
        assert_error(
            "two bad values",
            patch(&app, &uri, ADMIN, &fields_body(&[(day, json!("7")), (count, json!("x"))])).await,
            422,
            errors(&[(cf(count), NAN), (cf(day), INVALID)]),
        );
        assert_eq!(read(&app, &uri).await, before, "no refused value was stored");
        assert_eq!(history(&app, &uri).await, history_before, "no refused value was recorded");
    }

    async fn fields_that_do_not_apply_to_the_ticket_are_invalid(db: &TestDatabase) {
        let (app, w) = setup(db).await;
        create(&app, georgia_ticket(&w, "NA-1")).await;
        let uri = path(w.georgia, "NA-1");
        let before = read(&app, &uri).await;
        let texas_only = w.field("Texas only");
        for (key, what) in [
            (texas_only.to_string(), "a field of another call center"),
            ("999999999".to_string(), "a field that does not exist"),
            (w.theirs.to_string(), "another account's field"),
            ("abc".to_string(), "a key that is no id"),
        ] {
            let body = json!({"ticket": {"custom_fields": {key.clone(): "1"}}});
            assert_error(what, patch(&app, &uri, ADMIN, &body).await, 422, errors(&[(cf(&key), "is invalid")]));
        }
        assert_eq!(read(&app, &uri).await, before);
        // The Texas field does apply to a Texas ticket.
        create(&app, texas_ticket(&w, "NA-2")).await;
        let t = patch(&app, &path(w.texas, "NA-2"), ADMIN, &fields_body(&[(texas_only, json!("1"))])).await.expect(200).json();
        assert_eq!(value_of(&t, texas_only), json!(true));
    }

    async fn null_and_empty_string_clear_values(db: &TestDatabase) {
        let (app, w) = setup(db).await;
        create(&app, georgia_ticket(&w, "CLR-1")).await;
        let uri = path(w.georgia, "CLR-1");
        let red = w.option("Multi", &["Red"]);
        let plains = w.option("Cascade multi", &["Plains"]);
        let b = w.option("Choice", &["B"]);
        let south = w.option("Cascade", &["South"]);
        let values: Vec<(&str, Value)> = vec![
            ("Line", json!("abc")), ("Text", json!("t")), ("Link", json!("https://example.com")),
            ("Count", json!(1)), ("Ratio", json!(1.5)), ("Day", json!("2016-07-03")), ("Flag", json!(true)),
            ("Choice", json!(b)), ("Cascade", json!(south)), ("Multi", json!([red])),
            ("Cascade multi", json!([plains])), ("Permit", json!("P")),
        ];
        let set = fields_body(&values.iter().map(|(n, v)| (w.field(n), v.clone())).collect::<Vec<_>>());
        let t = patch(&app, &uri, ADMIN, &set).await.expect(200).json();
        for (name, v) in &values {
            assert_eq!(value_of(&t, w.field(name)), *v, "{name} set");
        }
        // Every other one by null, the rest by "".
        let clear: Vec<(i64, Value)> = values
            .iter()
            .enumerate()
            .map(|(i, (n, _))| (w.field(n), if i % 2 == 0 { Value::Null } else { json!("") }))
            .collect();
        let t = patch(&app, &uri, ADMIN, &fields_body(&clear)).await.expect(200).json();
        for (name, _) in &values {
            assert_eq!(value_of(&t, w.field(name)), Value::Null, "{name} cleared");
        }
        assert_eq!(read(&app, &uri).await, t);
        // And the other way round.
        patch(&app, &uri, ADMIN, &set).await.expect(200);
        let clear: Vec<(i64, Value)> = values
            .iter()
            .enumerate()
            .map(|(i, (n, _))| (w.field(n), if i % 2 == 1 { Value::Null } else { json!("") }))
            .collect();
        let t = patch(&app, &uri, ADMIN, &fields_body(&clear)).await.expect(200).json();
        for (name, _) in &values {
            assert_eq!(value_of(&t, w.field(name)), Value::Null, "{name} cleared");
        }
    }

    async fn one_bad_value_among_good_ones_changes_nothing(db: &TestDatabase) {
        let (app, w) = setup(db).await;
        create(&app, georgia_ticket(&w, "AON-1")).await;
        let uri = path(w.georgia, "AON-1");
        let (line, count, flag, day, multi) = (w.field("Line"), w.field("Count"), w.field("Flag"), w.field("Day"), w.field("Multi"));
        let red = w.option("Multi", &["Red"]);
        patch(&app, &uri, ADMIN, &fields_body(&[(line, json!("old")), (count, json!(1))])).await.expect(200);
        tick();
        let before = read(&app, &uri).await;
        let history_before = history(&app, &uri).await;
        let body = fields_body(&[
            (line, json!("new")),
            (count, json!(2)),
            (flag, json!("1")),
            (multi, json!([red])),
            (day, json!("2016-13-01")),
        ]);
        assert_error("one bad value", patch(&app, &uri, ADMIN, &body).await, 422, errors(&[(cf(day), "is invalid")]));
        // A bad assignee among good values.
        let body = json!({"ticket": {"custom_fields": {line.to_string(): "new"}, "assignee_id": 999_999_999}});
        assert_error("bad assignee", patch(&app, &uri, ADMIN, &body).await, 422, errors(&[("assignee_id".into(), "is invalid")]));
        let after = read(&app, &uri).await;
        assert_eq!(after, before, "nothing changed, updated_at included");
        assert_eq!(value_of(&after, line), json!("old"));
        assert_eq!(value_of(&after, count), json!(1));
        assert_eq!(value_of(&after, flag), Value::Null);
        assert_eq!(history(&app, &uri).await, history_before);
    }

    // ---- 2. Close and reopen -----------------------------------------------

    async fn close_checks_required_fields_and_applies_its_body_in_one_transaction(db: &TestDatabase) {
        let (app, w) = setup(db).await;
        create(&app, georgia_ticket(&w, "CL-1")).await;
        let uri = path(w.georgia, "CL-1");
        let close = format!("{uri}/close");
        let (permit, flag, day) = (w.field("Permit"), w.field("Flag"), w.field("Day"));
        let before = read(&app, &uri).await;
        let blank = errors(&[(cf(permit), "can't be blank")]);

        assert_error("no body", call(&app, Method::PATCH, &close, ADMIN, Body::empty()).await, 422, blank.clone());
        assert_error(
            "a body without the required field",
            patch(&app, &close, ADMIN, &fields_body(&[(flag, json!("1"))])).await,
            422,
            blank.clone(),
        );
        assert_error(
            "the required field sent blank",
            patch(&app, &close, ADMIN, &fields_body(&[(permit, json!("")), (flag, json!("1"))])).await,
            422,
            blank.clone(),
        );
        assert_error(
            "the required field set, another value invalid",
            patch(&app, &close, ADMIN, &fields_body(&[(permit, json!("P-1")), (day, json!("7"))])).await,
            422,
            errors(&[(cf(day), "is invalid")]),
        );
        assert_eq!(read(&app, &uri).await, before, "no refused close changed anything, values included");

        let closed = patch(&app, &close, ADMIN, &fields_body(&[(permit, json!("P-1")), (flag, json!("1"))]))
            .await
            .expect(200)
            .json();
        assert_eq!(closed["status"], "closed");
        assert_timestamp("closed_at", &closed["closed_at"]);
        assert_eq!(value_of(&closed, permit), json!("P-1"));
        assert_eq!(value_of(&closed, flag), json!(true));
        assert_same_keys("close answers the whole ticket", &closed, &documented_ticket());
        assert_eq!(read(&app, &uri).await, closed);

        // Closing a closed ticket is a transition that cannot happen; its
        // values are not applied either.
        assert_error(
            "close on closed",
            call(&app, Method::PATCH, &close, ADMIN, Body::empty()).await,
            422,
            errors(&[("status".into(), "is already closed")]),
        );
        assert_error(
            "close on closed with a body",
            patch(&app, &close, ADMIN, &fields_body(&[(flag, json!("0"))])).await,
            422,
            errors(&[("status".into(), "is already closed")]),
        );
        assert_eq!(read(&app, &uri).await, closed);
    }

    async fn close_refuses_to_clear_a_required_field_and_closes_without_body_when_set(db: &TestDatabase) {
        let (app, w) = setup(db).await;
        create(&app, georgia_ticket(&w, "CL-2")).await;
        let uri = path(w.georgia, "CL-2");
        let close = format!("{uri}/close");
        let permit = w.field("Permit");
        patch(&app, &uri, ADMIN, &fields_body(&[(permit, json!("P-9"))])).await.expect(200);
        let before = read(&app, &uri).await;
        assert_error(
            "clearing the required field while closing",
            patch(&app, &close, ADMIN, &fields_body(&[(permit, Value::Null)])).await,
            422,
            errors(&[(cf(permit), "can't be blank")]),
        );
        assert_eq!(read(&app, &uri).await, before);
        let closed = call(&app, Method::PATCH, &close, ADMIN, Body::empty()).await.expect(200).json();
        assert_eq!(closed["status"], "closed");
        assert_eq!(value_of(&closed, permit), json!("P-9"));
        // A ticket of a center without required fields closes without a body.
        create(&app, texas_ticket(&w, "CL-3")).await;
        let t = call(&app, Method::PATCH, &format!("{}/close", path(w.texas, "CL-3")), ADMIN, Body::empty())
            .await
            .expect(200)
            .json();
        assert_eq!(t["status"], "closed");
        assert_timestamp("closed_at", &t["closed_at"]);
    }

    async fn reopen_goes_back_to_unassigned_or_assigned(db: &TestDatabase) {
        let (app, w) = setup(db).await;
        let permit = w.field("Permit");
        for (number, assignee) in [("RO-1", Value::Null), ("RO-2", w.bea.clone())] {
            create(&app, georgia_ticket(&w, number)).await;
            let uri = path(w.georgia, number);
            let mut body = fields_body(&[(permit, json!("P"))]);
            body["ticket"]["assignee_id"] = assignee["id"].clone();
            let t = patch(&app, &uri, ADMIN, &body).await.expect(200).json();
            let open_status = if assignee.is_null() { "unassigned" } else { "assigned" };
            assert_eq!(t["status"], open_status, "{number}");

            let reopen = format!("{uri}/reopen");
            assert_error(
                "reopen on an open ticket",
                call(&app, Method::PATCH, &reopen, ADMIN, Body::empty()).await,
                422,
                errors(&[("status".into(), "is not closed")]),
            );
            assert_eq!(read(&app, &uri).await, t);

            let closed = call(&app, Method::PATCH, &format!("{uri}/close"), ADMIN, Body::empty()).await.expect(200).json();
            assert_eq!(closed["status"], "closed");
            assert_eq!(closed["assignee"], assignee, "closing keeps the assignee");

            let reopened = call(&app, Method::PATCH, &reopen, ADMIN, Body::empty()).await.expect(200).json();
            assert_eq!(reopened["status"], open_status, "{number}");
            assert_eq!(reopened["closed_at"], Value::Null);
            assert_eq!(reopened["assignee"], assignee);
            assert_eq!(value_of(&reopened, permit), json!("P"));
            assert_eq!(read(&app, &uri).await, reopened);

            assert_error(
                "reopen twice",
                call(&app, Method::PATCH, &reopen, ADMIN, Body::empty()).await,
                422,
                errors(&[("status".into(), "is not closed")]),
            );
        }
    }

    // ---- 3. Responses ------------------------------------------------------

    async fn a_response_is_created_then_updated_for_its_pair(db: &TestDatabase) {
        let (app, w) = setup(db).await;
        create(&app, georgia_ticket(&w, "R-1")).await;
        let uri = path(w.georgia, "R-1");
        let r = respond(&app, &uri, ADMIN, response_body("FOR01", "1B", Some("Water"), "Resolved")).await.expect(200).json();
        assert_keys("response", &r, &RESPONSE_KEYS);
        assert!(r["id"].is_i64(), "{r}");
        assert_eq!(r["service_area"], "FOR01");
        assert_eq!(r["facility"], "Water");
        assert_eq!(r["code"], "1B");
        assert_eq!(r["comment"], "Resolved");
        assert_eq!(r["status"], "pending");
        assert_timestamp("created_at", &r["created_at"]);
        assert_timestamp("updated_at", &r["updated_at"]);
        assert_eq!(r["responded_at"], Value::Null);
        assert_eq!(r["respondent"], w.al, "the respondent is the token's user");

        let t = read(&app, &uri).await;
        assert_eq!(t["ticket_responses"], json!([r.clone()]));
        assert_eq!(t["response_status"], "not_available", "the relay is off");
        assert_eq!(t["status"], "unassigned");

        tick();
        // The same pair, by another user: the same response, updated.
        let u = respond(&app, &uri, LOCATOR, response_body("FOR01", "1A", Some("Water"), "Done")).await.expect(200).json();
        assert_eq!(u["id"], r["id"]);
        assert_eq!(u["code"], "1A");
        assert_eq!(u["comment"], "Done");
        assert_eq!(u["created_at"], r["created_at"]);
        assert_ne!(u["updated_at"], r["updated_at"]);
        assert_eq!(u["status"], "pending");
        assert_eq!(u["respondent"], w.locator);

        // Another facility of the same area is another pair; no facility too.
        let gas = respond(&app, &uri, ADMIN, response_body("FOR01", "1B", Some("Gas"), "")).await.expect(200).json();
        let none = respond(&app, &uri, ADMIN, json!({"service_area": "FOR01", "code": "1B"})).await.expect(200).json();
        assert_ne!(gas["id"], r["id"]);
        assert_ne!(none["id"], r["id"]);
        assert_ne!(none["id"], gas["id"]);
        assert_eq!(none["facility"], Value::Null);
        assert_eq!(none["comment"], "");
        let t = read(&app, &uri).await;
        assert_eq!(
            pairs(&t["ticket_responses"]),
            [triple("FOR01", None, "1B"), triple("FOR01", Some("Gas"), "1B"), triple("FOR01", Some("Water"), "1A")]
        );
        // A 10A is accepted on a Large Project ticket.
        let mut large = georgia_ticket(&w, "R-2");
        large["ticket_type"] = json!("Large Project");
        create(&app, large).await;
        let r = respond(&app, &path(w.georgia, "R-2"), ADMIN, response_body("FOR01", "10A", None, "")).await.expect(200).json();
        assert_eq!(r["code"], "10A");
    }

    async fn responses_are_validated_with_plain_keys(db: &TestDatabase) {
        let (app, w) = setup(db).await;
        create(&app, georgia_ticket(&w, "RV-1")).await;
        let uri = path(w.georgia, "RV-1");
        respond(&app, &uri, ADMIN, response_body("FOR01", "1B", None, "")).await.expect(200);
        let before = read(&app, &uri).await;
        let blank = "can't be blank";
        let not_in = "is not included in the list";
        let cases: Vec<(&str, Value, Value)> = vec![
            ("no code", json!({"service_area": "FOR01"}), errors(&[("code".into(), blank)])),
            ("blank code", json!({"service_area": "FOR01", "code": "  "}), errors(&[("code".into(), blank)])),
            ("no service area", json!({"code": "1A"}), errors(&[("service_area".into(), blank)])),
            ("empty", json!({}), errors(&[("code".into(), blank), ("service_area".into(), blank)])),
            ("an area on the ticket the account does not hold", json!({"service_area": "ATL03", "code": "1A"}),
             errors(&[("service_area".into(), not_in)])),
            ("an area the account holds, not on the ticket", json!({"service_area": "ROUTE01", "code": "1A"}),
             errors(&[("service_area".into(), not_in)])),
            ("an area of another center", json!({"service_area": "TX01", "code": "1A"}),
             errors(&[("service_area".into(), not_in)])),
            ("unknown code", json!({"service_area": "FOR01", "code": "9Z"}), errors(&[("code".into(), not_in)])),
            ("a code of another center", json!({"service_area": "FOR01", "code": "10"}), errors(&[("code".into(), not_in)])),
            ("a code restricted to another ticket type", json!({"service_area": "FOR01", "code": "10A"}),
             errors(&[("code".into(), not_in)])),
            ("a facility the center lacks", json!({"service_area": "FOR01", "code": "1A", "facility": "Steam"}),
             errors(&[("facility".into(), not_in)])),
            ("a facility of another center", json!({"service_area": "FOR01", "code": "1A", "facility": "Electric"}),
             errors(&[("facility".into(), not_in)])),
            ("everything wrong", json!({"service_area": "ATL03", "code": "9Z", "facility": "Steam"}),
             errors(&[("code".into(), not_in), ("facility".into(), not_in), ("service_area".into(), not_in)])),
        ];
        for (what, r, expected) in cases {
            assert_error(what, respond(&app, &uri, ADMIN, r).await, 422, expected);
        }
        assert_eq!(read(&app, &uri).await, before, "no refused response was stored");
    }

    async fn a_facility_is_required_where_the_center_requires_it(db: &TestDatabase) {
        let (app, w) = setup(db).await;
        create(&app, texas_ticket(&w, "TXR-1")).await;
        let uri = path(w.texas, "TXR-1");
        for r in [json!({"service_area": "TX01", "code": "10"}), json!({"service_area": "TX01", "code": "10", "facility": ""})] {
            assert_error(
                "no facility in Texas",
                respond(&app, &uri, ADMIN, r).await,
                422,
                errors(&[("facility".into(), "can't be blank")]),
            );
        }
        assert_error(
            "a facility Texas lacks",
            respond(&app, &uri, ADMIN, response_body("TX01", "10", Some("Steam"), "")).await,
            422,
            errors(&[("facility".into(), "is not included in the list")]),
        );
        assert_eq!(read(&app, &uri).await["ticket_responses"], json!([]));
        let r = respond(&app, &uri, ADMIN, response_body("TX01", "3J", Some("Gas"), "")).await.expect(200).json();
        assert_eq!(r["facility"], "Gas");
    }

    async fn response_bodies_without_their_root_key_are_400(db: &TestDatabase) {
        let (app, w) = setup(db).await;
        create(&app, georgia_ticket(&w, "RK-1")).await;
        let uri = path(w.georgia, "RK-1");
        let responses = format!("{uri}/ticket_responses");
        let before = read(&app, &uri).await;
        for body in [
            json!({"service_area": "FOR01", "code": "1A"}),
            json!({"ticket_responses": [{"service_area": "FOR01", "code": "1A"}]}),
            json!({"ticket_response": null}),
        ] {
            let resp = post_json(&app, &responses, ADMIN, &body).await;
            assert_eq!(resp.status.as_u16(), 400, "POST {body}: {}", resp.text());
            assert_base_error(resp, 400);
        }
        assert_base_error(call(&app, Method::POST, &responses, ADMIN, Body::empty()).await, 400);
        for body in [
            json!([{"service_area": "FOR01", "code": "1A"}]),
            json!({"ticket_response": {"service_area": "FOR01", "code": "1A"}}),
            json!({"ticket_responses": null}),
        ] {
            let resp = put(&app, &responses, ADMIN, &body).await;
            assert_eq!(resp.status.as_u16(), 400, "PUT {body}: {}", resp.text());
            assert_base_error(resp, 400);
        }
        assert_base_error(call(&app, Method::PUT, &responses, ADMIN, Body::empty()).await, 400);
        assert_eq!(read(&app, &uri).await, before);
    }

    async fn put_replaces_the_whole_set(db: &TestDatabase) {
        let (app, w) = setup(db).await;
        create(&app, georgia_ticket(&w, "PUT-1")).await;
        let uri = path(w.georgia, "PUT-1");
        let responses = format!("{uri}/ticket_responses");
        let water = respond(&app, &uri, ADMIN, response_body("FOR01", "1B", Some("Water"), "first")).await.expect(200).json();
        respond(&app, &uri, ADMIN, response_body("FOR02", "1B", None, "")).await.expect(200);
        tick();

        let body = json!({"ticket_responses": [
            response_body("FOR01", "1B", Some("Water"), "Resolved"),
            {"service_area": "EXMPL01", "code": "1B"},
        ]});
        let list = put(&app, &responses, LOCATOR, &body).await.expect(200).json();
        let items = list.as_array().expect("PUT answers the array of responses");
        assert_eq!(items.len(), 2, "{list}");
        for item in items {
            assert_keys("response", item, &RESPONSE_KEYS);
            assert_eq!(item["status"], "pending");
            assert_eq!(item["responded_at"], Value::Null);
            assert_eq!(item["respondent"], w.locator, "{item}");
        }
        assert_eq!(pairs(&list), [triple("EXMPL01", None, "1B"), triple("FOR01", Some("Water"), "1B")]);
        let kept = items.iter().find(|r| r["service_area"] == "FOR01").unwrap();
        assert_eq!(kept["id"], water["id"], "a listed pair keeps its response");
        assert_eq!(kept["comment"], "Resolved");
        let fresh = items.iter().find(|r| r["service_area"] == "EXMPL01").unwrap();
        assert_eq!(fresh["facility"], Value::Null);
        assert_eq!(fresh["comment"], "");

        let t = read(&app, &uri).await;
        assert_eq!(pairs(&t["ticket_responses"]), pairs(&list), "FOR02 was removed");
        assert_eq!(t["status"], "unassigned");

        // An empty list removes them all.
        let empty = put(&app, &responses, ADMIN, &json!({"ticket_responses": []})).await.expect(200).json();
        assert_eq!(empty, json!([]));
        assert_eq!(read(&app, &uri).await["ticket_responses"], json!([]));
    }

    async fn put_with_one_bad_entry_changes_nothing(db: &TestDatabase) {
        let (app, w) = setup(db).await;
        create(&app, georgia_ticket(&w, "PUT-2")).await;
        let uri = path(w.georgia, "PUT-2");
        let responses = format!("{uri}/ticket_responses");
        respond(&app, &uri, ADMIN, response_body("FOR01", "1B", Some("Water"), "")).await.expect(200);
        respond(&app, &uri, ADMIN, response_body("FOR02", "1B", None, "")).await.expect(200);
        tick();
        let before = read(&app, &uri).await;
        let history_before = history(&app, &uri).await;
        let cases: Vec<(&str, Value, Value)> = vec![
            ("an unknown code", json!([
                {"service_area": "EXMPL01", "code": "1A"},
                {"service_area": "FOR01", "code": "1A"},
                {"service_area": "FOR02", "code": "9Z"}]),
             errors(&[("code".into(), "is not included in the list")])),
            ("a missing code", json!([{"service_area": "EXMPL01", "code": "1A"}, {"service_area": "FOR01"}]),
             errors(&[("code".into(), "can't be blank")])),
            ("an area not held", json!([{"service_area": "EXMPL01", "code": "1A"}, {"service_area": "ATL03", "code": "1A"}]),
             errors(&[("service_area".into(), "is not included in the list")])),
        ];
        for (what, list, expected) in cases {
            assert_error(what, put(&app, &responses, ADMIN, &json!({"ticket_responses": list})).await, 422, expected);
        }
        let after = read(&app, &uri).await;
        assert_eq!(after, before, "nothing changed: no response removed, added or closed");
        assert_eq!(after["status"], "unassigned");
        assert_eq!(history(&app, &uri).await, history_before);
    }

    // ---- 4. Auto-close -----------------------------------------------------

    async fn a_ticket_closes_itself_when_every_held_area_has_a_completing_response(db: &TestDatabase) {
        let (app, w) = setup(db).await;
        create(&app, georgia_ticket(&w, "AC-1")).await;
        let uri = path(w.georgia, "AC-1");
        // The Georgia ticket needs EXMPL01, FOR01 and FOR02 (not ATL03); the
        // required custom field does not hold auto-close back.
        let t = respond_ok(&app, &uri, "EXMPL01", "1A", None).await;
        assert_eq!(t["status"], "unassigned");
        let t = respond_ok(&app, &uri, "FOR01", "1A", None).await;
        assert_eq!(t["status"], "unassigned", "FOR02 has no response yet");
        let t = respond_ok(&app, &uri, "FOR02", "1B", None).await;
        assert_eq!(t["status"], "unassigned", "1B does not complete");
        assert_eq!(t["closed_at"], Value::Null);
        let closed = respond_ok(&app, &uri, "FOR02", "1A", None).await;
        assert_eq!(closed["status"], "closed", "every held area answered by a completing code");
        assert_timestamp("closed_at", &closed["closed_at"]);

        let h = history(&app, &uri).await;
        let changes = of_kind(&h, "status_changed");
        assert_eq!(changes.len(), 1, "{h:?}");
        assert_eq!(changes[0]["details"]["reason"], "auto_closed");
        assert_eq!(changes[0]["details"]["before"], "unassigned");
        assert_eq!(changes[0]["details"]["after"], "closed");
        assert_eq!(changes[0]["actor"], Value::Null, "the system closed it");

        // Responses changing afterwards leave it closed, and closed once:
        // a change that still completes it does not close it again.
        tick();
        respond(&app, &uri, ADMIN, response_body("FOR02", "1A", None, "changed")).await.expect(200);
        let t = read(&app, &uri).await;
        assert_eq!(t["status"], "closed");
        assert_eq!(t["closed_at"], closed["closed_at"]);
        assert_eq!(of_kind(&history(&app, &uri).await, "status_changed").len(), 1);
        let t = respond_ok(&app, &uri, "FOR02", "1B", None).await;
        assert_eq!(t["status"], "closed");
        assert_eq!(t["closed_at"], closed["closed_at"]);
        put(&app, &format!("{uri}/ticket_responses"), ADMIN, &json!({"ticket_responses": []})).await.expect(200);
        let t = read(&app, &uri).await;
        assert_eq!(t["status"], "closed");
        assert_eq!(t["closed_at"], closed["closed_at"]);
        let h = history(&app, &uri).await;
        assert_eq!(of_kind(&h, "status_changed").len(), 1, "{h:?}");
    }

    async fn a_facility_required_center_needs_each_facility_of_each_area(db: &TestDatabase) {
        let (app, w) = setup(db).await;
        create(&app, texas_ticket(&w, "TXA-1")).await;
        let uri = path(w.texas, "TXA-1");
        // Needed: TX01 × {Gas, Water, Electric} and TX02 × {Gas} (its own
        // list); TX99 is not held.
        for (area, facility, code) in [
            ("TX01", "Gas", "10"),
            ("TX01", "Water", "10"),
            ("TX02", "Gas", "10"),
            ("TX01", "Electric", "3J"),
        ] {
            let t = respond_ok(&app, &uri, area, code, Some(facility)).await;
            assert_eq!(t["status"], "unassigned", "after {area}/{facility}/{code}");
        }
        // TX02 needs no Water response: its own list is Gas only.
        let closed = respond_ok(&app, &uri, "TX01", "10", Some("Electric")).await;
        assert_eq!(closed["status"], "closed");
        assert_timestamp("closed_at", &closed["closed_at"]);
        assert_eq!(closed["ticket_responses"].as_array().unwrap().len(), 4);
        let h = history(&app, &uri).await;
        let changes = of_kind(&h, "status_changed");
        assert_eq!(changes.len(), 1, "{h:?}");
        assert_eq!(changes[0]["details"]["reason"], "auto_closed");

        // Without facilities the same areas would not be enough: a second
        // Texas ticket answered once per area stays open.
        create(&app, texas_ticket(&w, "TXA-2")).await;
        let uri = path(w.texas, "TXA-2");
        respond_ok(&app, &uri, "TX01", "10", Some("Gas")).await;
        let t = respond_ok(&app, &uri, "TX02", "10", Some("Gas")).await;
        assert_eq!(t["status"], "unassigned", "TX01 needs Water and Electric too");
    }

    async fn a_put_that_completes_the_ticket_closes_it(db: &TestDatabase) {
        let (app, w) = setup(db).await;
        create(&app, georgia_ticket(&w, "ACP-1")).await;
        let uri = path(w.georgia, "ACP-1");
        let responses = format!("{uri}/ticket_responses");
        let partial = json!({"ticket_responses": [{"service_area": "EXMPL01", "code": "1A"}, {"service_area": "FOR01", "code": "1A"}]});
        put(&app, &responses, ADMIN, &partial).await.expect(200);
        assert_eq!(read(&app, &uri).await["status"], "unassigned");
        let with_incomplete = json!({"ticket_responses": [
            {"service_area": "EXMPL01", "code": "1A"}, {"service_area": "FOR01", "code": "1A"},
            {"service_area": "FOR02", "code": "1B"}]});
        put(&app, &responses, ADMIN, &with_incomplete).await.expect(200);
        assert_eq!(read(&app, &uri).await["status"], "unassigned");
        let complete = json!({"ticket_responses": [
            {"service_area": "EXMPL01", "code": "1A", "facility": "Gas"}, {"service_area": "FOR01", "code": "1A"},
            {"service_area": "FOR02", "code": "1A"}]});
        put(&app, &responses, ADMIN, &complete).await.expect(200);
        let t = read(&app, &uri).await;
        assert_eq!(t["status"], "closed");
        assert_timestamp("closed_at", &t["closed_at"]);
        let h = history(&app, &uri).await;
        let changes = of_kind(&h, "status_changed");
        assert_eq!(changes.len(), 1, "{h:?}");
        assert_eq!(changes[0]["details"]["reason"], "auto_closed");
    }

    // ---- 5. Assignment and routing -------------------------------------------

    async fn assigning_sets_the_assignee_and_the_status_follows(db: &TestDatabase) {
        let (app, w) = setup(db).await;
        create(&app, georgia_ticket(&w, "AS-1")).await;
        let uri = path(w.georgia, "AS-1");
        let assign = |id: Value| json!({"ticket": {"assignee_id": id}});

        let t = patch(&app, &uri, ADMIN, &assign(w.bea["id"].clone())).await.expect(200).json();
        assert_eq!(t["assignee"], w.bea);
        assert_eq!(t["status"], "assigned");
        assert_eq!(read(&app, &uri).await, t);

        let t = patch(&app, &uri, LOCATOR, &assign(w.al["id"].clone())).await.expect(200).json();
        assert_eq!(t["assignee"], w.al);
        assert_eq!(t["status"], "assigned");

        let t = patch(&app, &uri, ADMIN, &assign(Value::Null)).await.expect(200).json();
        assert_eq!(t["assignee"], Value::Null);
        assert_eq!(t["status"], "unassigned");

        // A closed ticket stays closed whoever it is assigned to.
        patch(&app, &uri, ADMIN, &fields_body(&[(w.field("Permit"), json!("P"))])).await.expect(200);
        let closed = call(&app, Method::PATCH, &format!("{uri}/close"), ADMIN, Body::empty()).await.expect(200).json();
        assert_eq!(closed["status"], "closed");
        let t = patch(&app, &uri, ADMIN, &assign(w.bea["id"].clone())).await.expect(200).json();
        assert_eq!(t["assignee"], w.bea);
        assert_eq!(t["status"], "closed");
        assert_eq!(t["closed_at"], closed["closed_at"]);
        let t = patch(&app, &uri, ADMIN, &assign(Value::Null)).await.expect(200).json();
        assert_eq!(t["assignee"], Value::Null);
        assert_eq!(t["status"], "closed");
        let t = patch(&app, &uri, ADMIN, &assign(w.bea["id"].clone())).await.expect(200).json();
        assert_eq!(t["status"], "closed");
        let reopened = call(&app, Method::PATCH, &format!("{uri}/reopen"), ADMIN, Body::empty()).await.expect(200).json();
        assert_eq!(reopened["status"], "assigned");
        assert_eq!(reopened["assignee"], w.bea);
    }

    async fn assigning_to_an_unknown_foreign_or_inactive_user_is_422(db: &TestDatabase) {
        let (app, w) = setup(db).await;
        create(&app, georgia_ticket(&w, "AS-2")).await;
        let uri = path(w.georgia, "AS-2");
        patch(&app, &uri, ADMIN, &json!({"ticket": {"assignee_id": w.bea["id"]}})).await.expect(200);
        let before = read(&app, &uri).await;
        let flag = w.field("Flag");
        for (what, id) in [
            ("an unknown user", 999_999_999),
            ("another account's user", w.other_user_id),
            ("an inactive user", w.inactive_id),
        ] {
            assert_error(
                what,
                patch(&app, &uri, ADMIN, &json!({"ticket": {"assignee_id": id}})).await,
                422,
                errors(&[("assignee_id".into(), "is invalid")]),
            );
            let mut body = fields_body(&[(flag, json!("1"))]);
            body["ticket"]["assignee_id"] = json!(id);
            assert_error(
                &format!("{what} with a valid value"),
                patch(&app, &uri, ADMIN, &body).await,
                422,
                errors(&[("assignee_id".into(), "is invalid")]),
            );
        }
        assert_eq!(read(&app, &uri).await, before);
    }

    async fn intake_routes_a_service_areas_tickets_to_its_assignee(db: &TestDatabase) {
        let (app, w) = setup(db).await;
        let routed = create(&app, json!({
            "ticket_number": "RT-1", "service_area": "ROUTE01", "call_center": {"id": w.georgia}
        })).await;
        assert_eq!(routed["status"], "assigned");
        assert_eq!(routed["assignee"], w.bea);
        assert_eq!(read(&app, &path(w.georgia, "RT-1")).await, routed);
        let h = history(&app, &path(w.georgia, "RT-1")).await;
        assert_eq!(kinds(&h), ["created", "assignee_changed"]);
        assert_eq!(h[1]["details"]["after"], w.bea);

        // Only the primary service area routes.
        let secondary = create(&app, json!({
            "ticket_number": "RT-2", "service_area": "FOR01", "additional_service_areas": ["ROUTE01"],
            "call_center": {"id": w.georgia}
        })).await;
        assert_eq!(secondary["status"], "unassigned");
        assert_eq!(secondary["assignee"], Value::Null);
        // An inactive assignee is no assignee.
        let inactive = create(&app, json!({
            "ticket_number": "RT-3", "service_area": "ROUTE02", "call_center": {"id": w.georgia}
        })).await;
        assert_eq!(inactive["status"], "unassigned");
        assert_eq!(inactive["assignee"], Value::Null);
        // Unrouted areas stay unassigned.
        let plain = create(&app, georgia_ticket(&w, "RT-4")).await;
        assert_eq!(plain["status"], "unassigned");
    }

    // ---- 6. History ----------------------------------------------------------

    async fn history_records_every_change_with_actor_and_time(db: &TestDatabase) {
        let (app, w) = setup(db).await;
        let ticket = georgia_ticket(&w, "HI-1");
        create(&app, ticket.clone()).await;
        let uri = path(w.georgia, "HI-1");
        let (flag, permit) = (w.field("Flag"), w.field("Permit"));
        patch(&app, &uri, ADMIN, &fields_body(&[(flag, json!("1"))])).await.expect(200);
        patch(&app, &uri, LOCATOR, &json!({"ticket": {"assignee_id": w.bea["id"]}})).await.expect(200);
        respond(&app, &uri, LOCATOR, response_body("FOR01", "1B", None, "")).await.expect(200);
        respond(&app, &uri, ADMIN, response_body("FOR01", "1A", None, "ok")).await.expect(200);
        put(&app, &format!("{uri}/ticket_responses"), ADMIN,
            &json!({"ticket_responses": [{"service_area": "FOR02", "code": "1B"}]})).await.expect(200);
        let mut revised = ticket.clone();
        revised["remarks"] = json!("second version");
        post_json(&app, "/tickets", ADMIN, &json!({"ticket": revised})).await.expect(200);
        patch(&app, &format!("{uri}/close"), ADMIN, &fields_body(&[(permit, json!("P-1"))])).await.expect(200);
        call(&app, Method::PATCH, &format!("{uri}/reopen"), LOCATOR, Body::empty()).await.expect(200);

        let h = history(&app, &uri).await;
        assert_eq!(
            kinds(&h),
            [
                "created", "custom_field_changed", "assignee_changed", "status_changed",
                "response_created", "response_updated", "response_removed", "response_created",
                "new_version", "custom_field_changed", "status_changed", "status_changed",
            ],
            "{h:#?}"
        );
        let mut previous = String::new();
        for entry in &h {
            assert_keys("history entry", entry, &["id", "kind", "created_at", "actor", "details"]);
            assert_timestamp("history created_at", &entry["created_at"]);
            let at = entry["created_at"].as_str().unwrap().to_string();
            assert!(at >= previous, "oldest first: {h:#?}");
            previous = at;
        }
        let actors: Vec<&Value> = h.iter().map(|e| &e["actor"]).collect();
        assert_eq!(
            actors,
            [&w.al, &w.al, &w.locator, &w.locator, &w.locator, &w.al, &w.al, &w.al, &w.al, &w.al, &w.al, &w.locator]
        );
        assert_eq!(h[1]["details"]["custom_field"], json!({"id": flag, "name": "Flag"}));
        assert_eq!(h[1]["details"]["before"], Value::Null);
        assert_eq!(h[1]["details"]["after"], json!(true));
        assert_eq!(h[2]["details"]["before"], Value::Null);
        assert_eq!(h[2]["details"]["after"], w.bea);
        assert_eq!(h[3]["details"], json!({"before": "unassigned", "after": "assigned", "reason": "assignment"}));
        assert_eq!(h[4]["details"]["service_area"], "FOR01");
        assert_eq!(h[4]["details"]["before"], Value::Null);
        assert_eq!(h[4]["details"]["after"], json!({"code": "1B", "comment": ""}));
        assert_eq!(h[5]["details"]["before"], json!({"code": "1B", "comment": ""}));
        assert_eq!(h[5]["details"]["after"], json!({"code": "1A", "comment": "ok"}));
        assert_eq!(h[6]["details"]["service_area"], "FOR01");
        assert_eq!(h[6]["details"]["before"], json!({"code": "1A", "comment": "ok"}));
        assert_eq!(h[6]["details"]["after"], Value::Null);
        assert_eq!(h[7]["details"]["service_area"], "FOR02");
        assert_eq!(h[8]["details"]["version_number"], json!(1));
        assert_eq!(h[9]["details"]["custom_field"], json!({"id": permit, "name": "Permit"}));
        assert_eq!(h[9]["details"]["after"], json!("P-1"));
        assert_eq!(h[10]["details"], json!({"before": "assigned", "after": "closed", "reason": "closed"}));
        assert_eq!(h[11]["details"], json!({"before": "closed", "after": "assigned", "reason": "reopened"}));

        // A viewer may read it; another account may not see it.
        let as_viewer = get(&app, &format!("{uri}/history"), VIEWER).await.expect(200).json();
        assert_eq!(as_viewer, json!(h));
        assert_base_error(get(&app, &format!("{uri}/history"), OTHER).await, 404);
        assert_base_error(get(&app, &format!("{}/history", path(w.georgia, "NO-SUCH")), ADMIN).await, 404);
        assert_base_error(get(&app, &format!("{}/history", path(w.other_georgia, "HI-1")), ADMIN).await, 404);
    }

    // ---- 7. Concurrency --------------------------------------------------------

    async fn twenty_concurrent_responses_close_the_ticket_exactly_once(db: &TestDatabase) {
        let (app, w) = setup(db).await;
        for round in 0..2 {
            let number = format!("CC-{round}");
            create(&app, bulk_ticket(&w, &number, BULK_AREAS)).await;
            let uri = path(w.bulk, &number);
            let tasks: Vec<_> = (1..=BULK_AREAS)
                .map(|i| {
                    let app = app.clone();
                    let uri = uri.clone();
                    tokio::spawn(async move {
                        let r = response_body(&bulk_area(i), "C", None, "");
                        respond(&app, &uri, ADMIN, r).await
                    })
                })
                .collect();
            for (i, task) in tasks.into_iter().enumerate() {
                let resp = task.await.expect("task");
                assert_eq!(resp.status.as_u16(), 200, "response {}: {}", i + 1, resp.text());
            }
            let t = read(&app, &uri).await;
            assert_eq!(t["ticket_responses"].as_array().unwrap().len(), BULK_AREAS, "{}", t["ticket_responses"]);
            assert_eq!(t["status"], "closed");
            assert_timestamp("closed_at", &t["closed_at"]);
            let h = history(&app, &uri).await;
            assert_eq!(of_kind(&h, "response_created").len(), BULK_AREAS);
            let changes = of_kind(&h, "status_changed");
            assert_eq!(changes.len(), 1, "exactly one status change: {changes:?}");
            assert_eq!(changes[0]["details"]["reason"], "auto_closed");
        }
    }

    async fn concurrent_patch_and_close_leave_a_consistent_ticket(db: &TestDatabase) {
        let (app, w) = setup(db).await;
        let count = w.field("Count");
        for round in 0..8 {
            let number = format!("PC-{round}");
            create(&app, bulk_ticket(&w, &number, 2)).await;
            let uri = path(w.bulk, &number);
            let patch_task = {
                let (app, uri) = (app.clone(), uri.clone());
                tokio::spawn(async move { patch(&app, &uri, ADMIN, &fields_body(&[(count, json!(1))])).await })
            };
            let close_task = {
                let (app, uri) = (app.clone(), format!("{uri}/close"));
                tokio::spawn(async move { patch(&app, &uri, LOCATOR, &fields_body(&[(count, json!(2))])).await })
            };
            let (p, c) = (patch_task.await.expect("task"), close_task.await.expect("task"));
            for (what, r) in [("PATCH", &p), ("close", &c)] {
                let status = r.status.as_u16();
                assert!(status == 200 || status == 422, "round {round}: {what} answered {status}: {}", r.text());
                if status == 422 {
                    errors_of(&r.json());
                }
            }
            let t = read(&app, &uri).await;
            let expected = match (p.status.as_u16(), c.status.as_u16()) {
                (200, 200) => {
                    let (pj, cj) = (p.json(), c.json());
                    assert_eq!(value_of(&pj, count), json!(1));
                    assert_eq!(value_of(&cj, count), json!(2));
                    assert_eq!(cj["status"], "closed");
                    // Whichever committed last decides the value.
                    if pj["status"] == "closed" { json!(1) } else { json!(2) }
                }
                (200, _) => json!(1),
                (_, 200) => json!(2),
                _ => panic!("round {round}: both refused"),
            };
            assert_eq!(value_of(&t, count), expected, "round {round}");
            assert_eq!(t["status"], if c.status.as_u16() == 200 { "closed" } else { "unassigned" });
            let h = history(&app, &uri).await;
            let last = of_kind(&h, "custom_field_changed").last().map(|e| e["details"]["after"].clone());
            assert_eq!(last, Some(expected), "round {round}: history agrees with the stored value");
            assert!(of_kind(&h, "status_changed").len() <= 1, "{h:?}");
        }
    }

    async fn two_concurrent_closes_close_once(db: &TestDatabase) {
        let (app, w) = setup(db).await;
        for round in 0..5 {
            let number = format!("CC2-{round}");
            create(&app, bulk_ticket(&w, &number, 1)).await;
            let close = format!("{}/close", path(w.bulk, &number));
            let tasks: Vec<_> = (0..2)
                .map(|_| {
                    let (app, close) = (app.clone(), close.clone());
                    tokio::spawn(async move { call(&app, Method::PATCH, &close, ADMIN, Body::empty()).await })
                })
                .collect();
            let mut statuses = Vec::new();
            for task in tasks {
                let resp = task.await.expect("task");
                let status = resp.status.as_u16();
                if status == 422 {
                    assert_eq!(resp.json(), errors(&[("status".into(), "is already closed")]));
                }
                statuses.push(status);
            }
            statuses.sort();
            assert_eq!(statuses, [200, 422], "round {round}");
            let h = history(&app, &path(w.bulk, &number)).await;
            assert_eq!(of_kind(&h, "status_changed").len(), 1, "{h:?}");
        }
    }

    // ---- 8. Order of checks and permissions ------------------------------------

    async fn a_viewer_gets_403_on_writes_to_existing_tickets_and_404_on_missing_ones(db: &TestDatabase) {
        let (app, w) = setup(db).await;
        create(&app, georgia_ticket(&w, "PM-1")).await;
        let uri = path(w.georgia, "PM-1");
        let missing = path(w.georgia, "NO-SUCH");
        let flag = w.field("Flag");
        let before = read(&app, &uri).await;
        let writes: Vec<(Method, &str, String)> = vec![
            (Method::PATCH, "", fields_body(&[(flag, json!("1"))]).to_string()),
            (Method::PATCH, "", json!({"ticket": {"assignee_id": w.al["id"]}}).to_string()),
            (Method::PATCH, "/close", String::new()),
            (Method::PATCH, "/close", fields_body(&[(w.field("Permit"), json!("P"))]).to_string()),
            (Method::PATCH, "/reopen", String::new()),
            (Method::POST, "/ticket_responses", json!({"ticket_response": response_body("FOR01", "1A", None, "")}).to_string()),
            (Method::PUT, "/ticket_responses", json!({"ticket_responses": [response_body("FOR01", "1A", None, "")]}).to_string()),
        ];
        for (method, suffix, body) in &writes {
            let what = format!("{method} …{suffix} with {body:?}");
            let resp = call(&app, method.clone(), &format!("{uri}{suffix}"), VIEWER, body.clone()).await;
            assert_eq!(resp.status.as_u16(), 403, "{what}: {}", resp.text());
            let errs = resp.expect_error(403);
            assert_eq!(errs.keys().collect::<Vec<_>>(), ["base"], "{what}");
            // Permissions are checked before the body.
            if !suffix.ends_with("reopen") {
                assert_base_error(call(&app, method.clone(), &format!("{uri}{suffix}"), VIEWER, "{").await, 403);
            }
            // A ticket that does not exist is 404 whoever asks.
            let resp = call(&app, method.clone(), &format!("{missing}{suffix}"), VIEWER, body.clone()).await;
            assert_eq!(resp.status.as_u16(), 404, "{what} on a missing ticket: {}", resp.text());
            assert_base_error(resp, 404);
        }
        assert_eq!(read(&app, &uri).await, before, "the viewer changed nothing");
        // Reading is allowed.
        assert_eq!(get(&app, &uri, VIEWER).await.expect(200).json(), before);
        get(&app, &format!("{uri}/history"), VIEWER).await.expect(200);
    }

    async fn a_locator_works_tickets_but_cannot_create_them(db: &TestDatabase) {
        let (app, w) = setup(db).await;
        create(&app, georgia_ticket(&w, "LC-1")).await;
        let uri = path(w.georgia, "LC-1");
        let t = patch(&app, &uri, LOCATOR, &fields_body(&[(w.field("Permit"), json!("P"))])).await.expect(200).json();
        assert_eq!(value_of(&t, w.field("Permit")), json!("P"));
        let r = respond(&app, &uri, LOCATOR, response_body("FOR01", "1B", None, "")).await.expect(200).json();
        assert_eq!(r["respondent"], w.locator);
        let list = put(&app, &format!("{uri}/ticket_responses"), LOCATOR,
                       &json!({"ticket_responses": [response_body("FOR02", "1B", None, "")]})).await.expect(200).json();
        assert_eq!(pairs(&list), [triple("FOR02", None, "1B")]);
        let t = call(&app, Method::PATCH, &format!("{uri}/close"), LOCATOR, Body::empty()).await.expect(200).json();
        assert_eq!(t["status"], "closed");
        let t = call(&app, Method::PATCH, &format!("{uri}/reopen"), LOCATOR, Body::empty()).await.expect(200).json();
        assert_eq!(t["status"], "unassigned");

        let resp = post_json(&app, "/tickets", LOCATOR, &json!({"ticket": georgia_ticket(&w, "LC-2")})).await;
        assert_eq!(resp.status.as_u16(), 403, "{}", resp.text());
        assert_base_error(resp, 403);
        assert_base_error(call(&app, Method::POST, "/tickets", LOCATOR, "{").await, 403);
        assert_base_error(get(&app, &path(w.georgia, "LC-2"), ADMIN).await, 404);
    }

    async fn malformed_bodies_are_400_on_existing_tickets_and_404_on_missing_ones(db: &TestDatabase) {
        let (app, w) = setup(db).await;
        create(&app, georgia_ticket(&w, "MB-1")).await;
        let uri = path(w.georgia, "MB-1");
        let missing = path(w.georgia, "NO-SUCH");
        let before = read(&app, &uri).await;
        let bodies: Vec<(&str, Vec<u8>)> = vec![
            ("truncated JSON", b"{\"ticket\": {".to_vec()),
            ("not JSON", b"custom_fields=1".to_vec()),
            ("trailing garbage", b"{\"ticket\": {}} x".to_vec()),
            ("not UTF-8", b"{\"ticket\": {\"custom_fields\": {\"1\": \"\xff\"}}}".to_vec()),
        ];
        for (method, suffix) in [
            (Method::PATCH, ""),
            (Method::PATCH, "/close"),
            (Method::POST, "/ticket_responses"),
            (Method::PUT, "/ticket_responses"),
        ] {
            for token in [ADMIN, LOCATOR] {
                for (what, body) in &bodies {
                    let resp = call(&app, method.clone(), &format!("{uri}{suffix}"), token, body.clone()).await;
                    assert_eq!(resp.status.as_u16(), 400, "{method} …{suffix} with {what}: {}", resp.text());
                    assert_base_error(resp, 400);
                    let resp = call(&app, method.clone(), &format!("{missing}{suffix}"), token, body.clone()).await;
                    assert_eq!(resp.status.as_u16(), 404, "{method} …{suffix} on a missing ticket with {what}: {}", resp.text());
                    assert_base_error(resp, 404);
                }
            }
        }
        // PATCH needs its root key.
        for body in [json!({}), json!({"tickets": {"custom_fields": {}}}), json!({"ticket": null}), json!({"custom_fields": {"1": "1"}})] {
            let resp = patch(&app, &uri, ADMIN, &body).await;
            assert_eq!(resp.status.as_u16(), 400, "PATCH {body}: {}", resp.text());
            assert_base_error(resp, 400);
        }
        assert_base_error(call(&app, Method::PATCH, &uri, ADMIN, Body::empty()).await, 400);
        assert_eq!(read(&app, &uri).await, before);
    }

    // ---- 9. Tenant isolation -----------------------------------------------------

    async fn another_accounts_token_cannot_touch_a_ticket(db: &TestDatabase) {
        let (app, w) = setup(db).await;
        let permit = w.field("Permit");
        // An open ticket with state, and a closed one.
        create(&app, georgia_ticket(&w, "TI-1")).await;
        let open = path(w.georgia, "TI-1");
        patch(&app, &open, ADMIN, &json!({"ticket": {"assignee_id": w.bea["id"], "custom_fields": {w.field("Flag").to_string(): "1"}}}))
            .await
            .expect(200);
        respond(&app, &open, ADMIN, response_body("FOR01", "1B", None, "")).await.expect(200);
        create(&app, georgia_ticket(&w, "TI-2")).await;
        let closed = path(w.georgia, "TI-2");
        patch(&app, &format!("{closed}/close"), ADMIN, &fields_body(&[(permit, json!("P"))])).await.expect(200);
        // The other account has a ticket of the same number.
        post_json(&app, "/tickets", OTHER, &json!({"ticket": {
            "ticket_number": "TI-1", "service_area": "EXMPL01", "call_center": {"id": w.other_georgia}}})).await.expect(201);
        let theirs = path(w.other_georgia, "TI-1");
        let their_before = get(&app, &theirs, OTHER).await.expect(200).json();

        let before_open = read(&app, &open).await;
        let before_closed = read(&app, &closed).await;
        let history_open = history(&app, &open).await;
        let writes: Vec<(Method, &str, String)> = vec![
            (Method::PATCH, "", fields_body(&[(w.field("Flag"), json!("0"))]).to_string()),
            (Method::PATCH, "", fields_body(&[(w.theirs, json!("x"))]).to_string()),
            (Method::PATCH, "", json!({"ticket": {"assignee_id": w.other_user_id}}).to_string()),
            (Method::PATCH, "", json!({"ticket": {"assignee_id": null}}).to_string()),
            (Method::PATCH, "/close", String::new()),
            (Method::PATCH, "/close", fields_body(&[(permit, json!("P"))]).to_string()),
            (Method::PATCH, "/reopen", String::new()),
            (Method::POST, "/ticket_responses", json!({"ticket_response": response_body("EXMPL01", "1A", None, "")}).to_string()),
            (Method::PUT, "/ticket_responses", json!({"ticket_responses": []}).to_string()),
            (Method::PUT, "/ticket_responses", json!({"ticket_responses": [response_body("FOR01", "1A", None, "")]}).to_string()),
            (Method::PATCH, "", "{".to_string()),
            (Method::GET, "/history", String::new()),
        ];
        for target in [&open, &closed] {
            for (method, suffix, body) in &writes {
                let resp = call(&app, method.clone(), &format!("{target}{suffix}"), OTHER, body.clone()).await;
                assert_eq!(resp.status.as_u16(), 404, "{method} {target}{suffix} as the other account: {}", resp.text());
                assert_base_error(resp, 404);
            }
        }
        // Acme cannot reach the other account's ticket either.
        for (method, suffix, body) in &writes {
            let resp = call(&app, method.clone(), &format!("{theirs}{suffix}"), ADMIN, body.clone()).await;
            assert_eq!(resp.status.as_u16(), 404, "{method} {theirs}{suffix} as acme: {}", resp.text());
            assert_base_error(resp, 404);
        }
        assert_eq!(read(&app, &open).await, before_open);
        assert_eq!(read(&app, &closed).await, before_closed);
        assert_eq!(history(&app, &open).await, history_open);
        assert_eq!(get(&app, &theirs, OTHER).await.expect(200).json(), their_before);
    }
}
