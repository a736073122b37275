//! The store's conformance suite: every test runs on SQLite and, when
//! `INTEGRITY_TEST_POSTGRES_URL` is set, on PostgreSQL.

use integrity_domain::manifest::Manifest;
use integrity_domain::ticket::{parse_intake, TicketStatus};
use integrity_store::testing::TestDatabase;
use integrity_store::{
    test_on_both_backends, AccountId, Document, IntakeOutcome, PreparedIntake, Provenance, Store,
    StoreError, TicketFilter,
};
use serde_json::json;

const TOKEN_A: &str = "acme-existing-key-0001";
const TOKEN_B: &str = "other-existing-key-0002";

fn manifest() -> serde_json::Value {
    json!({"accounts": [
        {"subdomain": "acme", "name": "Acme Locating", "plan": {"max_users": 3},
         "users": [{"name": "Al Dente", "email": "Al@Example.com", "role": "admin", "api_tokens": [TOKEN_A]},
                   {"name": "Vi Ewer", "email": "vi@example.com", "role": "viewer", "active": false,
                    "api_tokens": ["inactive-user-key-0003"]}],
         "call_centers": [
            {"name": "Georgia 811", "state": "Georgia", "facilities": ["Gas", "Water"],
             "service_areas": [{"code": "EXMPL01", "facilities": ["Gas"]}, {"code": "FOR01"}],
             "response_codes": [
                {"code": "1A", "description": "Marked.", "completes": true},
                {"code": "10A", "description": "Large Projects", "ticket_types": ["Large Project"]}]},
            {"name": "Texas 811", "state": "Texas", "facility_required": true, "facilities": ["Gas"],
             "service_areas": [{"code": "TX01"}]}],
         "custom_fields": [
            {"name": "Site visit", "type_id": 7, "position": 0},
            {"name": "Area", "type_id": 9, "call_center": "Georgia 811", "position": 1,
             "options": [{"name": "North", "options": [{"name": "North-East"}]}, {"name": "South"}]}]},
        {"subdomain": "other", "name": "Other Utility",
         "users": [{"name": "Bo", "email": "bo@example.org", "role": "admin", "api_tokens": [TOKEN_B]}],
         "call_centers": [{"name": "Georgia 811", "service_areas": [{"code": "EXMPL01"}]}]}
    ]})
}

fn parse_manifest(value: &serde_json::Value) -> Manifest {
    Manifest::from_json(&value.to_string()).expect("valid manifest")
}

async fn provisioned(store: &Store) -> (AccountId, AccountId) {
    store
        .apply(&parse_manifest(&manifest()))
        .await
        .expect("apply");
    let acme = store.account_by_subdomain("acme").await.unwrap().unwrap();
    let other = store.account_by_subdomain("other").await.unwrap().unwrap();
    (acme, other)
}

async fn georgia(store: &Store, account: AccountId) -> i64 {
    store.call_centers(account).await.unwrap()[0].id
}

fn ticket(center: i64, number: &str, remarks: &str) -> integrity_domain::ticket::TicketIntake {
    parse_intake(json!({
        "ticket_number": number, "call_center": {"id": center}, "remarks": remarks,
        "service_area": "EXMPL01", "additional_service_areas": ["FOR01"],
        "taken_at": "2016-06-29T15:26:47.000Z",
    }))
    .expect("valid ticket")
}

/// A document as an intake channel would bring it.
fn provenance(body: &str, revision: Option<i64>, cancelled: bool) -> Provenance {
    let document = |name: &str, body: &str| Document {
        name: name.into(),
        content_type: "application/json".into(),
        body: body.as_bytes().to_vec(),
    };
    Provenance {
        format: "open-ticket".into(),
        document: document("ticket.json", body),
        attachments: vec![document("map.gml", "<gml/>")],
        revision,
        cancelled,
        notes: vec!["a note".into()],
        extra: serde_json::value::to_raw_value(&json!({"members": [{"code": "EXMPL01"}]})).unwrap(),
    }
}

