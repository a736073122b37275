#![recursion_limit = "256"]
//! `POST /call_centers/:id/intake`: call centers' own documents, on both
//! backends, from the real samples in the intake crate's fixtures.

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request};
use common::*;
use integrity_store::test_on_both_backends;
use integrity_store::testing::TestDatabase;
use serde_json::{json, Value};

const KEY: &str = "intake-admin-key-000001";
const VIEWER: &str = "intake-viewer-key-00001";
const OTHER: &str = "intake-other-key-000001";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../integrity-intake/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

struct Centers {
    georgia: i64,
    usan: i64,
    other: i64,
}

async fn setup(db: &TestDatabase) -> Centers {
    let manifest = json!({"accounts": [
        {"subdomain": "acme", "name": "Acme",
         "users": [{"name": "Al", "email": "al@example.com", "role": "admin", "api_tokens": [KEY]},
                   {"name": "Vi", "email": "vi@example.com", "role": "viewer", "api_tokens": [VIEWER]}],
         "call_centers": [{"name": "Georgia 811", "service_areas": [{"code": "GAUPC"}]},
                          {"name": "USA North 811", "service_areas": [{"code": "CNSA12"}]}]},
        {"subdomain": "other", "name": "Other",
         "users": [{"name": "Ot", "email": "ot@example.com", "role": "admin", "api_tokens": [OTHER]}],
         "call_centers": [{"name": "Georgia 811"}]}]});
    db.store
        .apply(&integrity_domain::manifest::Manifest::from_json(&manifest.to_string()).unwrap())
        .await
        .unwrap();
    let center = |subdomain: &'static str, index: usize| async move {
        let account = db
            .store
            .account_by_subdomain(subdomain)
            .await
            .unwrap()
            .unwrap();
        db.store.call_centers(account).await.unwrap()[index].id
    };
    Centers {
        georgia: center("acme", 0).await,
        usan: center("acme", 1).await,
        other: center("other", 0).await,
    }
}

async fn post_document(
    db: &TestDatabase,
    key: &str,
    uri: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (u16, Value) {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Token token=\"{key}\""));
    if let Some(content_type) = content_type {
        request = request.header(header::CONTENT_TYPE, content_type);
    }
    let reply = send(&api(db), request.body(Body::from(body)).unwrap()).await;
    (reply.status.as_u16(), reply.json())
}

async fn get_json(db: &TestDatabase, uri: &str) -> Value {
    get(&api(db), uri, KEY).await.expect(200).json()
}

