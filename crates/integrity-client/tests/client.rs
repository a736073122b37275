//! The client against the real application, served in process on a
//! loopback port: every call goes over HTTP as an integrator's would. Each
//! test runs on SQLite and, when `INTEGRITY_TEST_POSTGRES_URL` is set, on
//! PostgreSQL.

use std::collections::BTreeSet;
use std::time::Duration;

use integrity_client::{
    Client, DeliveryFilter, DeliveryStatus, Error, Excavator, FieldErrors, IntakeOutcome,
    NewTicket, NewUser, RelayMode, RelaySettings, ResponseInput, ResponseStatus, Role, StatusCode,
    TicketFilter, TicketPatch, TicketStatus, UserChanges, Work,
};
use integrity_domain::manifest::Manifest;
use integrity_store::test_on_both_backends;
use integrity_store::testing::TestDatabase;
use serde_json::json;

const ADMIN: &str = "client-admin-key-0000001";
const VIEWER: &str = "client-viewer-key-000001";
const OTHER: &str = "client-other-key-0000001";
const LEGACY_PREFIX: &str = "/api/integrations/integrity";

/// `acme` with two call centers (Georgia: facilities optional, a required
/// dropdown; Texas: facilities required) and custom fields of several
/// types, users of three roles; `other`, a second tenant with a call
/// center of the same name.
fn manifest() -> String {
    json!({"accounts": [
        {"subdomain": "acme", "name": "Acme Locating",
         "users": [
            {"name": "Al Dente", "email": "al@example.com", "role": "admin", "api_tokens": [ADMIN]},
            {"name": "Vi Ewer", "email": "vi@example.com", "role": "viewer", "api_tokens": [VIEWER]},
            {"name": "Lo Cator", "email": "lo@example.com", "role": "locator"}],
         "call_centers": [
            {"name": "Georgia 811", "state": "Georgia", "facilities": ["Gas", "Water"],
             "service_areas": [{"code": "EXMPL01", "facilities": ["Gas"]}, {"code": "FOR01"}, {"code": "GAUPC"}],
             "response_codes": [
                {"code": "1A", "description": "Marked.", "completes": true},
                {"code": "3J", "description": "Unmarked: extraordinary circumstances."},
                {"code": "10A", "description": "Large Projects: Meeting Date/Time Accepted.",
                 "ticket_types": ["Large Project"], "completes": true}]},
            {"name": "Texas 811", "state": "Texas", "facility_required": true, "facilities": ["Gas", "Water"],
             "service_areas": [{"code": "TX01"}],
             "response_codes": [{"code": "10", "description": "Clear", "completes": true}]}],
         "custom_fields": [
            {"name": "Site visit", "type_id": 7, "position": 0},
            {"name": "Crew", "type_id": 8, "required": true, "call_center": "Georgia 811", "position": 1,
             "options": [{"name": "Red"}, {"name": "Blue"}]},
            {"name": "Area", "type_id": 9, "call_center": "Georgia 811", "position": 2,
             "options": [{"name": "North", "options": [{"name": "North-East"}]}, {"name": "South"}]},
            {"name": "Some date", "type_id": 6, "position": 3}]},
        {"subdomain": "other", "name": "Other Utility",
         "users": [{"name": "Bo", "email": "bo@example.org", "role": "admin", "api_tokens": [OTHER]}],
         "call_centers": [{"name": "Georgia 811", "service_areas": [{"code": "EXMPL01"}]}]}
    ]})
    .to_string()
}

/// The provisioned ids and the server's address.
struct Setup {
    url: String,
    georgia: i64,
    texas: i64,
    other_georgia: i64,
}

impl Setup {
    fn client(&self, token: &str) -> Client {
        Client::new(&self.url, token).expect("client")
    }

    fn admin(&self) -> Client {
        self.client(ADMIN)
    }
}