/// Everything a reader can see of a ticket: its fields, its history with
/// document ids replaced by what they point at, and its documents. Ids and
/// times are left out, as two databases never share them.
async fn observable(
    store: &Store,
    account: AccountId,
    center: i64,
    number: &str,
) -> serde_json::Value {
    let Some(ticket) = store
        .ticket_by_number(account, center, number)
        .await
        .unwrap()
    else {
        return json!(null);
    };
    let mut history = Vec::new();
    for entry in store
        .ticket_history(account, center, number)
        .await
        .unwrap()
        .unwrap()
    {
        let mut details = entry.details.clone();
        if let Some(ids) = details.get("documents").and_then(|d| d.as_array()).cloned() {
            let mut documents = Vec::new();
            for id in ids {
                let stored = store
                    .ticket_document(account, center, number, id.as_i64().unwrap())
                    .await
                    .unwrap()
                    .expect("a document the history names");
                documents.push(json!([
                    stored.version_number,
                    stored.role,
                    stored.format,
                    stored.name,
                    stored.content_type,
                    stored.sha256,
                    String::from_utf8_lossy(&stored.body)
                ]));
            }
            details["documents"] = json!(documents);
        }
        history.push(json!([entry.kind, entry.actor.map(|a| a.name), details]));
    }
    json!({
        "version_number": ticket.version_number,
        "status": ticket.status.as_str(),
        "content": serde_json::to_value(&ticket.content).unwrap(),
        "assignee": ticket.assignee.map(|a| a.name),
        "history": history,
    })
}

