//! In-process HTTP tests of the API against the contract
//! (`API-CONTRACT.md`). Every test runs on SQLite and, when
//! `INTEGRITY_TEST_POSTGRES_URL` is set, on PostgreSQL.

#![recursion_limit = "256"]

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request};
use common::*;
use integrity_store::test_on_both_backends;
use serde_json::{json, Value};

test_on_both_backends! {
    // ---- 1. Catalog -------------------------------------------------------

    async fn call_centers_have_the_documented_shape(db: &TestDatabase) {
        let f = provision(db).await;
        let app = api(db);
        for prefix in PREFIXES {
            let body = get(&app, &format!("{prefix}/call_centers"), ACME_TOKEN).await.expect(200).json();
            let centers = body.as_array().expect("a list");
            assert_eq!(centers.len(), 2, "acme's two call centers only: {body}");
            for center in centers {
                assert_keys(
                    "call center",
                    center,
                    &["id", "name", "state", "enabled", "service_areas", "facilities", "response_codes"],
                );
                for code in center["response_codes"].as_array().expect("response_codes is a list") {
                    assert_keys("response code", code, &["code", "description", "ticket_types"]);
                    assert!(
                        code["ticket_types"].is_null() || code["ticket_types"].is_array(),
                        "ticket_types is null or a list: {code}"
                    );
                }
            }
            assert_eq!(
                centers[0],
                json!({
                    "id": f.georgia, "name": "Georgia 811", "state": "Georgia", "enabled": true,
                    "service_areas": ["EXMPL01", "FOR01", "FOR02"],
                    "facilities": ["Gas", "Water"],
                    "response_codes": [
                        {"code": "1A", "description": "Marked.", "ticket_types": null},
                        {"code": "1B", "description": "Marked: High profile utility in conflict.", "ticket_types": null},
                        {"code": "10A", "description": "Large Projects: Meeting Date/Time Accepted.",
                         "ticket_types": ["Large Project"]}]
                })
            );
            assert_eq!(
                centers[1],
                json!({
                    "id": f.texas, "name": "Texas 811", "state": "Texas", "enabled": true,
                    "service_areas": ["TX01"], "facilities": ["Gas"],
                    "response_codes": [{"code": "10", "description": "Clear", "ticket_types": null}]
                })
            );
        }
        // The other account sees its own center only.
        let theirs = get(&app, "/call_centers", OTHER_TOKEN).await.expect(200).json();
        assert_eq!(theirs.as_array().unwrap().len(), 1, "{theirs}");
        assert_eq!(theirs[0]["id"], json!(f.other_georgia));
        assert_eq!(theirs[0]["service_areas"], json!(["EXMPL01"]));
    }

    async fn custom_fields_have_the_documented_shape_in_position_order(db: &TestDatabase) {
        let f = provision(db).await;
        let app = api(db);
        for prefix in PREFIXES {
            let body = get(&app, &format!("{prefix}/custom_fields"), ACME_TOKEN).await.expect(200).json();
            let fields = body.as_array().expect("a list");
            let names: Vec<&str> = fields.iter().map(|f| f["name"].as_str().unwrap()).collect();
            assert_eq!(
                names,
                ["Site visit", "Area", "Pick one", "Crews", "Regions", "Notes", "Some date"],
                "ordered by position, acme's fields only"
            );
            let positions: Vec<i64> = fields.iter().map(|f| f["position"].as_i64().expect("position")).collect();
            assert_eq!(positions, [0, 1, 2, 3, 4, 5, 6]);
            for field in fields {
                let type_id = field["type_id"].as_i64().expect("type_id is a number");
                let mut expected = vec!["id", "type_id", "name", "required", "call_center", "position"];
                if (8..=11).contains(&type_id) {
                    expected.push("options");
                }
                assert_keys(&format!("custom field {}", field["name"]), field, &expected);
                assert!(field["id"].is_i64() && field["required"].is_boolean(), "{field}");
                match &field["call_center"] {
                    Value::Null => {}
                    center => assert_keys("custom field call_center", center, &["id", "name"]),
                }
            }
            let by_name = |name: &str| fields.iter().find(|f| f["name"] == name).unwrap().clone();

            let site = by_name("Site visit");
            assert_eq!((site["type_id"].clone(), site["required"].clone(), site["call_center"].clone()),
                       (json!(7), json!(false), Value::Null));

            let pick = by_name("Pick one");
            assert_eq!(pick["required"], json!(true));
            assert_eq!(pick["call_center"], json!({"id": f.georgia, "name": "Georgia 811"}));
            let options = pick["options"].as_array().expect("options");
            assert_eq!(options.len(), 2);
            for option in options {
                assert_keys("dropdown option", option, &["id", "name"]);
                assert!(option["id"].is_i64());
            }
            assert_eq!(options[0]["name"], "Option 1");
            assert_eq!(options[1]["name"], "Option 2");

            let area = by_name("Area");
            assert_eq!(area["type_id"], json!(9));
            let north = &area["options"][0];
            assert_eq!(north["name"], "North");
            assert!(north["id"].is_i64());
            let children: Vec<&str> = north["options"]
                .as_array()
                .unwrap_or_else(|| panic!("cascading option without nested options: {north}"))
                .iter()
                .map(|o| o["name"].as_str().unwrap())
                .collect();
            assert_eq!(children, ["North-East", "North-West"]);
            for child in north["options"].as_array().unwrap() {
                assert!(child["id"].is_i64() && child["name"].is_string(), "{child}");
            }
            let south = &area["options"][1];
            assert_eq!(south["name"], "South");
            assert!(
                south.get("options").is_none_or(|o| o == &json!([])),
                "a leaf has no children: {south}"
            );

            let crews = by_name("Crews");
            assert_eq!(crews["type_id"], json!(10));
            assert_eq!(crews["options"].as_array().unwrap().len(), 2);

            let regions = by_name("Regions");
            assert_eq!(regions["type_id"], json!(11));
            assert_eq!(regions["call_center"], json!({"id": f.texas, "name": "Texas 811"}));
            assert_eq!(regions["options"][0]["options"][0]["name"], "Houston");
            assert_eq!(regions["options"][0]["options"][0]["options"][0]["name"], "Downtown");

            assert!(by_name("Notes").get("options").is_none());
            assert!(by_name("Some date").get("options").is_none());
        }
        let theirs = get(&app, "/custom_fields", OTHER_TOKEN).await.expect(200).json();
        let names: Vec<&str> = theirs.as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Other's field"]);
    }

    // ---- 2. One ticket ----------------------------------------------------

    async fn a_posted_ticket_reads_back_in_the_documented_shape(db: &TestDatabase) {
        let f = provision(db).await;
        let app = api(db);
        post_ticket(&app, full_ticket(f.georgia, "06191-285-085")).await.expect(201);
        let doc = documented_ticket();
        for prefix in PREFIXES {
            let t = get(&app, &ticket_path(prefix, f.georgia, "06191-285-085"), ACME_TOKEN).await.expect(200).json();
            assert_same_keys("ticket", &t, &doc);
            assert_same_keys("excavator", &t["excavator"], &doc["excavator"]);
            for key in ["contact", "alt_contact", "caller"] {
                assert_same_keys(&format!("excavator.{key}"), &t["excavator"][key], &doc["excavator"][key]);
            }
            assert_same_keys("work", &t["work"], &doc["work"]);
            assert_same_keys("call_center", &t["call_center"], &doc["call_center"]);

            assert!(t["id"].is_i64(), "{t}");
            assert_eq!(t["ticket_number"], "06191-285-085");
            assert_eq!(t["reference_ticket_number"], "06191-281-082");
            assert_eq!(t["version_number"], json!(0));
            assert_eq!(t["sequence_number"], json!(84));
            assert_eq!(t["ticket_type"], "Normal");
            assert_eq!(t["ticket_action"], "NEW");
            assert_eq!(t["ticket_source"], Value::Null);
            assert_eq!(t["service_area"], "EXMPL01");
            assert_eq!(t["additional_service_areas"], json!(["EXMPL02", "FOR02", "ATL03"]));
            assert_eq!(t["status"], "unassigned");
            assert_eq!(t["response_status"], "not_available");
            assert_eq!(t["assignee"], Value::Null);
            assert_eq!(t["closed_at"], Value::Null);
            assert_eq!(t["ticket_responses"], json!([]));
            assert_eq!(t["remarks"], "Re-mark this remark pls");
            assert_eq!(t["call_center"], json!({"id": f.georgia, "name": "Georgia 811"}));
            assert_eq!(t["lat"], json!(48.992424));
            assert_eq!(t["lng"], json!(-82.49301288));

            assert_timestamp("created_at", &t["created_at"]);
            assert_timestamp("updated_at", &t["updated_at"]);
            // Offsets converted to UTC, always three decimals.
            assert_eq!(t["taken_at"], "2016-06-29T15:26:47.000Z");
            assert_eq!(t["work_start_at"], "2016-07-03T09:00:00.000Z");
            assert_eq!(t["response_due_at"], "2016-07-02T06:59:59.500Z");

            let sent = full_ticket(f.georgia, "x");
            assert_eq!(t["excavator"], sent["excavator"]);
            assert_eq!(t["work"], sent["work"]);

            // Every applicable field (common and Georgia's, not Texas'), in
            // position order, unset.
            let fields = t["custom_fields"].as_array().expect("custom_fields is a list");
            let names: Vec<&str> = fields.iter().map(|f| f["name"].as_str().unwrap()).collect();
            assert_eq!(names, ["Site visit", "Area", "Pick one", "Crews", "Notes", "Some date"]);
            for field in fields {
                assert_same_keys("ticket custom field", field, &doc["custom_fields"][0]);
                assert!(field["id"].is_i64() && field["type_id"].is_i64(), "{field}");
                assert_eq!(field["value"], Value::Null, "{field}");
            }
        }
    }

    async fn missing_values_are_null_not_absent(db: &TestDatabase) {
        let f = provision(db).await;
        let app = api(db);
        let created = post_ticket(&app, minimal_ticket(f.georgia, "MIN-1")).await.expect(201).json();
        let t = get(&app, &ticket_path("", f.georgia, "MIN-1"), ACME_TOKEN).await.expect(200).json();
        assert_eq!(created, t, "POST answers the ticket as GET shows it");
        let doc = documented_ticket();
        assert_same_keys("ticket", &t, &doc);
        for key in [
            "reference_ticket_number", "sequence_number", "ticket_type", "ticket_action", "ticket_source",
            "service_area", "closed_at", "taken_at", "work_start_at", "response_due_at", "remarks",
            "assignee", "lat", "lng",
        ] {
            assert_eq!(t.get(key), Some(&Value::Null), "{key} must be present and null: {t}");
        }
        assert_eq!(t["additional_service_areas"], json!([]));
        assert_eq!(t["ticket_responses"], json!([]));
        assert_same_keys("excavator", &t["excavator"], &doc["excavator"]);
        for key in ["type", "name", "address", "phone"] {
            assert_eq!(t["excavator"].get(key), Some(&Value::Null), "excavator.{key}: {t}");
        }
        for key in ["contact", "alt_contact", "caller"] {
            let contact = &t["excavator"][key];
            assert_same_keys(&format!("excavator.{key}"), contact, &doc["excavator"][key]);
            assert!(contact.as_object().unwrap().values().all(Value::is_null), "excavator.{key}: {contact}");
        }
        assert_same_keys("work", &t["work"], &doc["work"]);
        assert!(t["work"].as_object().unwrap().values().all(Value::is_null), "work: {}", t["work"]);
        assert_timestamp("created_at", &t["created_at"]);
        assert_eq!(t["created_at"], t["updated_at"]);
    }

    async fn the_legacy_prefix_serves_the_same_ticket(db: &TestDatabase) {
        let f = provision(db).await;
        let app = api(db);
        let prefix = integrity_api::LEGACY_PREFIX;
        let created = post_json(&app, &format!("{prefix}/tickets"), ACME_TOKEN,
                                &json!({"ticket": full_ticket(f.georgia, "LEG-1")})).await.expect(201).json();
        let root = get(&app, &ticket_path("", f.georgia, "LEG-1"), ACME_TOKEN).await.expect(200).json();
        let legacy = get(&app, &ticket_path(prefix, f.georgia, "LEG-1"), ACME_TOKEN).await.expect(200).json();
        assert_eq!(root, legacy);
        assert_eq!(root, created);
        let list = get(&app, &format!("{prefix}/tickets"), ACME_TOKEN).await.expect(200).json();
        assert_eq!(numbers(&list), ["LEG-1"]);
    }

    // ---- 3. Intake --------------------------------------------------------

    async fn intake_creates_then_versions_and_ignores_retransmissions(db: &TestDatabase) {
        let f = provision(db).await;
        let app = api(db);
        let ticket = full_ticket(f.georgia, "V-1");
        let created = post_ticket(&app, ticket.clone()).await.expect(201).json();
        assert_eq!(created["version_number"], json!(0));
        assert_eq!(created["status"], "unassigned");
        tick();

        let again = post_ticket(&app, ticket.clone()).await.expect(200).json();
        assert_eq!(again["id"], created["id"]);
        assert_eq!(again["version_number"], json!(0));
        assert_eq!(again["updated_at"], created["updated_at"], "a retransmission changes nothing");

        let mut revised = ticket.clone();
        revised["remarks"] = json!("second version");
        revised["ticket_action"] = json!("UPDATE");
        let second = post_ticket(&app, revised.clone()).await.expect(200).json();
        assert_eq!(second["id"], created["id"], "the ticket keeps its id across versions");
        assert_eq!(second["version_number"], json!(1));
        assert_eq!(second["remarks"], "second version");
        assert_eq!(second["created_at"], created["created_at"]);

        let read = get(&app, &ticket_path("", f.georgia, "V-1"), ACME_TOKEN).await.expect(200).json();
        assert_eq!(read["version_number"], json!(1));
        assert_eq!(read["remarks"], "second version");

        tick();
        let third = post_ticket(&app, revised).await.expect(200).json();
        assert_eq!(third["version_number"], json!(1), "repeating the new version changes nothing");

        // Same number in another call center is another ticket.
        let texas = post_ticket(&app, minimal_ticket(f.texas, "V-1")).await.expect(201).json();
        assert_ne!(texas["id"], created["id"]);
    }

    async fn a_ticket_read_back_can_be_posted_again_unchanged(db: &TestDatabase) {
        let f = provision(db).await;
        let app = api(db);
        for number in ["RB-1", "RB-2"] {
            let ticket = if number == "RB-1" { full_ticket(f.georgia, number) } else { minimal_ticket(f.georgia, number) };
            let created = post_ticket(&app, ticket).await.expect(201).json();
            let read = get(&app, &ticket_path("", f.georgia, number), ACME_TOKEN).await.expect(200).json();
            // The GET shape with its server-owned keys is accepted, and is
            // the same content.
            let reposted = post_ticket(&app, read).await.expect(200).json();
            assert_eq!(reposted["version_number"], created["version_number"], "{number}");
            assert_eq!(reposted["id"], created["id"]);
        }
    }

    async fn intake_names_the_invalid_field(db: &TestDatabase) {
        let f = provision(db).await;
        let app = api(db);
        let invalid = |mut ticket: Value, change: &dyn Fn(&mut Value)| {
            change(&mut ticket);
            ticket
        };
        let base = full_ticket(f.georgia, "BAD-1");
        let cases: Vec<(&str, Value)> = vec![
            ("ticket_number", invalid(base.clone(), &|t| { t.as_object_mut().unwrap().remove("ticket_number"); })),
            ("ticket_number", invalid(base.clone(), &|t| t["ticket_number"] = json!("   "))),
            ("call_center", invalid(base.clone(), &|t| t["call_center"] = json!({"id": 987654321}))),
            ("call_center", invalid(base.clone(), &|t| t["call_center"] = json!({"id": f.other_georgia}))),
            ("call_center", invalid(base.clone(), &|t| { t.as_object_mut().unwrap().remove("call_center"); })),
            ("work.area", invalid(base.clone(), &|t| t["work"]["area"] = json!({"type": "Point", "coordinates": [-84.1, 33.9]}))),
            ("work.area", invalid(base.clone(), &|t| t["work"]["area"] = json!({"type": "Polygon", "coordinates": [[[-84.1, 33.9], [-84.09, 33.9], [-84.09, 33.91], [-84.0, 33.9]]]}))),
            ("work.area", invalid(base.clone(), &|t| t["work"]["area"] = json!("nonsense"))),
            ("taken_at", invalid(base.clone(), &|t| t["taken_at"] = json!("yesterday"))),
            ("work_start_at", invalid(base.clone(), &|t| t["work_start_at"] = json!("2016-02-30T00:00:00Z"))),
            ("colour", invalid(base.clone(), &|t| t["colour"] = json!("red"))),
            ("excavator.contact.mail", invalid(base.clone(), &|t| t["excavator"]["contact"]["mail"] = json!("x@y.z"))),
            ("lat", invalid(base.clone(), &|t| t["lat"] = json!(123.0))),
        ];
        for (key, ticket) in cases {
            let errors = post_ticket(&app, ticket.clone()).await.expect_error(422);
            assert!(errors.contains_key(key), "expected errors[{key}] for {ticket}, got {errors:?}");
        }
        // Nothing was stored by any of them.
        let list = get(&app, "/tickets", ACME_TOKEN).await.expect(200).json();
        assert_eq!(list, json!([]));
        let theirs = get(&app, "/tickets", OTHER_TOKEN).await.expect(200).json();
        assert_eq!(theirs, json!([]), "nothing landed in the other account either");
    }

    // ---- 4. Not found, wrong method ---------------------------------------

    async fn other_accounts_tickets_are_not_found(db: &TestDatabase) {
        let f = provision(db).await;
        let app = api(db);
        post_ticket(&app, minimal_ticket(f.georgia, "SECRET-1")).await.expect(201);
        post_json(&app, "/tickets", OTHER_TOKEN, &json!({"ticket": minimal_ticket(f.other_georgia, "THEIRS-1")}))
            .await
            .expect(201);
        for prefix in PREFIXES {
            // By acme's call center id and number, as the other account.
            assert_base_error(get(&app, &ticket_path(prefix, f.georgia, "SECRET-1"), OTHER_TOKEN).await, 404);
            // By the other account's center, as acme.
            assert_base_error(get(&app, &ticket_path(prefix, f.other_georgia, "THEIRS-1"), ACME_TOKEN).await, 404);
            // The same number under the other's center id is not acme's ticket.
            assert_base_error(get(&app, &ticket_path(prefix, f.other_georgia, "SECRET-1"), ACME_TOKEN).await, 404);
            get(&app, &ticket_path(prefix, f.georgia, "SECRET-1"), ACME_TOKEN).await.expect(200);
        }
        let theirs = get(&app, "/tickets", OTHER_TOKEN).await.expect(200).json();
        assert_eq!(numbers(&theirs), ["THEIRS-1"]);
        let ours = get(&app, "/tickets", ACME_TOKEN).await.expect(200).json();
        assert_eq!(numbers(&ours), ["SECRET-1"]);
        let filtered = get(&app, &format!("/tickets?call_center_id={}", f.georgia), OTHER_TOKEN).await.expect(200).json();
        assert_eq!(filtered, json!([]));
    }

    async fn unknown_routes_and_bad_ids_are_json_404(db: &TestDatabase) {
        let f = provision(db).await;
        let app = api(db);
        post_ticket(&app, minimal_ticket(f.georgia, "T-1")).await.expect(201);
        for prefix in PREFIXES {
            for path in [
                format!("{prefix}/tickets/by_center/georgia/by_number/T-1"),
                format!("{prefix}/tickets/by_center/{}x/by_number/T-1", f.georgia),
                format!("{prefix}/tickets/by_center/99999999999999999999999/by_number/T-1"),
                ticket_path(prefix, f.georgia, "NO-SUCH-TICKET"),
                ticket_path(prefix, 987654321, "T-1"),
                format!("{prefix}/no_such_route"),
                format!("{prefix}/tickets/by_center/{}", f.georgia),
                format!("{prefix}/call_centers/{}", f.georgia),
            ] {
                let resp = get(&app, &path, ACME_TOKEN).await;
                assert_eq!(resp.status.as_u16(), 404, "GET {path}: {}", resp.text());
                assert_base_error(resp, 404);
            }
        }
        assert_base_error(get(&app, "/api/integrations/other/call_centers", ACME_TOKEN).await, 404);
        assert_base_error(send(&app, request(Method::GET, "/nope", None, Body::empty())).await, 404);
    }

    async fn wrong_methods_are_json_405(db: &TestDatabase) {
        let f = provision(db).await;
        let app = api(db);
        for prefix in PREFIXES {
            for (method, path) in [
                (Method::DELETE, format!("{prefix}/call_centers")),
                (Method::POST, format!("{prefix}/call_centers")),
                (Method::PUT, format!("{prefix}/custom_fields")),
                (Method::DELETE, format!("{prefix}/tickets")),
                (Method::PUT, format!("{prefix}/tickets")),
                (Method::DELETE, ticket_path(prefix, f.georgia, "T-1")),
                (Method::POST, format!("{prefix}/healthz")),
            ] {
                let resp = send(&app, request(method.clone(), &path, Some(ACME_TOKEN), Body::empty())).await;
                assert_eq!(resp.status.as_u16(), 405, "{method} {path}: {}", resp.text());
                assert_base_error(resp, 405);
            }
        }
    }

    // ---- 5. Authentication ------------------------------------------------

    async fn every_documented_authorization_form_is_accepted(db: &TestDatabase) {
        provision(db).await;
        let app = api(db);
        for value in [
            format!("Token token=\"{ACME_TOKEN}\""),
            format!("Token token={ACME_TOKEN}"),
            format!("Token token=\"{ACME_TOKEN}\", nonce=\"abc\""),
            format!("Token nonce=abc, token={ACME_TOKEN}"),
            format!("Token {ACME_TOKEN}"),
            format!("Bearer {ACME_TOKEN}"),
        ] {
            for prefix in PREFIXES {
                let req = Request::builder()
                    .uri(format!("{prefix}/call_centers"))
                    .header(header::AUTHORIZATION, &value)
                    .body(Body::empty())
                    .unwrap();
                let resp = send(&app, req).await;
                assert_eq!(resp.status.as_u16(), 200, "{value}: {}", resp.text());
                assert_eq!(resp.json().as_array().unwrap().len(), 2, "{value}: acme's centers");
            }
        }
        // The other account's key sees the other account.
        let req = Request::builder()
            .uri("/call_centers")
            .header(header::AUTHORIZATION, format!("Bearer {OTHER_TOKEN}"))
            .body(Body::empty())
            .unwrap();
        assert_eq!(send(&app, req).await.expect(200).json().as_array().unwrap().len(), 1);
    }

    async fn missing_or_unknown_tokens_are_401_with_challenge(db: &TestDatabase) {
        let f = provision(db).await;
        let app = api(db);
        post_ticket(&app, minimal_ticket(f.georgia, "T-1")).await.expect(201);
        let headers: [Option<String>; 7] = [
            None,
            Some("Token token=\"no-such-key-000000000\"".into()),
            Some("Bearer no-such-key-000000000".into()),
            Some(format!("Basic {ACME_TOKEN}")),
            Some("Token token=\"\"".into()),
            Some("Token".into()),
            Some(format!("Token token=\"{ACME_TOKEN}x\"")),
        ];
        for prefix in PREFIXES {
            for path in [
                format!("{prefix}/call_centers"),
                format!("{prefix}/custom_fields"),
                format!("{prefix}/tickets"),
                ticket_path(prefix, f.georgia, "T-1"),
            ] {
                for value in &headers {
                    let mut builder = Request::builder().uri(&path);
                    if let Some(value) = value {
                        builder = builder.header(header::AUTHORIZATION, value);
                    }
                    let resp = send(&app, builder.body(Body::empty()).unwrap()).await;
                    assert_eq!(resp.status.as_u16(), 401, "GET {path} with {value:?}: {}", resp.text());
                    assert_eq!(
                        resp.header("www-authenticate").as_deref(),
                        Some("Token realm=\"Application\""),
                        "GET {path} with {value:?}"
                    );
                    assert_base_error(resp, 401);
                }
            }
            // Writing without a key is refused too, and stores nothing.
            let req = Request::builder()
                .method(Method::POST)
                .uri(format!("{prefix}/tickets"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(json!({"ticket": minimal_ticket(f.georgia, "ANON-1")}).to_string()))
                .unwrap();
            assert_base_error(send(&app, req).await, 401);
        }
        let list = get(&app, "/tickets", ACME_TOKEN).await.expect(200).json();
        assert_eq!(numbers(&list), ["T-1"]);
    }

    async fn disabled_api_access_is_402(db: &TestDatabase) {
        provision(db).await;
        let app = api(db);
        for prefix in PREFIXES {
            for path in ["/call_centers", "/custom_fields", "/tickets"] {
                let resp = get(&app, &format!("{prefix}{path}"), FROZEN_TOKEN).await;
                assert_base_error(resp, 402);
            }
        }
        let resp = post_json(&app, "/tickets", FROZEN_TOKEN, &json!({"ticket": minimal_ticket(1, "F-1")})).await;
        assert_base_error(resp, 402);
    }

    async fn host_subdomain_must_match_the_token_account(db: &TestDatabase) {
        provision(db).await;
        let app = api_with_base_domain(db);
        let with_host = |host: &str, token: &str| {
            Request::builder()
                .uri("/call_centers")
                .header(header::HOST, host)
                .header(header::AUTHORIZATION, format!("Token token=\"{token}\""))
                .body(Body::empty())
                .unwrap()
        };
        for host in ["acme.integrity.test", "ACME.integrity.test", "acme.integrity.test:443"] {
            let resp = send(&app, with_host(host, ACME_TOKEN)).await;
            assert_eq!(resp.status.as_u16(), 200, "Host {host}: {}", resp.text());
        }
        for (host, token) in [
            ("other.integrity.test", ACME_TOKEN),
            ("acme.integrity.test", OTHER_TOKEN),
            ("nobody.integrity.test", ACME_TOKEN),
        ] {
            let resp = send(&app, with_host(host, token)).await;
            assert_eq!(resp.status.as_u16(), 401, "Host {host}: {}", resp.text());
            assert_eq!(resp.header("www-authenticate").as_deref(), Some("Token realm=\"Application\""));
            assert_base_error(resp, 401);
        }
        let resp = send(&app, with_host("other.integrity.test", OTHER_TOKEN)).await.expect(200).json();
        assert_eq!(resp.as_array().unwrap().len(), 1);
    }

    async fn healthz_needs_no_token(db: &TestDatabase) {
        provision(db).await;
        for app in [api(db), api_with_base_domain(db)] {
            for prefix in PREFIXES {
                let resp = send(&app, request(Method::GET, &format!("{prefix}/healthz"), None, Body::empty())).await;
                let body = resp.expect(200).json();
                assert!(body.is_object(), "{body}");
            }
        }
    }

    // ---- 6. Listing -------------------------------------------------------

    async fn ticket_list_is_newest_change_first(db: &TestDatabase) {
        let f = provision(db).await;
        let app = api(db);
        for number in ["A", "B", "C"] {
            post_ticket(&app, minimal_ticket(f.georgia, number)).await.expect(201);
            tick();
        }
        let list = get(&app, "/tickets", ACME_TOKEN).await.expect(200).json();
        assert_eq!(numbers(&list), ["C", "B", "A"]);
        for ticket in list.as_array().unwrap() {
            assert_same_keys("listed ticket", ticket, &documented_ticket());
        }

        let mut revised = minimal_ticket(f.georgia, "A");
        revised["remarks"] = json!("changed");
        post_ticket(&app, revised).await.expect(200);
        tick();
        // A retransmission is no change and does not move the ticket up.
        post_ticket(&app, minimal_ticket(f.georgia, "B")).await.expect(200);
        let list = get(&app, "/tickets", ACME_TOKEN).await.expect(200).json();
        assert_eq!(numbers(&list), ["A", "C", "B"]);
    }

    async fn ticket_list_filters(db: &TestDatabase) {
        let f = provision(db).await;
        let app = api(db);
        let mut t1 = minimal_ticket(f.georgia, "GA-100");
        t1["service_area"] = json!("EXMPL01");
        t1["additional_service_areas"] = json!(["FOR01"]);
        t1["remarks"] = json!("Dig near the OAK tree");
        let mut t2 = minimal_ticket(f.georgia, "GA-200");
        t2["service_area"] = json!("FOR01");
        t2["excavator"] = json!({"name": "Shovel Inc"});
        let mut t3 = minimal_ticket(f.texas, "TX-300");
        t3["service_area"] = json!("TX01");
        t3["work"] = json!({"address": "Oak Street"});
        post_ticket(&app, t1).await.expect(201);
        tick();
        post_ticket(&app, t2).await.expect(201);
        tick();
        let t3 = post_ticket(&app, t3).await.expect(201).json();

        let list = |query: String| {
            let app = app.clone();
            async move {
                let resp = get(&app, &format!("/tickets?{query}"), ACME_TOKEN).await;
                assert_eq!(resp.status.as_u16(), 200, "?{query}: {}", resp.text());
                numbers(&resp.json())
            }
        };
        assert_eq!(list("status=unassigned".into()).await, ["TX-300", "GA-200", "GA-100"]);
        assert!(list("status=closed".into()).await.is_empty());
        assert!(list("status=assigned".into()).await.is_empty());
        assert!(list("status=cancelled".into()).await.is_empty());
        assert_eq!(list(format!("call_center_id={}", f.texas)).await, ["TX-300"]);
        assert_eq!(list(format!("call_center_id={}", f.georgia)).await, ["GA-200", "GA-100"]);
        assert!(list(format!("call_center_id={}", f.other_georgia)).await.is_empty());
        // The primary service area and the additional ones.
        assert_eq!(list("service_area=FOR01".into()).await, ["GA-200", "GA-100"]);
        assert_eq!(list("service_area=EXMPL01".into()).await, ["GA-100"]);
        assert!(list("service_area=NOPE".into()).await.is_empty());
        // updated_since is inclusive, and accepts an offset.
        let since = t3["updated_at"].as_str().unwrap().to_string();
        assert_eq!(list(format!("updated_since={since}")).await, ["TX-300"]);
        assert_eq!(list("updated_since=2000-01-01T00:00:00-05:00".into()).await.len(), 3);
        assert!(list("updated_since=2999-01-01T00:00:00Z".into()).await.is_empty());
        // A date alone is its midnight, UTC.
        assert_eq!(list("updated_since=2000-01-01".into()).await.len(), 3);
        assert!(list("updated_since=2999-01-01".into()).await.is_empty());
        // q: number or text, case-insensitive.
        assert_eq!(list("q=ga-100".into()).await, ["GA-100"]);
        assert_eq!(list("q=TX-300".into()).await, ["TX-300"]);
        assert_eq!(list("q=oak".into()).await, ["TX-300", "GA-100"]);
        assert_eq!(list("q=SHOVEL".into()).await, ["GA-200"]);
        assert!(list("q=nothing%20like%20this".into()).await.is_empty());
        assert!(list("q=%25".into()).await.is_empty(), "% is a literal, not a wildcard");
        // Combined with AND.
        assert_eq!(list(format!("q=oak&call_center_id={}", f.georgia)).await, ["GA-100"]);
        assert_eq!(list("q=oak&service_area=FOR01&status=unassigned".into()).await, ["GA-100"]);
        // Another account sees none of it.
        let theirs = get(&app, "/tickets?q=oak", OTHER_TOKEN).await.expect(200).json();
        assert_eq!(theirs, json!([]));
    }

    async fn ticket_list_pages_with_link_header(db: &TestDatabase) {
        let f = provision(db).await;
        let app = api(db);
        let mut all = Vec::new();
        for i in 0..7 {
            let number = format!("P-{i}");
            let mut t = minimal_ticket(if i % 3 == 0 { f.texas } else { f.georgia }, &number);
            t["remarks"] = json!("paged");
            post_ticket(&app, t).await.expect(201);
            all.push(number);
        }
        let mut other = minimal_ticket(f.georgia, "OUTSIDE-1");
        other["remarks"] = json!("not in the filter");
        post_ticket(&app, other).await.expect(201);

        for prefix in PREFIXES {
            for per_page in [1, 2, 3, 7, 50] {
                let mut seen: Vec<String> = Vec::new();
                let mut uri = format!("{prefix}/tickets?q=paged&per_page={per_page}");
                let mut pages = 0;
                loop {
                    let resp = get(&app, &uri, ACME_TOKEN).await;
                    assert_eq!(resp.status.as_u16(), 200, "{uri}: {}", resp.text());
                    let page = numbers(&resp.json());
                    assert!(page.len() <= per_page, "{uri} has {} tickets", page.len());
                    pages += 1;
                    assert!(pages <= 20, "paging does not end");
                    seen.extend(page);
                    match next_link(&resp) {
                        Some(next) => {
                            assert!(next.starts_with(&format!("{prefix}/tickets?")), "next link {next} leaves {prefix}/tickets");
                            uri = next;
                        }
                        None => break,
                    }
                }
                let mut sorted = seen.clone();
                sorted.sort();
                let mut expected = all.clone();
                expected.sort();
                assert_eq!(sorted, expected, "per_page={per_page}: every ticket exactly once, got {seen:?}");
                let newest_first: Vec<String> = all.iter().rev().cloned().collect();
                assert_eq!(seen, newest_first, "per_page={per_page}: newest first across pages");
                assert_eq!(pages, all.len().div_ceil(per_page).max(1), "per_page={per_page}: no empty trailing page");
            }
        }
        // The default page size holds them all, without a Link.
        let resp = get(&app, "/tickets", ACME_TOKEN).await.expect(200);
        assert!(resp.header("link").is_none());
        assert_eq!(numbers(&resp.json()).len(), 8);
    }

    async fn ticket_list_rejects_bad_parameters(db: &TestDatabase) {
        provision(db).await;
        let app = api(db);
        for prefix in PREFIXES {
            for (query, key) in [
                ("status=open", "status"),
                ("status=", "status"),
                ("status=CLOSED", "status"),
                ("per_page=0", "per_page"),
                ("per_page=501", "per_page"),
                ("per_page=x", "per_page"),
                ("per_page=-1", "per_page"),
                ("per_page=", "per_page"),
                ("updated_since=yesterday", "updated_since"),
                ("updated_since=2016-02-30T00:00:00Z", "updated_since"),
                ("updated_since=2016-02-30", "updated_since"),
                ("page=abc", "page"),
                ("page=1_x", "page"),
                ("call_center_id=georgia", "call_center_id"),
                ("sort=asc", "sort"),
                ("q=oak&colour=red", "colour"),
            ] {
                let resp = get(&app, &format!("{prefix}/tickets?{query}"), ACME_TOKEN).await;
                assert_eq!(resp.status.as_u16(), 422, "?{query}: {}", resp.text());
                let errors = resp.expect_error(422);
                assert!(errors.contains_key(key), "?{query}: expected errors[{key}], got {errors:?}");
            }
        }
        get(&app, "/tickets?per_page=1", ACME_TOKEN).await.expect(200);
        get(&app, "/tickets?per_page=500", ACME_TOKEN).await.expect(200);
    }

    // ---- 7. Bad input -----------------------------------------------------

    async fn malformed_bodies_are_400(db: &TestDatabase) {
        let f = provision(db).await;
        let app = api(db);
        let bodies: Vec<(&str, Vec<u8>)> = vec![
            ("malformed JSON", b"{\"ticket\": {".to_vec()),
            ("trailing garbage", format!("{} x", json!({"ticket": minimal_ticket(f.georgia, "X-1")})).into_bytes()),
            ("not UTF-8", b"{\"ticket\": {\"ticket_number\": \"\xff\xfe\"}}".to_vec()),
            ("Latin-1", b"{\"ticket\": {\"remarks\": \"caf\xe9\"}}".to_vec()),
            ("no root key", json!(minimal_ticket(f.georgia, "X-1")).to_string().into_bytes()),
            ("another root key", json!({"tickets": minimal_ticket(f.georgia, "X-1")}).to_string().into_bytes()),
            ("null root", json!({"ticket": null}).to_string().into_bytes()),
            ("a list", b"[]".to_vec()),
            ("a string", b"\"ticket\"".to_vec()),
            ("empty", Vec::new()),
        ];
        for prefix in PREFIXES {
            for (what, body) in &bodies {
                let resp = send(&app, request(Method::POST, &format!("{prefix}/tickets"), Some(ACME_TOKEN), body.clone())).await;
                assert_eq!(resp.status.as_u16(), 400, "{what}: {}", resp.text());
                assert_base_error(resp, 400);
            }
        }
        assert_eq!(get(&app, "/tickets", ACME_TOKEN).await.expect(200).json(), json!([]));
    }

    async fn oversized_bodies_are_413(db: &TestDatabase) {
        let f = provision(db).await;
        let app = api(db);
        // A valid ticket padded past 1 MiB.
        let mut ticket = minimal_ticket(f.georgia, "BIG-1");
        ticket["remarks"] = json!("x".repeat(integrity_api::MAX_BODY_BYTES));
        let big = json!({"ticket": ticket}).to_string();
        assert!(big.len() > integrity_api::MAX_BODY_BYTES);
        for prefix in PREFIXES {
            let uri = format!("{prefix}/tickets");
            // With a Content-Length.
            let mut req = request(Method::POST, &uri, Some(ACME_TOKEN), big.clone());
            req.headers_mut().insert(header::CONTENT_LENGTH, big.len().into());
            assert_base_error(send(&app, req).await, 413);
            // Without a Content-Length: the limit holds while reading.
            let req = request(Method::POST, &uri, Some(ACME_TOKEN), big.clone());
            assert!(req.headers().get(header::CONTENT_LENGTH).is_none());
            assert_base_error(send(&app, req).await, 413);
            // A Content-Length that understates the body does not get it in.
            let mut req = request(Method::POST, &uri, Some(ACME_TOKEN), big.clone());
            req.headers_mut().insert(header::CONTENT_LENGTH, 100.into());
            assert_base_error(send(&app, req).await, 413);
            // Just under the limit is read (and then validated).
            let mut fits = minimal_ticket(f.georgia, "FITS-1");
            fits["remarks"] = json!("y".repeat(integrity_api::MAX_BODY_BYTES - 200));
            let fits = json!({"ticket": fits}).to_string();
            assert!(fits.len() <= integrity_api::MAX_BODY_BYTES);
            let resp = send(&app, request(Method::POST, &uri, Some(ACME_TOKEN), fits)).await;
            assert!(resp.status.as_u16() == 201 || resp.status.as_u16() == 200, "{}", resp.status);
        }
        let list = get(&app, "/tickets", ACME_TOKEN).await.expect(200).json();
        assert_eq!(numbers(&list), ["FITS-1"]);
    }

    async fn garbage_to_every_route_is_never_a_500(db: &TestDatabase) {
        let f = provision(db).await;
        let app = api(db);
        post_ticket(&app, minimal_ticket(f.georgia, "G-1")).await.expect(201);

        let mut random = Vec::with_capacity(4096);
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..4096 {
            // xorshift: the same bytes every run.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            random.push(state as u8);
        }
        let deep_array = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let deep_in_ticket = format!(
            "{{\"ticket\": {{\"ticket_number\": \"D-1\", \"call_center\": {{\"id\": {}}}, \"work\": {{\"area\": {{\"type\": \"Polygon\", \"coordinates\": {}1{}}}}}}}}}",
            f.georgia,
            "[".repeat(100),
            "]".repeat(100)
        );
        let bodies: Vec<(&str, Vec<u8>)> = vec![
            ("nothing", Vec::new()),
            ("random bytes", random),
            ("{", b"{".to_vec()),
            ("[]", b"[]".to_vec()),
            ("null", b"null".to_vec()),
            ("ticket 5", br#"{"ticket": 5}"#.to_vec()),
            ("ticket_number list", br#"{"ticket": {"ticket_number": ["x"]}}"#.to_vec()),
            ("deep arrays", deep_array.into_bytes()),
            ("deep area", deep_in_ticket.into_bytes()),
            ("huge id", br#"{"ticket": {"ticket_number": "H-1", "call_center": {"id": 1e400}}}"#.to_vec()),
            ("overflowing id", br#"{"ticket": {"ticket_number": "H-1", "call_center": {"id": 18446744073709551616}}}"#.to_vec()),
            ("negative id", br#"{"ticket": {"ticket_number": "H-1", "call_center": {"id": -1}}}"#.to_vec()),
            ("lone surrogate", br#"{"ticket": {"ticket_number": "\ud800", "call_center": {"id": 1}}}"#.to_vec()),
            ("long number", json!({"ticket": {"ticket_number": "9".repeat(5000), "call_center": {"id": f.georgia}}}).to_string().into_bytes()),
            ("wrong types", json!({"ticket": {"ticket_number": 5, "call_center": "Georgia", "excavator": [], "work": {"area": 7}, "lat": "north"}}).to_string().into_bytes()),
        ];
        let mut paths = Vec::new();
        for prefix in PREFIXES {
            paths.push(format!("{prefix}/healthz"));
            paths.push(format!("{prefix}/call_centers"));
            paths.push(format!("{prefix}/custom_fields"));
            paths.push(format!("{prefix}/tickets"));
            paths.push(ticket_path(prefix, f.georgia, "G-1"));
            paths.push(ticket_path(prefix, f.georgia, "NO-SUCH"));
            paths.push(ticket_path(prefix, "x", "G-1"));
            paths.push(format!("{prefix}/no_such_route"));
        }
        let methods = [Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE];
        let mut failures = Vec::new();
        for path in &paths {
            for method in &methods {
                for (what, body) in &bodies {
                    let resp = send(&app, request(method.clone(), path, Some(ACME_TOKEN), body.clone())).await;
                    if let Some(problem) = garbage_problem(&resp) {
                        failures.push(format!("{method} {path} with {what}: {problem}"));
                    }
                }
            }
        }
        assert!(failures.is_empty(), "{} bad answers:\n{}", failures.len(), failures.join("\n"));
    }

    async fn garbage_in_paths_and_queries_is_never_a_500(db: &TestDatabase) {
        let f = provision(db).await;
        let app = api(db);
        post_ticket(&app, minimal_ticket(f.georgia, "G-1")).await.expect(201);
        let mut uris = Vec::new();
        for prefix in PREFIXES {
            for query in [
                "q=%FF", "q=%", "q=_", "q=%5C", "service_area=%FF",
                "status=%00", "call_center_id=-1", "call_center_id=99999999999999999999",
                "page=9223372036854775807_9223372036854775807", "page=-9223372036854775808_-1",
                "updated_since=%00", "updated_since=99999-01-01T00:00:00Z",
                "updated_since=-262144-01-01T00:00:00Z", "per_page=%2B5", "per_page=4294967296",
                "q=a&q=b", "=x", "&&&", "q", "%FF=1",
            ] {
                uris.push(format!("{prefix}/tickets?{query}"));
            }
            for (center, number) in [
                ("-1".to_string(), "G-1"),
                ("%20".to_string(), "G-1"),
                (f.georgia.to_string(), "%2F"),
                (f.georgia.to_string(), &"9".repeat(5000)),
            ] {
                uris.push(ticket_path(prefix, center, number));
            }
        }
        let mut failures = Vec::new();
        for uri in &uris {
            let resp = get(&app, uri, ACME_TOKEN).await;
            if let Some(problem) = garbage_problem(&resp) {
                failures.push(format!("GET {uri}: {problem}"));
            }
        }
        assert!(failures.is_empty(), "{} bad answers:\n{}", failures.len(), failures.join("\n"));
    }
    // NUL characters are valid JSON (`\u0000`) and valid percent-encoding
    // (`%00`), but PostgreSQL's text type cannot hold them.
    async fn nul_characters_in_a_ticket_are_not_a_500(db: &TestDatabase) {
        let f = provision(db).await;
        let app = api(db);
        for prefix in PREFIXES {
            for (what, number, ticket) in [
                ("NUL in ticket_number", "N\u{0}1",
                 json!({"ticket_number": "N\u{0}1", "call_center": {"id": f.georgia}})),
                ("NUL in remarks", "N-2",
                 json!({"ticket_number": "N-2", "remarks": "a\u{0}b", "call_center": {"id": f.georgia}})),
                ("NUL in excavator.name", "N-3",
                 json!({"ticket_number": "N-3", "excavator": {"name": "\u{0}"}, "call_center": {"id": f.georgia}})),
            ] {
                let resp = post_json(&app, &format!("{prefix}/tickets"), ACME_TOKEN, &json!({"ticket": ticket})).await;
                let status = resp.status.as_u16();
                assert!(
                    matches!(status, 200 | 201 | 400 | 422),
                    "POST {prefix}/tickets with {what}: expected 201 (stored), 400 or 422 (refused), got {status}: {}",
                    resp.text()
                );
                if status >= 400 {
                    resp.expect_error(status);
                } else {
                    let stored = resp.json();
                    assert_eq!(stored["ticket_number"], json!(number), "{what}");
                }
            }
        }
        get(&app, "/tickets", ACME_TOKEN).await.expect(200);
    }

    async fn nul_characters_in_paths_and_queries_are_not_a_500(db: &TestDatabase) {
        let f = provision(db).await;
        let app = api(db);
        post_ticket(&app, minimal_ticket(f.georgia, "G-1")).await.expect(201);
        let mut failures = Vec::new();
        for prefix in PREFIXES {
            for query in ["q=%00", "q=G%00", "service_area=%00", "status=%00", "updated_since=%00", "page=%00"] {
                let uri = format!("{prefix}/tickets?{query}");
                let resp = get(&app, &uri, ACME_TOKEN).await;
                let status = resp.status.as_u16();
                if !(status == 200 || status == 422) || garbage_problem(&resp).is_some() {
                    failures.push(format!("GET {uri}: expected 200 or 422, got {status}: {}", short(&resp.text())));
                }
            }
            for number in ["%00", "a%00b", "G-1%00"] {
                let uri = ticket_path(prefix, f.georgia, number);
                let resp = get(&app, &uri, ACME_TOKEN).await;
                let status = resp.status.as_u16();
                if status != 404 || garbage_problem(&resp).is_some() {
                    failures.push(format!("GET {uri}: expected 404, got {status}: {}", short(&resp.text())));
                }
            }
        }
        assert!(failures.is_empty(), "{} bad answers:\n{}", failures.len(), failures.join("\n"));
    }

    // Percent-encoding that is not UTF-8 in a path segment names nothing.
    async fn invalid_utf8_in_a_path_is_a_json_error(db: &TestDatabase) {
        let f = provision(db).await;
        let app = api(db);
        post_ticket(&app, minimal_ticket(f.georgia, "G-1")).await.expect(201);
        let mut failures = Vec::new();
        for prefix in PREFIXES {
            for uri in [
                ticket_path(prefix, f.georgia, "%FF"),
                ticket_path(prefix, f.georgia, "G-1%C3"),
                ticket_path(prefix, "%FF", "G-1"),
            ] {
                let resp = get(&app, &uri, ACME_TOKEN).await;
                let status = resp.status.as_u16();
                let problem = garbage_problem(&resp);
                if !(status == 404 || status == 400) || problem.is_some() {
                    failures.push(format!(
                        "GET {uri}: expected 404 (or 400) in the error shape, got {}",
                        problem.unwrap_or_else(|| format!("{status}: {}", short(&resp.text())))
                    ));
                }
            }
        }
        assert!(failures.is_empty(), "{} bad answers:\n{}", failures.len(), failures.join("\n"));
    }
}

/// What is wrong with an answer to garbage: a 500, a body that is not
/// JSON, or an error without the `errors` object.
fn garbage_problem(resp: &Resp) -> Option<String> {
    let status = resp.status.as_u16();
    if status >= 500 {
        return Some(format!("status {status}: {}", short(&resp.text())));
    }
    let body: Value = match serde_json::from_slice(&resp.bytes) {
        Ok(body) => body,
        Err(_) => {
            return Some(format!(
                "status {status} with a non-JSON body {:?}",
                short(&resp.text())
            ))
        }
    };
    if status >= 400 && !body.get("errors").is_some_and(Value::is_object) {
        return Some(format!(
            "status {status} without an `errors` object: {}",
            short(&body.to_string())
        ));
    }
    None
}

fn short(text: &str) -> String {
    text.chars().take(200).collect()
}