/// Provisions the accounts and serves the application on a free loopback
/// port, as `integrity serve` does.
async fn setup(db: &TestDatabase) -> Setup {
    let manifest = Manifest::from_json(&manifest()).expect("valid manifest");
    db.store.apply(&manifest).await.expect("apply manifest");
    let centers = |subdomain: &'static str| async move {
        let account = db
            .store
            .account_by_subdomain(subdomain)
            .await
            .unwrap()
            .unwrap();
        db.store.call_centers(account).await.unwrap()
    };
    let acme = centers("acme").await;
    let id_of = |name: &str| acme.iter().find(|c| c.name == name).unwrap().id;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = integrity_api::app(integrity_api::AppState {
        store: db.store.clone(),
        base_domain: None,
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    Setup {
        url,
        georgia: id_of("Georgia 811"),
        texas: id_of("Texas 811"),
        other_georgia: centers("other").await[0].id,
    }
}

/// Asserts a refusal with `status` and returns the server's messages.
fn refused<T: std::fmt::Debug>(result: Result<T, Error>, status: u16) -> FieldErrors {
    match result {
        Err(Error::Api {
            status: actual,
            errors,
            body,
        }) => {
            assert_eq!(actual.as_u16(), status, "body: {body}");
            errors
        }
        other => panic!("expected a {status} refusal, got {other:?}"),
    }
}

fn georgia_ticket(setup: &Setup, number: &str) -> NewTicket {
    NewTicket {
        service_area: Some("EXMPL01".into()),
        additional_service_areas: vec!["FOR01".into()],
        ticket_type: Some("Normal".into()),
        ..NewTicket::new(setup.georgia, number)
    }
}

/// Timestamps of successive changes must differ for `updated_since` and
/// the newest-first order to tell them apart.
async fn tick() {
    tokio::time::sleep(Duration::from_millis(3)).await;
}

test_on_both_backends! {
    async fn reads_the_catalog_at_the_root_and_under_the_legacy_prefix(db: &TestDatabase) {
        let s = setup(db).await;
        let client = s.admin();
        assert_eq!(client.healthz().await.unwrap().status, "ok");
        let openapi = client.openapi().await.unwrap();
        assert!(openapi["openapi"].as_str().unwrap().starts_with("3.1"), "{}", openapi["openapi"]);
        assert!(openapi["paths"]["/tickets/by_center/{call_center_id}/by_number/{number}"].is_object());

        let centers = client.call_centers().await.unwrap();
        let names: Vec<&str> = centers.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["Georgia 811", "Texas 811"]);
        let georgia = &centers[0];
        assert_eq!(georgia.id, s.georgia);
        assert_eq!(georgia.state.as_deref(), Some("Georgia"));
        assert!(georgia.enabled);
        assert_eq!(georgia.service_areas, ["EXMPL01", "FOR01", "GAUPC"]);
        assert_eq!(georgia.facilities, ["Gas", "Water"]);
        let codes: Vec<(&str, Option<Vec<String>>)> = georgia
            .response_codes
            .iter()
            .map(|r| (r.code.as_str(), r.ticket_types.clone()))
            .collect();
        assert_eq!(
            codes,
            [("1A", None), ("3J", None), ("10A", Some(vec!["Large Project".to_string()]))]
        );
        assert_eq!(georgia.response_codes[0].description, "Marked.");

        let fields = client.custom_fields().await.unwrap();
        let summary: Vec<(&str, i64, bool, Option<&str>, i64)> = fields
            .iter()
            .map(|f| (f.name.as_str(), f.type_id, f.required, f.call_center.as_ref().map(|c| c.name.as_str()), f.position))
            .collect();
        assert_eq!(
            summary,
            [
                ("Site visit", 7, false, None, 0),
                ("Crew", 8, true, Some("Georgia 811"), 1),
                ("Area", 9, false, Some("Georgia 811"), 2),
                ("Some date", 6, false, None, 3),
            ]
        );
        assert_eq!(fields[0].options, None);
        let crew: Vec<&str> = fields[1].options.as_ref().unwrap().iter().map(|o| o.name.as_str()).collect();
        assert_eq!(crew, ["Red", "Blue"]);
        let area = fields[2].options.as_ref().unwrap();
        assert_eq!(area[0].name, "North");
        assert_eq!(area[0].options[0].name, "North-East");
        assert!(area[1].options.is_empty());

        let legacy = Client::new(&format!("{}{LEGACY_PREFIX}/", s.url), ADMIN).unwrap();
        assert_eq!(legacy.call_centers().await.unwrap(), centers);
        assert_eq!(legacy.custom_fields().await.unwrap(), fields);
    }

    async fn intake_tells_new_tickets_from_known_ones(db: &TestDatabase) {
        let s = setup(db).await;
        let client = s.admin();
        let ticket = georgia_ticket(&s, "I-1");
        let first = client.intake_ticket(&ticket).await.unwrap();
        assert_eq!(first.outcome, IntakeOutcome::Created);
        assert_eq!((first.ticket.version_number, first.ticket.status.clone()), (0, TicketStatus::Unassigned));

        let again = client.intake_ticket(&ticket).await.unwrap();
        assert_eq!(again.outcome, IntakeOutcome::Existing);
        assert_eq!((again.ticket.id, again.ticket.version_number), (first.ticket.id, 0));

        let revised = NewTicket { remarks: Some("revised".into()), ..ticket };
        let revised = client.intake_ticket(&revised).await.unwrap();
        assert_eq!(revised.outcome, IntakeOutcome::Existing);
        assert_eq!((revised.ticket.id, revised.ticket.version_number), (first.ticket.id, 1));
        assert_eq!(revised.ticket.remarks.as_deref(), Some("revised"));

        // A ticket read back can be posted again as it is.
        let read = client.ticket(s.georgia, "I-1").await.unwrap();
        let echo = client.intake_ticket(&NewTicket::from(&read)).await.unwrap();
        assert_eq!((echo.outcome, echo.ticket.version_number), (IntakeOutcome::Existing, 1));

        let errors = refused(client.intake_ticket(&NewTicket::new(s.georgia, " ")).await, 422);
        assert_eq!(errors.get("ticket_number"), ["can't be blank"]);
        let errors = refused(client.intake_ticket(&NewTicket::new(s.other_georgia, "I-2")).await, 422);
        assert_eq!(errors.get("call_center"), ["must exist"]);
        let errors = refused(
            client.intake_ticket(&NewTicket { taken_at: Some("yesterday".into()), ..NewTicket::new(s.georgia, "I-3") }).await,
            422,
        );
        assert_eq!(errors.iter().map(|(k, _)| k).collect::<Vec<_>>(), ["taken_at"]);
    }

    async fn lists_tickets_page_by_page_with_every_filter(db: &TestDatabase) {
        let s = setup(db).await;
        let client = s.admin();
        let mut updated = Vec::new();
        for i in 1..=7 {
            let ticket = NewTicket {
                remarks: (i == 5).then(|| "Caller wants the FENCE line marked".to_string()),
                ..georgia_ticket(&s, &format!("L-{i}"))
            };
            updated.push(client.intake_ticket(&ticket).await.unwrap().ticket.updated_at);
            tick().await;
        }
        let texas = NewTicket { service_area: Some("TX01".into()), ..NewTicket::new(s.texas, "TX-1") };
        client.intake_ticket(&texas).await.unwrap();

        let newest_first: Vec<String> = (1..=7).rev().map(|i| format!("L-{i}")).collect();
        let numbers = |tickets: &[integrity_client::Ticket]| -> Vec<String> {
            tickets.iter().map(|t| t.ticket_number.clone()).collect()
        };

        // Page by page, by hand: three, three, one, and no cursor after.
        let mut filter = TicketFilter { call_center_id: Some(s.georgia), per_page: Some(3), ..Default::default() };
        let mut pages = Vec::new();
        loop {
            let page = client.tickets(&filter).await.unwrap();
            pages.push(numbers(&page.tickets));
            match page.next {
                Some(next) => filter.page = Some(next),
                None => break,
            }
            assert!(pages.len() < 10, "the pages do not end: {pages:?}");
        }
        assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [3, 3, 1]);
        assert_eq!(pages.concat(), newest_first);

        // The same walk, done by the client, at the root and under the
        // legacy prefix.
        let every = TicketFilter { call_center_id: Some(s.georgia), per_page: Some(2), ..Default::default() };
        assert_eq!(numbers(&client.all_tickets(&every).await.unwrap()), newest_first);
        let legacy = Client::new(&format!("{}{LEGACY_PREFIX}", s.url), ADMIN).unwrap();
        assert_eq!(numbers(&legacy.all_tickets(&every).await.unwrap()), newest_first);

        let all = client.all_tickets(&TicketFilter::default()).await.unwrap();
        assert_eq!(all.len(), 8);
        assert_eq!(all[0].ticket_number, "TX-1");

        let by = |filter: TicketFilter| {
            let client = client.clone();
            async move { numbers(&client.all_tickets(&filter).await.unwrap()) }
        };
        assert_eq!(by(TicketFilter { service_area: Some("TX01".into()), ..Default::default() }).await, ["TX-1"]);
        assert_eq!(by(TicketFilter { service_area: Some("FOR01".into()), per_page: Some(4), ..Default::default() }).await, newest_first);
        assert_eq!(by(TicketFilter { text: Some("fence".into()), ..Default::default() }).await, ["L-5"]);
        assert_eq!(by(TicketFilter { text: Some("L-3".into()), ..Default::default() }).await, ["L-3"]);
        assert_eq!(by(TicketFilter { status: Some(TicketStatus::Closed), ..Default::default() }).await, Vec::<String>::new());
        assert_eq!(by(TicketFilter { status: Some(TicketStatus::Unassigned), ..Default::default() }).await.len(), 8);
        assert_eq!(
            by(TicketFilter { updated_since: Some(updated[3].clone()), call_center_id: Some(s.georgia), ..Default::default() }).await,
            ["L-7", "L-6", "L-5", "L-4"]
        );

        let errors = refused(client.tickets(&TicketFilter { per_page: Some(501), ..Default::default() }).await, 422);
        assert_eq!(errors.get("per_page"), ["must be an integer from 1 to 500"]);
        let errors = refused(client.tickets(&TicketFilter { page: Some("not-a-cursor".into()), ..Default::default() }).await, 422);
        assert!(errors.get("page")[0].contains("Link header"), "{errors}");
    }

    async fn shows_a_ticket_changes_it_and_reads_its_history(db: &TestDatabase) {
        let s = setup(db).await;
        let client = s.admin();
        let mut ticket = georgia_ticket(&s, "06191-285/085");
        ticket.taken_at = Some("2016-06-29T11:26:47-04:00".into());
        ticket.lat = Some(33.9);
        ticket.lng = Some(-84.1);
        ticket.excavator = Excavator {
            kind: Some("Contractor".into()),
            name: Some("SHOVEL INC".into()),
            ..Default::default()
        };
        ticket.excavator.contact.email = Some("JACKPOT@EXAMPLE.COM".into());
        ticket.work = Work {
            kind: Some("replacing damaged handholes".into()),
            tunneling_or_boring: Some(true),
            area: Some(json!({"type": "Polygon", "coordinates": [[[-84.1, 33.9], [-84.09, 33.9], [-84.09, 33.91], [-84.1, 33.9]]]})),
            ..Default::default()
        };
        client.intake_ticket(&ticket).await.unwrap();

        // A number with a slash is one path segment.
        let shown = client.ticket(s.georgia, "06191-285/085").await.unwrap();
        assert_eq!(shown.ticket_number, "06191-285/085");
        assert_eq!(shown.call_center.name, "Georgia 811");
        assert_eq!(shown.taken_at.as_deref(), Some("2016-06-29T15:26:47.000Z"));
        assert_eq!(shown.additional_service_areas, ["FOR01"]);
        assert_eq!(shown.excavator.contact.email.as_deref(), Some("JACKPOT@EXAMPLE.COM"));
        assert_eq!(shown.work.tunneling_or_boring, Some(true));
        assert_eq!(shown.work.area.as_ref().unwrap()["type"], "Polygon");
        assert_eq!((shown.lat, shown.lng), (Some(33.9), Some(-84.1)));
        assert_eq!(shown.response_status, ResponseStatus::NotAvailable);
        assert_eq!(shown.assignee, None);
        let fields: Vec<(&str, &serde_json::Value)> = shown.custom_fields.iter().map(|f| (f.name.as_str(), &f.value)).collect();
        assert_eq!(
            fields,
            [("Site visit", &json!(null)), ("Crew", &json!(null)), ("Area", &json!(null)), ("Some date", &json!(null))]
        );

        let site_visit = shown.custom_fields[0].id;
        let some_date = shown.custom_fields[3].id;
        let changed = client
            .update_ticket(s.georgia, "06191-285/085", &TicketPatch::new().field(site_visit, "1").field(some_date, "2026-12-04"))
            .await
            .unwrap();
        assert_eq!(changed.custom_fields[0].value, json!(true));
        assert_eq!(changed.custom_fields[3].value, json!("2026-12-04"));

        let errors = refused(
            client.update_ticket(s.georgia, "06191-285/085", &TicketPatch::new().field(site_visit, false).field(some_date, "7")).await,
            422,
        );
        assert_eq!(errors.get(&format!("custom_fields[{some_date}]")), ["is invalid"]);
        assert_eq!(client.ticket(s.georgia, "06191-285/085").await.unwrap().custom_fields[0].value, json!(true));

        let history = client.history(s.georgia, "06191-285/085").await.unwrap();
        let kinds: Vec<&str> = history.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["created", "custom_field_changed", "custom_field_changed"]);
        assert_eq!(history[0].actor.as_ref().map(|a| a.name.as_str()), Some("Al Dente"));
        let site = history.iter().find(|e| e.details["custom_field"]["id"] == json!(site_visit)).unwrap();
        assert_eq!((&site.details["before"], &site.details["after"]), (&json!(null), &json!(true)));
    }

    async fn gives_and_replaces_responses_and_surfaces_refusals(db: &TestDatabase) {
        let s = setup(db).await;
        let client = s.admin();
        client.intake_ticket(&georgia_ticket(&s, "R-1")).await.unwrap();

        let given = client
            .respond(s.georgia, "R-1", &ResponseInput::new("EXMPL01", "3J").comment("Crew on the way"))
            .await
            .unwrap();
        assert_eq!((given.service_area.as_str(), given.code.as_str(), given.facility.as_deref()), ("EXMPL01", "3J", None));
        assert_eq!(given.comment, "Crew on the way");
        assert_eq!(given.status, ResponseStatus::Pending);
        assert_eq!(given.respondent.as_ref().map(|r| r.name.as_str()), Some("Al Dente"));
        assert_eq!(given.responded_at, None);

        // The same pair again changes that response.
        let changed = client
            .respond(s.georgia, "R-1", &ResponseInput::new("EXMPL01", "1A").comment("Marked"))
            .await
            .unwrap();
        assert_eq!((changed.id, changed.code.as_str(), changed.comment.as_str()), (given.id, "1A", "Marked"));

        // Every field's messages come back, as the server wrote them.
        let error = client.respond(s.georgia, "R-1", &ResponseInput::new("NOPE01", "")).await.unwrap_err();
        assert_eq!(error.status(), Some(StatusCode::UNPROCESSABLE_ENTITY));
        assert!(error.is_client_error());
        let errors = error.field_errors().unwrap();
        assert_eq!(errors.get("code"), ["can't be blank"]);
        assert_eq!(errors.get("service_area"), ["is not included in the list"]);
        assert_eq!(errors.iter().count(), 2, "{errors}");
        assert_eq!(
            error.to_string(),
            "422 Unprocessable Entity: code: can't be blank; service_area: is not included in the list"
        );
        let errors = refused(client.respond(s.georgia, "R-1", &ResponseInput::new("FOR01", "10A")).await, 422);
        assert_eq!(errors.get("code"), ["is not included in the list"]);

        // PUT makes the list exactly this: the facility-less EXMPL01 goes.
        let listed = client
            .replace_responses(s.georgia, "R-1", &[
                ResponseInput::new("EXMPL01", "1A").facility("Gas"),
                ResponseInput::new("FOR01", "3J").comment("Blocked gate"),
            ])
            .await
            .unwrap();
        let pairs = |responses: &[integrity_client::TicketResponse]| -> BTreeSet<(String, Option<String>, String)> {
            responses.iter().map(|r| (r.service_area.clone(), r.facility.clone(), r.code.clone())).collect()
        };
        let expected: BTreeSet<_> = [
            ("EXMPL01".to_string(), Some("Gas".to_string()), "1A".to_string()),
            ("FOR01".to_string(), None, "3J".to_string()),
        ]
        .into_iter()
        .collect();
        assert_eq!(pairs(&listed), expected);
        let ticket = client.ticket(s.georgia, "R-1").await.unwrap();
        assert_eq!(pairs(&ticket.ticket_responses), expected);
        assert_eq!(ticket.status, TicketStatus::Unassigned, "3J does not complete");

        // A pair listed twice is refused, and nothing changes.
        let errors = refused(
            client
                .replace_responses(s.georgia, "R-1", &[ResponseInput::new("FOR01", "1A"), ResponseInput::new("FOR01", "1A")])
                .await,
            422,
        );
        assert_eq!(errors.get("service_area"), ["has already been taken"]);
        assert_eq!(pairs(&client.ticket(s.georgia, "R-1").await.unwrap().ticket_responses), expected);

        // Completing codes on every area close the ticket.
        client
            .replace_responses(s.georgia, "R-1", &[
                ResponseInput::new("EXMPL01", "1A").facility("Gas"),
                ResponseInput::new("FOR01", "1A"),
            ])
            .await
            .unwrap();
        let closed = client.ticket(s.georgia, "R-1").await.unwrap();
        assert_eq!(closed.status, TicketStatus::Closed);
        assert!(closed.closed_at.is_some());
        let history = client.history(s.georgia, "R-1").await.unwrap();
        let auto_closed = history.last().unwrap();
        assert_eq!(auto_closed.kind, "status_changed");
        assert_eq!(auto_closed.details["reason"], "auto_closed");
        assert_eq!(auto_closed.actor, None);
        for kind in ["response_created", "response_updated", "response_removed"] {
            assert!(history.iter().any(|e| e.kind == kind), "no {kind} in {history:?}");
        }

        // Where the call center requires facilities, a response names one.
        let texas = NewTicket { service_area: Some("TX01".into()), ..NewTicket::new(s.texas, "TX-9") };
        client.intake_ticket(&texas).await.unwrap();
        let errors = refused(client.respond(s.texas, "TX-9", &ResponseInput::new("TX01", "10")).await, 422);
        assert_eq!(errors.get("facility"), ["can't be blank"]);
        let errors = refused(client.respond(s.texas, "TX-9", &ResponseInput::new("TX01", "10").facility("Steam")).await, 422);
        assert_eq!(errors.get("facility"), ["is not included in the list"]);
        let water = client.respond(s.texas, "TX-9", &ResponseInput::new("TX01", "10").facility("Water")).await.unwrap();
        assert_eq!(water.facility.as_deref(), Some("Water"));
    }

    async fn closes_and_reopens_as_state_transitions(db: &TestDatabase) {
        let s = setup(db).await;
        let client = s.admin();
        client.intake_ticket(&georgia_ticket(&s, "C-1")).await.unwrap();
        let fields = client.custom_fields().await.unwrap();
        let crew = fields.iter().find(|f| f.name == "Crew").unwrap();
        let red = crew.options.as_ref().unwrap()[0].id;

        let errors = refused(client.close_ticket(s.georgia, "C-1").await, 422);
        assert_eq!(errors.get(&format!("custom_fields[{}]", crew.id)), ["can't be blank"]);
        assert_eq!(client.ticket(s.georgia, "C-1").await.unwrap().status, TicketStatus::Unassigned);

        let closed = client
            .close_ticket_with(s.georgia, "C-1", &TicketPatch::new().field(crew.id, red))
            .await
            .unwrap();
        assert_eq!(closed.status, TicketStatus::Closed);
        assert!(closed.closed_at.is_some());
        assert_eq!(closed.custom_fields.iter().find(|f| f.id == crew.id).unwrap().value, json!(red));

        let errors = refused(client.close_ticket(s.georgia, "C-1").await, 422);
        assert_eq!(errors.get("status"), ["is already closed"]);

        let reopened = client.reopen_ticket(s.georgia, "C-1").await.unwrap();
        assert_eq!((reopened.status, reopened.closed_at), (TicketStatus::Unassigned, None));
        let errors = refused(client.reopen_ticket(s.georgia, "C-1").await, 422);
        assert_eq!(errors.get("status"), ["is not closed"]);

        // With an assignee, reopening lands on assigned.
        let lo = client.users().await.unwrap().into_iter().find(|u| u.email == "lo@example.com").unwrap();
        let assigned = client.update_ticket(s.georgia, "C-1", &TicketPatch::new().assign(lo.id)).await.unwrap();
        assert_eq!(assigned.status, TicketStatus::Assigned);
        assert_eq!(assigned.assignee.as_ref().map(|a| a.name.as_str()), Some("Lo Cator"));
        assert_eq!(client.close_ticket(s.georgia, "C-1").await.unwrap().status, TicketStatus::Closed);
        assert_eq!(client.reopen_ticket(s.georgia, "C-1").await.unwrap().status, TicketStatus::Assigned);
        let unassigned = client.update_ticket(s.georgia, "C-1", &TicketPatch::new().unassign()).await.unwrap();
        assert_eq!((unassigned.status, unassigned.assignee), (TicketStatus::Unassigned, None));
    }

    async fn another_accounts_tickets_are_not_found(db: &TestDatabase) {
        let s = setup(db).await;
        s.admin().intake_ticket(&georgia_ticket(&s, "N-1")).await.unwrap();
        let other = s.client(OTHER);

        let error = other.ticket(s.georgia, "N-1").await.unwrap_err();
        assert!(error.is_not_found(), "{error}");
        assert_eq!(error.field_errors().unwrap().get("base"), ["not found"]);
        // Not under its own call center either, nor for any change.
        assert!(other.ticket(s.other_georgia, "N-1").await.unwrap_err().is_not_found());
        assert!(other.history(s.georgia, "N-1").await.unwrap_err().is_not_found());
        assert!(other.close_ticket(s.georgia, "N-1").await.unwrap_err().is_not_found());
        assert!(other
            .respond(s.georgia, "N-1", &ResponseInput::new("EXMPL01", "1A"))
            .await
            .unwrap_err()
            .is_not_found());
        assert!(s.admin().ticket(s.georgia, "N-2").await.unwrap_err().is_not_found());
        // The ticket is still there for its own account, untouched.
        assert_eq!(s.admin().ticket(s.georgia, "N-1").await.unwrap().ticket_responses, []);

        let errors = refused(s.client("no-such-key").call_centers().await, 401);
        assert_eq!(errors.get("base"), ["invalid API token"]);
        let errors = refused(
            s.client(VIEWER).respond(s.georgia, "N-1", &ResponseInput::new("EXMPL01", "1A")).await,
            403,
        );
        assert!(errors.get("base")[0].contains("responses:write"), "{errors}");
    }

    async fn manages_users_and_their_keys(db: &TestDatabase) {
        let s = setup(db).await;
        let client = s.admin();
        let users = client.users().await.unwrap();
        let roles: Vec<(&str, Role)> = users.iter().map(|u| (u.email.as_str(), u.role.clone())).collect();
        assert_eq!(
            roles,
            [("al@example.com", Role::Admin), ("vi@example.com", Role::Viewer), ("lo@example.com", Role::Locator)]
        );

        let new = NewUser {
            name: "Dee Tector".into(),
            email: "Dee@Example.com".into(),
            role: Some(Role::Locator),
            ..Default::default()
        };
        let dee = client.create_user(&new).await.unwrap();
        assert_eq!((dee.name.as_str(), dee.email.as_str(), dee.role.clone(), dee.active), ("Dee Tector", "dee@example.com", Role::Locator, true));
        assert!(dee.permissions.iter().any(|p| p == "responses:write"), "{:?}", dee.permissions);
        let errors = refused(client.create_user(&new).await, 422);
        assert_eq!(errors.get("email"), ["has already been taken"]);

        let key = client.create_api_token(dee.id).await.unwrap();
        let secret = key.token.clone().expect("the key, shown once");
        assert!(secret.starts_with("itg_") && secret.starts_with(&key.prefix), "{key:?}");
        let as_dee = s.client(&secret);
        assert_eq!(as_dee.call_centers().await.unwrap().len(), 2);
        let listed = client.api_tokens(dee.id).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!((listed[0].id, listed[0].token.as_deref()), (key.id, None));

        client
            .update_user(dee.id, &UserChanges { name: Some("Dee T.".into()), active: Some(false), ..Default::default() })
            .await
            .unwrap();
        let after = client.users().await.unwrap().into_iter().find(|u| u.id == dee.id).unwrap();
        assert_eq!((after.name.as_str(), after.active), ("Dee T.", false));
        refused(as_dee.call_centers().await, 401);
        client.update_user(dee.id, &UserChanges { active: Some(true), ..Default::default() }).await.unwrap();
        assert_eq!(as_dee.call_centers().await.unwrap().len(), 2);

        client.revoke_api_token(key.id).await.unwrap();
        refused(as_dee.call_centers().await, 401);
        assert!(client.revoke_api_token(key.id).await.unwrap_err().is_not_found());
        let errors = refused(client.update_user(dee.id, &UserChanges { role: Some(Role::Other("owner".into())), ..Default::default() }).await, 422);
        assert_eq!(errors.get("role"), ["is not included in the list"]);
    }

    async fn sets_up_the_relay_and_lists_its_deliveries(db: &TestDatabase) {
        let s = setup(db).await;
        let client = s.admin();
        assert_eq!(client.relay_settings(s.georgia).await.unwrap(), RelaySettings::default());

        let settings = RelaySettings {
            enabled: true,
            url: Some("http://127.0.0.1:9/opr".into()),
            authorization: Some("Bearer s3cret".into()),
            actions: [("1A".to_string(), "MARKED".to_string())].into_iter().collect(),
            mode: RelayMode::Batch,
        };
        let stored = client.replace_relay_settings(s.georgia, &settings).await.unwrap();
        let hidden = RelaySettings { authorization: Some("[hidden]".into()), ..settings.clone() };
        assert_eq!(stored, hidden);
        assert_eq!(client.relay_settings(s.georgia).await.unwrap(), hidden);
        let errors = refused(
            client.replace_relay_settings(s.georgia, &RelaySettings { url: None, ..settings }).await,
            422,
        );
        assert_eq!(errors.get("relay"), ["url can't be blank when the relay is enabled"]);
        assert!(client.relay_settings(s.other_georgia).await.unwrap_err().is_not_found());

        // No worker runs here: a response given now waits in the queue.
        client.intake_ticket(&georgia_ticket(&s, "D-1")).await.unwrap();
        let response = client.respond(s.georgia, "D-1", &ResponseInput::new("FOR01", "1A")).await.unwrap();
        let queued = client
            .deliveries(&DeliveryFilter { status: Some(DeliveryStatus::Queued), ..Default::default() })
            .await
            .unwrap();
        assert_eq!(queued.len(), 1, "{queued:?}");
        assert_eq!((queued[0].response_id, queued[0].call_center_id), (response.id, s.georgia));
        assert_eq!(queued[0].payload["action"], "MARKED");
        assert_eq!(queued[0].payload["ticketNumber"], "D-1");
        let sent = client
            .deliveries(&DeliveryFilter { status: Some(DeliveryStatus::Sent), per_page: Some(5) })
            .await
            .unwrap();
        assert!(sent.is_empty(), "{sent:?}");
        assert_eq!(client.ticket(s.georgia, "D-1").await.unwrap().response_status, ResponseStatus::Pending);
    }

    async fn takes_in_a_call_centers_document_and_serves_it_back(db: &TestDatabase) {
        let s = setup(db).await;
        let client = s.admin();
        let path = format!(
            "{}/../integrity-intake/tests/fixtures/ga811_open_ticket_normal_240222-001001.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let body = std::fs::read(&path).unwrap();

        let created = client.intake_document(s.georgia, body.clone(), "application/json", None).await.unwrap();
        assert_eq!(created.outcome, IntakeOutcome::Created);
        assert_eq!(created.ticket.ticket_number, "240222-001001");
        assert_eq!(created.ticket.service_area.as_deref(), Some("GAUPC"));
        let again = client
            .intake_document(s.georgia, body.clone(), "application/json", Some("open-ticket"))
            .await
            .unwrap();
        assert_eq!((again.outcome, again.ticket.id), (IntakeOutcome::Existing, created.ticket.id));

        let history = client.history(s.georgia, "240222-001001").await.unwrap();
        let ids = history[0].document_ids();
        assert_eq!(ids.len(), 1, "{history:?}");
        let document = client.document(s.georgia, "240222-001001", ids[0]).await.unwrap();
        assert_eq!(document.bytes, body);
        assert_eq!(document.content_type, "application/json");
        let digest = {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(&body))
        };
        assert_eq!(document.sha256.as_deref(), Some(digest.as_str()));
        assert!(client.document(s.georgia, "240222-001001", ids[0] + 100).await.unwrap_err().is_not_found());

        let errors = refused(client.intake_document(s.georgia, body, "application/json", Some("fax")).await, 422);
        assert!(errors.get("format")[0].starts_with("is not included in the list"), "{errors}");
    }
}

/// `metrics` reads the text `integrity serve` mounts beside the API, and
/// reports the 404 of a server that serves it elsewhere.
#[tokio::test]
async fn reads_the_metrics_text_and_reports_a_server_without_it() {
    const TEXT: &str = "# TYPE integrity_http_requests_total counter\nintegrity_http_requests_total{route=\"/healthz\",status=\"200\"} 3\n";
    let with = axum::Router::new().route("/metrics", axum::routing::get(|| async { TEXT }));
    let without = axum::Router::new();
    let mut urls = Vec::new();
    for app in [with, without] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        urls.push(format!("http://{}", listener.local_addr().unwrap()));
        tokio::spawn(async move { axum::serve(listener, app).await });
    }
    let client = Client::new(&urls[0], "any-key").unwrap();
    assert_eq!(client.metrics().await.unwrap(), TEXT);
    let client = Client::new(&urls[1], "any-key").unwrap();
    assert!(client.metrics().await.unwrap_err().is_not_found());
}