test_on_both_backends! {
    async fn apply_is_idempotent_and_updates_changed_entries(db: &TestDatabase) {
        let first = db.store.apply(&parse_manifest(&manifest())).await.unwrap();
        assert!(first.created > 10, "{first:?}");
        let again = db.store.apply(&parse_manifest(&manifest())).await.unwrap();
        assert_eq!((again.created, again.updated), (0, 0), "{again:?}");

        let mut changed = manifest();
        changed["accounts"][0]["call_centers"][0]["response_codes"][0]["description"] = json!("Marked");
        let report = db.store.apply(&parse_manifest(&changed)).await.unwrap();
        assert_eq!((report.created, report.updated), (0, 1), "{report:?}");
        let acme = db.store.account_by_subdomain("acme").await.unwrap().unwrap();
        let centers = db.store.call_centers(acme).await.unwrap();
        assert_eq!(centers[0].response_codes[0].description, "Marked");
    }

    async fn apply_is_all_or_nothing(db: &TestDatabase) {
        let mut bad = manifest();
        // The second account tries to install the first account's key.
        bad["accounts"][1]["users"][0]["api_tokens"] = json!([TOKEN_A]);
        let mut first_only = manifest();
        first_only["accounts"].as_array_mut().unwrap().pop();
        db.store.apply(&parse_manifest(&first_only)).await.unwrap();
        bad["accounts"][0]["name"] = json!("Renamed");
        let err = Manifest::from_json(&bad.to_string()).unwrap_err();
        assert!(err.get("accounts[1].users[0].api_tokens[0]").is_some(), "{err}");

        // Past the file's own checks, a key held in the database by another
        // account is refused and the whole apply rolled back.
        let mut sneaky = json!({"accounts": [
            {"subdomain": "acme", "name": "Renamed"},
            {"subdomain": "third", "name": "Third",
             "users": [{"name": "T", "email": "t@example.net", "role": "admin", "api_tokens": [TOKEN_A]}]}]});
        let err = db.store.apply(&parse_manifest(&sneaky)).await.unwrap_err();
        assert!(matches!(&err, StoreError::Invalid(e) if e.get("accounts[1].users[0].api_tokens[0]").is_some()), "{err}");
        assert!(db.store.account_by_subdomain("third").await.unwrap().is_none());
        let acme = db.store.account_by_subdomain("acme").await.unwrap().unwrap();
        let principal = db.store.authenticate(TOKEN_A).await.unwrap().unwrap();
        assert_eq!(principal.account, acme);
        sneaky["accounts"].as_array_mut().unwrap().pop();
        db.store.apply(&parse_manifest(&sneaky)).await.unwrap();
    }

    async fn the_plan_limit_counts_users_already_there(db: &TestDatabase) {
        provisioned(&db.store).await;
        let more = json!({"accounts": [{"subdomain": "acme", "name": "Acme Locating", "plan": {"max_users": 2},
            "users": [{"name": "Third", "email": "third@example.com", "role": "viewer"},
                      {"name": "Fourth", "email": "fourth@example.com", "role": "viewer"}]}]});
        let err = db.store.apply(&parse_manifest(&more)).await.unwrap_err();
        assert!(matches!(&err, StoreError::Invalid(e) if e.get("accounts[0].users").is_some()), "{err}");
    }

    async fn keys_authenticate_their_user_only_while_active(db: &TestDatabase) {
        let (acme, other) = provisioned(&db.store).await;
        let al = db.store.authenticate(TOKEN_A).await.unwrap().unwrap();
        assert_eq!((al.account, al.user_name.as_str(), al.subdomain.as_str()), (acme, "Al Dente", "acme"));
        assert_eq!(db.store.authenticate(TOKEN_B).await.unwrap().unwrap().account, other);
        assert!(db.store.authenticate("no-such-key-at-all").await.unwrap().is_none());
        assert!(db.store.authenticate("inactive-user-key-0003").await.unwrap().is_none());
    }

    async fn call_centers_and_custom_fields_read_back_as_configured(db: &TestDatabase) {
        let (acme, other) = provisioned(&db.store).await;
        let centers = db.store.call_centers(acme).await.unwrap();
        assert_eq!(centers.len(), 2);
        assert_eq!(centers[0].name, "Georgia 811");
        assert_eq!(centers[0].service_areas, ["EXMPL01", "FOR01"]);
        assert_eq!(centers[0].facilities, ["Gas", "Water"]);
        assert_eq!(centers[0].response_codes[1].ticket_types.as_deref(), Some(&["Large Project".to_string()][..]));
        assert_eq!(centers[0].response_codes[0].ticket_types, None);
        assert!(centers[1].facility_required);
        assert_eq!(db.store.call_centers(other).await.unwrap().len(), 1);

        let fields = db.store.custom_fields(acme).await.unwrap();
        assert_eq!(fields.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(), ["Site visit", "Area"]);
        assert_eq!(fields[0].options, None);
        let options = fields[1].options.as_ref().unwrap();
        assert_eq!(options[0].name, "North");
        assert_eq!(options[0].options[0].name, "North-East");
        assert_eq!(fields[1].call_center.as_ref().unwrap().name, "Georgia 811");
        assert!(db.store.custom_fields(other).await.unwrap().is_empty());
    }

    async fn intake_creates_versions_and_ignores_retransmissions(db: &TestDatabase) {
        let (acme, _) = provisioned(&db.store).await;
        let center = georgia(&db.store, acme).await;
        let (outcome, created) = db.store.intake_ticket(acme, &ticket(center, "T-1", "first"), None, None).await.unwrap();
        assert_eq!(outcome, IntakeOutcome::Created);
        assert_eq!((created.version_number, created.status), (0, TicketStatus::Unassigned));
        assert_eq!(created.custom_fields.len(), 2, "common and Georgia's own field");
        assert_eq!(created.response_status, "not_available");

        let (outcome, same) = db.store.intake_ticket(acme, &ticket(center, "T-1", "first"), None, None).await.unwrap();
        assert_eq!(outcome, IntakeOutcome::Unchanged);
        assert_eq!(same, created);

        let (outcome, revised) = db.store.intake_ticket(acme, &ticket(center, "T-1", "second"), None, None).await.unwrap();
        assert_eq!(outcome, IntakeOutcome::NewVersion);
        assert_eq!((revised.id, revised.version_number), (created.id, 1));
        assert_eq!(revised.content.remarks.as_deref(), Some("second"));
        assert!(revised.updated_at >= created.updated_at);

        let read = db.store.ticket_by_number(acme, center, "T-1").await.unwrap().unwrap();
        assert_eq!(read, revised);
    }

    async fn a_late_retransmission_of_an_older_revision_changes_nothing(db: &TestDatabase) {
        let (acme, _) = provisioned(&db.store).await;
        let center = georgia(&db.store, acme).await;
        let take = |remarks: &'static str, revision: Option<i64>| {
            let store = db.store.clone();
            async move {
                let source = provenance(&format!("{{\"r\": {revision:?}}}"), revision, false);
                store.intake_ticket(acme, &ticket(center, "R-1", remarks), None, Some(&source)).await.unwrap()
            }
        };
        take("revision 1", Some(1)).await;
        let (outcome, second) = take("revision 2", Some(2)).await;
        assert_eq!((outcome, second.version_number), (IntakeOutcome::NewVersion, 2));

        // Revision 1 again, after 2: the ticket keeps revision 2, and no
        // history entry or document is added.
        let history = db.store.ticket_history(acme, center, "R-1").await.unwrap().unwrap().len();
        let (outcome, after) = take("revision 1", Some(1)).await;
        assert_eq!(outcome, IntakeOutcome::Unchanged);
        assert_eq!(after, second);
        assert_eq!(db.store.ticket_history(acme, center, "R-1").await.unwrap().unwrap().len(), history);

        // The same revision with other content is still a new version.
        let (outcome, corrected) = take("revision 2, corrected", Some(2)).await;
        assert_eq!((outcome, corrected.version_number), (IntakeOutcome::NewVersion, 3));

        // A newer revision with the same content is a version of its own
        // (its document kept), so that the revision before it is older.
        let (outcome, same) = take("revision 2, corrected", Some(4)).await;
        assert_eq!((outcome, same.version_number), (IntakeOutcome::NewVersion, 4));
        let (outcome, _) = take("revision 3", Some(3)).await;
        assert_eq!(outcome, IntakeOutcome::Unchanged);

        // Content without a revision is judged by its content alone, and
        // leaves the latest revision known: revision 3 is still older.
        let (outcome, unrevised) = take("no revision", None).await;
        assert_eq!(outcome, IntakeOutcome::NewVersion);
        let (outcome, after) = take("revision 3", Some(3)).await;
        assert_eq!((outcome, &after), (IntakeOutcome::Unchanged, &unrevised));
        let (outcome, _) = take("no revision", None).await;
        assert_eq!(outcome, IntakeOutcome::Unchanged, "a retransmission without a revision");
    }

    async fn intake_refuses_a_call_center_of_another_account(db: &TestDatabase) {
        let (acme, other) = provisioned(&db.store).await;
        let foreign_center = georgia(&db.store, other).await;
        let err = db.store.intake_ticket(acme, &ticket(foreign_center, "T-1", ""), None, None).await.unwrap_err();
        assert!(matches!(&err, StoreError::Invalid(e) if e.get("call_center").is_some()), "{err}");
    }

    async fn tickets_are_invisible_to_other_accounts(db: &TestDatabase) {
        let (acme, other) = provisioned(&db.store).await;
        let center = georgia(&db.store, acme).await;
        db.store.intake_ticket(acme, &ticket(center, "SECRET-1", "private"), None, None).await.unwrap();
        assert!(db.store.ticket_by_number(other, center, "SECRET-1").await.unwrap().is_none());
        let page = db.store.tickets(other, &TicketFilter { per_page: 50, ..Default::default() }).await.unwrap();
        assert!(page.tickets.is_empty());
    }

    async fn listing_filters_and_pages_newest_change_first(db: &TestDatabase) {
        let (acme, _) = provisioned(&db.store).await;
        let center = georgia(&db.store, acme).await;
        for i in 0..7 {
            db.store.intake_ticket(acme, &ticket(center, &format!("N-{i}"), "dig near the OAK tree"), None, None).await.unwrap();
        }
        let mut other_area = ticket(center, "N-x", "pool");
        other_area.content.service_area = Some("ELSEWHERE".into());
        other_area.content.additional_service_areas.clear();
        db.store.intake_ticket(acme, &other_area, None, None).await.unwrap();

        let mut seen = Vec::new();
        let mut filter = TicketFilter { per_page: 3, q: Some("oak".into()), ..Default::default() };
        loop {
            let page = db.store.tickets(acme, &filter).await.unwrap();
            seen.extend(page.tickets.iter().map(|t| t.content.ticket_number.clone()));
            match page.next {
                Some(next) => filter.after = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, ["N-6", "N-5", "N-4", "N-3", "N-2", "N-1", "N-0"]);

        let by_area = TicketFilter { per_page: 50, service_area: Some("FOR01".into()), ..Default::default() };
        assert_eq!(db.store.tickets(acme, &by_area).await.unwrap().tickets.len(), 7);
        let by_number = TicketFilter { per_page: 50, q: Some("n-x".into()), ..Default::default() };
        assert_eq!(db.store.tickets(acme, &by_number).await.unwrap().tickets.len(), 1);
        let closed = TicketFilter { per_page: 50, status: Some(TicketStatus::Closed), ..Default::default() };
        assert!(db.store.tickets(acme, &closed).await.unwrap().tickets.is_empty());
        let wildcard = TicketFilter { per_page: 50, q: Some("%".into()), ..Default::default() };
        assert!(db.store.tickets(acme, &wildcard).await.unwrap().tickets.is_empty());
    }

    async fn a_batch_takes_in_many_tickets_with_an_outcome_each(db: &TestDatabase) {
        let (acme, other) = provisioned(&db.store).await;
        let center = georgia(&db.store, acme).await;
        let foreign = georgia(&db.store, other).await;
        db.store.intake_ticket(acme, &ticket(center, "B-1", "first"), None, None).await.unwrap();
        let items: Vec<_> = [
            ticket(center, "B-1", "first"),
            ticket(center, "B-1", "second"),
            ticket(center, "B-2", "new"),
            ticket(foreign, "B-3", "elsewhere"),
            ticket(center, "B-2", "new"),
        ]
        .into_iter()
        .map(|t| PreparedIntake::new(t, None).unwrap())
        .collect();
        let outcomes = db.store.intake_batch(acme, &items).await.unwrap();
        assert_eq!(outcomes[0], Ok(IntakeOutcome::Unchanged));
        assert_eq!(outcomes[1], Ok(IntakeOutcome::NewVersion));
        assert_eq!(outcomes[2], Ok(IntakeOutcome::Created));
        assert!(outcomes[3].as_ref().is_err_and(|e| e.get("call_center").is_some()));
        assert_eq!(outcomes[4], Ok(IntakeOutcome::Unchanged));
        let revised = db.store.ticket_by_number(acme, center, "B-1").await.unwrap().unwrap();
        assert_eq!((revised.version_number, revised.content.remarks.as_deref()), (1, Some("second")));
        assert!(db.store.ticket_by_number(other, foreign, "B-3").await.unwrap().is_none());
    }
    async fn a_batch_leaves_what_taking_its_tickets_in_one_by_one_leaves(db: &TestDatabase) {
        let other_db = TestDatabase::open(db.url.backend()).await.expect("a second database");
        let mut routed = manifest();
        routed["accounts"][0]["call_centers"][0]["service_areas"][0]["assignee"] = json!("al@example.com");
        let mut accounts = Vec::new();
        for store in [&db.store, &other_db.store] {
            store.apply(&parse_manifest(&routed)).await.unwrap();
            accounts.push(store.account_by_subdomain("acme").await.unwrap().unwrap());
        }
        let acme = accounts[0];
        let other = db.store.account_by_subdomain("other").await.unwrap().unwrap();
        let center = georgia(&db.store, acme).await;
        let texas = db.store.call_centers(acme).await.unwrap()[1].id;
        let foreign = georgia(&db.store, other).await;
        let mut cancelled_area = ticket(center, "E-2", "cancelled at once");
        cancelled_area.content.service_area = Some("FOR01".into());
        let mut unrouted = ticket(texas, "E-1", "same number, other center");
        unrouted.content.service_area = Some("TX01".into());
        let items = vec![
            (ticket(center, "E-1", "routed, with documents"), Some(provenance("{\"n\": 1}", Some(3), false))),
            (cancelled_area, Some(provenance("{\"n\": 2}", None, true))),
            (ticket(center, "E-3", "no documents"), None),
            (ticket(center, "E-1", "revised in the same batch"), Some(provenance("{\"n\": 4}", Some(5), false))),
            (ticket(foreign, "E-4", "another account's center"), None),
            (unrouted, None),
            (ticket(center, "E-3", "no documents"), None),
        ];
        let prepared: Vec<_> = items
            .iter()
            .map(|(intake, source)| PreparedIntake::new(intake.clone(), source.clone()).unwrap())
            .collect();
        let batch = db.store.intake_batch(accounts[0], &prepared).await.unwrap();
        let mut one_by_one = Vec::new();
        for (intake, source) in &items {
            one_by_one.push(
                match other_db.store.intake_ticket(accounts[1], intake, None, source.as_ref()).await {
                    Ok((outcome, _)) => Ok(outcome),
                    Err(StoreError::Invalid(errors)) => Err(errors),
                    Err(e) => panic!("{e}"),
                },
            );
        }
        assert_eq!(batch, one_by_one);
        assert_eq!(batch[..4], [Ok(IntakeOutcome::Created), Ok(IntakeOutcome::Created),
            Ok(IntakeOutcome::Created), Ok(IntakeOutcome::NewVersion)]);
        assert!(batch[4].is_err());

        let centers = [(center, "E-1"), (center, "E-2"), (center, "E-3"), (texas, "E-1")];
        for (center, number) in centers {
            let bulk = observable(&db.store, accounts[0], center, number).await;
            let single = observable(&other_db.store, accounts[1], center, number).await;
            assert_eq!(bulk, single, "ticket {number} of center {center}");
        }
        let e1 = observable(&db.store, accounts[0], center, "E-1").await;
        assert_eq!((e1["version_number"].clone(), e1["assignee"].clone()), (json!(5), json!("Al Dente")));
        let kinds: Vec<&str> = e1["history"].as_array().unwrap().iter().map(|h| h[0].as_str().unwrap()).collect();
        assert_eq!(kinds, ["created", "assignee_changed", "new_version"]);
        assert_eq!(e1["history"][0][2]["documents"].as_array().unwrap().len(), 2);
        let e2 = observable(&db.store, accounts[0], center, "E-2").await;
        assert_eq!(e2["status"], "cancelled");
        other_db.finish().await;
    }
    async fn a_removed_responses_id_is_never_given_again(db: &TestDatabase) {
        let (acme, _) = provisioned(&db.store).await;
        // A code that does not complete, so the ticket stays open throughout.
        let mut with_1b = manifest();
        with_1b["accounts"][0]["call_centers"][0]["response_codes"]
            .as_array_mut().unwrap().push(json!({"code": "1B", "description": "Marked: conflict."}));
        db.store.apply(&parse_manifest(&with_1b)).await.unwrap();
        let center = georgia(&db.store, acme).await;
        let al = db.store.authenticate(TOKEN_A).await.unwrap().unwrap().user_id;
        db.store.intake_ticket(acme, &ticket(center, "R-1", "x"), None, None).await.unwrap();
        let response = |area: &str, code: &str| integrity_domain::response::ResponseInput {
            service_area: area.into(), code: code.into(), facility: None, comment: String::new(),
        };
        let both = [response("EXMPL01", "1B"), response("FOR01", "1B")];
        let given = db.store.replace_responses(acme, center, "R-1", &both, al).await.unwrap();
        let removed = given.iter().map(|r| r.id).max().unwrap();
        // PUT with one response removes the other, the newest.
        let kept = db.store.replace_responses(acme, center, "R-1", &both[..1], al).await.unwrap();
        assert!(kept.iter().all(|r| r.id != removed));
        let again = db.store.put_response(acme, center, "R-1", &response("FOR01", "1B"), al).await.unwrap();
        assert!(again.id > removed, "id {} given again after {removed} was removed", again.id);
    }
}