test_on_both_backends! {
    async fn an_open_ticket_document_becomes_a_ticket_and_is_kept(db: &TestDatabase) {
        let c = setup(db).await;
        let body = fixture("ga811_open_ticket_normal_240222-001001.json");
        let uri = format!("/call_centers/{}/intake", c.georgia);
        let (status, ticket) = post_document(db, KEY, &uri, Some("application/json"), body.clone()).await;
        assert_eq!(status, 201, "{ticket}");
        assert_eq!(ticket["ticket_number"], "240222-001001");
        assert_eq!(ticket["service_area"], "GAUPC");
        assert_eq!(ticket["work"]["area"]["type"], "Polygon");
        assert_eq!(ticket["taken_at"], "2024-02-22T21:35:37.193Z");

        // A retransmission changes nothing.
        let (status, again) = post_document(db, KEY, &uri, Some("application/json"), body.clone()).await;
        assert_eq!(status, 200);
        assert_eq!(again["version_number"], ticket["version_number"]);
        assert_eq!(again["updated_at"], ticket["updated_at"]);

        // The document is kept byte for byte and listed in the history.
        let base = format!("/tickets/by_center/{}/by_number/240222-001001", c.georgia);
        let history = get_json(db, &format!("{base}/history")).await;
        assert_eq!(history.as_array().unwrap().len(), 1, "{history}");
        let created = &history[0];
        assert_eq!(created["details"]["source"]["format"], "open-ticket");
        assert!(created["details"]["source"]["extra"]["members"].is_array(), "{created}");
        let document = created["details"]["documents"][0].as_i64().unwrap();
        let reply = get(&api(db), &format!("{base}/documents/{document}"), KEY).await.expect(200);
        assert_eq!(reply.bytes, body);
        assert_eq!(reply.headers[header::CONTENT_TYPE], "application/json");
        assert_eq!(reply.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(reply.headers[header::CONTENT_DISPOSITION], "attachment");
        get(&api(db), &format!("{base}/documents/{}", document + 100), KEY).await.expect(404);
        get(&api(db), &format!("{base}/documents/{document}"), OTHER).await.expect(404);
    }

    async fn swapped_coordinates_are_corrected_and_noted(db: &TestDatabase) {
        let c = setup(db).await;
        let uri = format!("/call_centers/{}/intake", c.georgia);
        let (status, ticket) = post_document(db, KEY, &uri, None, fixture("pa811_open_ticket_emergency_20241231234.json")).await;
        assert_eq!(status, 201, "{ticket}");
        let lat = ticket["lat"].as_f64().unwrap();
        let lng = ticket["lng"].as_f64().unwrap();
        assert!((40.0..41.0).contains(&lat) && (-81.0..-79.0).contains(&lng), "{lat} {lng}");
        let history = get_json(db, &format!("/tickets/by_center/{}/by_number/20241231234/history", c.georgia)).await;
        let notes = history[0]["details"]["source"]["notes"].to_string();
        assert!(notes.contains("swapped"), "{notes}");
    }

    async fn usa_north_documents_are_detected_and_read(db: &TestDatabase) {
        let c = setup(db).await;
        let uri = format!("/call_centers/{}/intake", c.usan);
        for (file, content_type, number) in [
            ("usan_ca_option3_2022041100005.xml", Some("text/xml"), "2022041100005"),
            ("usan_nv_option2_2022041400001-000.txt", None, "2022041400001"),
            ("usan_ca_legacy_2022041900001-000.txt", Some("text/plain"), "2022041900001"),
        ] {
            let (status, ticket) = post_document(db, KEY, &uri, content_type, fixture(file)).await;
            assert_eq!(status, 201, "{file}: {ticket}");
            assert_eq!(ticket["ticket_number"], number, "{file}");
            assert!(ticket["taken_at"].as_str().is_some_and(|t| t.ends_with('Z')), "{file}: {ticket}");
        }
    }

    async fn a_cancelling_revision_makes_a_new_cancelled_version(db: &TestDatabase) {
        let c = setup(db).await;
        let uri = format!("/call_centers/{}/intake", c.georgia);
        let mut document: Value = serde_json::from_slice(&fixture("ga811_open_ticket_normal_240222-001001.json")).unwrap();
        let (status, _) = post_document(db, KEY, &uri, None, document.to_string().into_bytes()).await;
        assert_eq!(status, 201);
        document["header"]["status"] = json!("Cancel");
        let (status, ticket) = post_document(db, KEY, &format!("{uri}?format=open-ticket"), None, document.to_string().into_bytes()).await;
        assert_eq!(status, 200, "{ticket}");
        assert_eq!(ticket["status"], "cancelled");
        assert_eq!(ticket["version_number"], 1);
    }

    async fn unreadable_documents_are_refused_precisely(db: &TestDatabase) {
        let c = setup(db).await;
        let uri = format!("/call_centers/{}/intake", c.georgia);
        let (status, body) = post_document(db, KEY, &uri, Some("application/json"), b"{\n  \"header\": {\n".to_vec()).await;
        assert_eq!(status, 422);
        assert!(body["errors"]["document"][0].as_str().unwrap().contains("line"), "{body}");
        let (status, body) = post_document(db, KEY, &uri, None, b"hello there".to_vec()).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["errors"]["format"][0], "could not be detected; name it with ?format=");
        let (status, body) = post_document(db, KEY, &format!("{uri}?format=fax"), None, b"x".to_vec()).await;
        assert_eq!(status, 422, "{body}");
        assert!(body["errors"]["format"][0].as_str().unwrap().starts_with("is not included in the list"));
        let (status, _) = post_document(db, KEY, &uri, None, Vec::new()).await;
        assert_eq!(status, 400);

        // A misspelt or repeated parameter is refused, not ignored.
        let document = fixture("usan_ca_option3_2022041100005.xml");
        let (status, body) = post_document(db, KEY, &format!("{uri}?fromat=usan-xml"), None, document.clone()).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["errors"]["fromat"][0], "is not a known parameter (known: format)");
        let (status, body) = post_document(db, KEY, &format!("{uri}?format=usan-xml&format=open-ticket"), None, document).await;
        assert_eq!((status, &body["errors"]["format"][0]), (422, &serde_json::json!("is given more than once")), "{body}");
    }

    async fn intake_follows_the_order_of_checks(db: &TestDatabase) {
        let c = setup(db).await;
        let body = fixture("ga811_open_ticket_normal_240222-001001.json");
        let (status, _) = post_document(db, KEY, &format!("/call_centers/{}/intake", c.other), None, body.clone()).await;
        assert_eq!(status, 404, "another account's call center");
        let (status, _) = post_document(db, KEY, "/call_centers/x/intake", None, body.clone()).await;
        assert_eq!(status, 404);
        let (status, _) = post_document(db, VIEWER, &format!("/call_centers/{}/intake", c.georgia), None, b"garbage".to_vec()).await;
        assert_eq!(status, 403);
        let (status, _) = post_document(db, OTHER, &format!("/api/integrations/integrity/call_centers/{}/intake", c.georgia), None, body).await;
        assert_eq!(status, 404, "another account's key");
    }
}
