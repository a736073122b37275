//! `integrity copy` and `integrity backup` end to end, on real data: the
//! demo account and a second one holding the call centers' sample
//! documents, worked a little (field values, a response waiting for the
//! relay, a revoked key), then copied SQLite → PostgreSQL → SQLite (the
//! PostgreSQL leg when INTEGRITY_TEST_POSTGRES_URL is set, straight
//! SQLite → SQLite otherwise); and backups taken while tickets come in.

use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use integrity_domain::relay::RelaySettings;
use integrity_domain::response::ResponseInput;
use integrity_domain::ticket::{parse_intake, Ticket, TicketPatch};
use integrity_domain::time::format_millis;
use integrity_store::relay::DeliveryView;
use integrity_store::testing::TestDatabase;
use integrity_store::{
    AccountId, ApiToken, CallCenter, CustomField, DatabaseUrl, HistoryEntry, PreparedIntake, Store,
    StoredDocument, TicketFilter, Transition, User,
};
use serde_json::{json, Value};

const DEMO_TOKEN: &str = "itg_demo_token_for_local_trials_only";

/// A second account: the call centers the sample documents come from, a
/// user with permissions granted and revoked, another inactive.
const ACME: &str = r#"{"accounts": [{"subdomain": "acme", "name": "Acme Locating", "plan": {"max_users": 3},
  "users": [{"name": "Åsa Öberg", "email": "asa@acme.example", "role": "manager",
             "grant": ["relay:manage"], "revoke": ["tickets:close"], "api_tokens": ["acme-key-for-copy-tests-0001"]},
            {"name": "Former Locator", "email": "former@acme.example", "role": "locator", "active": false}],
  "call_centers": [{"name": "USA North 811", "state": "California", "service_areas": [{"code": "CNSA12"}]},
                   {"name": "PA 811", "facility_required": true, "facilities": ["Gas"],
                    "service_areas": [{"code": "PAUPC", "facilities": ["Gas"]}]}]}]}"#;

fn integrity(database: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_integrity"))
        .arg("--database")
        .arg(database)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run integrity")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn succeed(database: &str, args: &[&str]) -> String {
    let out = integrity(database, args);
    assert!(
        out.status.success(),
        "integrity {args:?}: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

fn copy(from: &str, to: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_integrity"))
        .args(["copy", "--from", from, "--to", to])
        .env("RUST_LOG", "warn")
        .output()
        .expect("run integrity copy")
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../integrity-intake/tests/fixtures")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn demo_manifest() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("demo/manifest.json")
        .to_string_lossy()
        .into_owned()
}

/// A ticket as the API takes it, for Georgia 811 (two in three) or Lone
/// Star 811, with the demo's service areas.
fn ticket_line(i: usize, center: Value, remarks: &str) -> Value {
    let georgia = i % 3 != 2;
    let (number, area, others) = if georgia {
        (
            format!("240301-{:06}", 1000 + i),
            ["DEMOGA01", "DEMOGA02", "DEMOGA03"][i % 3],
            vec!["GAUPC", "ATL03"],
        )
    } else {
        (
            format!("24{:08}", 70_000_000 + i * 7),
            ["DEMOTX01", "DEMOTX02"][i % 2],
            vec![],
        )
    };
    let taken = 1_709_280_000_000 + i as i64 * 600_000;
    json!({
        "ticket_number": number,
        "ticket_type": if i.is_multiple_of(20) { "Emergency" } else { "Normal" },
        "service_area": area,
        "additional_service_areas": &others[..i % (others.len() + 1)],
        "taken_at": format_millis(taken),
        "work_start_at": format_millis(taken + 3 * 86_400_000),
        "remarks": remarks,
        "excavator": {"name": "Red Clay Grading LLC", "phone": "555-555-0142",
                      "contact": {"name": "Pat Sample", "email": "pat.sample@example.com"}},
        "work": {"type": "installing fence posts", "address": format!("{} Oak Rd, Norcross, GA", 100 + i),
                 "white_painted": i.is_multiple_of(2),
                 "area": {"type": "Polygon", "coordinates": [[[-84.21, 33.94], [-84.2, 33.94], [-84.2, 33.95], [-84.21, 33.94]]]}},
        "call_center": center,
        "lat": 33.9412,
        "lng": -84.2135,
    })
}

/// The demo account with 300 tickets and the sample documents, worked a
/// little. Returns the number of the ticket whose response waits for the
/// relay.
async fn provision(db: &TestDatabase) -> String {
    let url = db.url.as_str();
    succeed(url, &["apply", &demo_manifest()]);
    let dir = tempfile::tempdir().unwrap();
    let acme = dir.path().join("acme.json");
    std::fs::write(&acme, ACME).unwrap();
    succeed(url, &["apply", acme.to_str().unwrap()]);

    let mut lines: Vec<String> = (0..300)
        .map(|i| {
            let center = if i % 3 != 2 {
                "Georgia 811"
            } else {
                "Lone Star 811"
            };
            ticket_line(
                i,
                json!({"name": center}),
                "CALLER REQUESTS MARKS BEFORE 9AM",
            )
            .to_string()
        })
        .collect();
    // A revision of the first ticket: a new version, its history kept.
    lines.push(
        ticket_line(
            0,
            json!({"name": "Georgia 811"}),
            "REVISED: ALSO MARK THE BACK ALLEY ✓",
        )
        .to_string(),
    );
    let tickets = dir.path().join("tickets.jsonl");
    std::fs::write(&tickets, lines.join("\n")).unwrap();
    let out = succeed(
        url,
        &["import", "--account", "demo", tickets.to_str().unwrap()],
    );
    assert!(out.contains("300 created, 1 new versions"), "{out}");

    // Documents as received: e-mails first, so that their attachments (a
    // GIF among them) are what is kept.
    succeed(
        url,
        &[
            "import",
            "--account",
            "demo",
            "--call-center",
            "Georgia 811",
            "--format",
            "auto",
            &fixture("ga811_open_ticket_normal_240222-001001.json"),
        ],
    );
    let out = succeed(
        url,
        &[
            "import",
            "--account",
            "acme",
            "--call-center",
            "USA North 811",
            "--format",
            "auto",
            &fixture("eml/usan_option2_body_gif_gml.eml"),
            &fixture("eml/usan_xml_attachment.eml"),
            &fixture("eml/usan_legacy_qp_body.eml"),
            &fixture("usan_ca_option3_2022041100005.xml"),
            &fixture("usan_nv_option2_2022041400001-000.txt"),
            &fixture("usan_ca_legacy_2022041900001-000.txt"),
        ],
    );
    assert!(out.contains("3 created"), "{out}");
    succeed(
        url,
        &[
            "import",
            "--account",
            "acme",
            "--call-center",
            "PA 811",
            "--format",
            "auto",
            &fixture("pa811_open_ticket_emergency_20241231234.json"),
        ],
    );

    let store = &db.store;
    let demo = store.account_by_subdomain("demo").await.unwrap().unwrap();
    let users = store.users(demo).await.unwrap();
    let user = |email: &str| users.iter().find(|u| u.email == email).unwrap().id;
    let (al, lou) = (
        user("al.dente@demo.example"),
        user("lou.cator@demo.example"),
    );
    let centers = store.call_centers(demo).await.unwrap();
    let georgia = centers.iter().find(|c| c.name == "Georgia 811").unwrap().id;
    let fields = store.custom_fields(demo).await.unwrap();
    let field = |name: &str| fields.iter().find(|f| f.name == name).unwrap();
    let crew = field("Crew");
    let crew_option = crew.options.as_ref().unwrap()[0].id;

    // Field values of several types, an assignee, then a response that
    // completes the ticket and is queued for Georgia 811's relay.
    let worked = ticket_line(3, Value::Null, "")["ticket_number"]
        .as_str()
        .unwrap()
        .to_string();
    let mut patch = TicketPatch::default();
    for (name, value) in [
        ("Crew", json!(crew_option)),
        ("Job reference", json!("JOB-42 Äöü 🚧")),
        ("Locator notes", json!("two\nlines, \"quoted\"")),
        ("Marks painted", json!(12)),
        ("Site visit", json!(true)),
    ] {
        patch
            .custom_fields
            .insert(field(name).id.to_string(), value);
    }
    patch.assignee_id = Some(Some(lou));
    store
        .update_ticket(demo, georgia, &worked, &patch, Transition::None, al)
        .await
        .unwrap();
    let response = ResponseInput {
        service_area: "DEMOGA01".into(),
        code: "1A".into(),
        facility: None,
        comment: "Marked: gas and water — all flagged".into(),
    };
    store
        .put_response(demo, georgia, &worked, &response, lou)
        .await
        .unwrap();

    // A ticket closed by hand.
    let closed = ticket_line(1, Value::Null, "")["ticket_number"]
        .as_str()
        .unwrap()
        .to_string();
    let mut patch = TicketPatch::default();
    patch
        .custom_fields
        .insert(crew.id.to_string(), json!(crew_option));
    store
        .update_ticket(demo, georgia, &closed, &patch, Transition::Close, al)
        .await
        .unwrap();

    // A key issued and revoked.
    let (token, _) = store.create_token(demo, lou).await.unwrap();
    store.revoke_token(demo, token.id).await.unwrap();
    worked
}

/// One account as the API shows it.
#[derive(Debug, PartialEq)]
struct AccountView {
    id: AccountId,
    users: Vec<User>,
    tokens: Vec<Vec<ApiToken>>,
    call_centers: Vec<CallCenter>,
    relay_settings: Vec<Option<RelaySettings>>,
    custom_fields: Vec<CustomField>,
    tickets: Vec<Ticket>,
    history: Vec<Vec<HistoryEntry>>,
    documents: Vec<StoredDocument>,
    deliveries: Vec<DeliveryView>,
}

async fn account_view(store: &Store, subdomain: &str) -> AccountView {
    let id = store
        .account_by_subdomain(subdomain)
        .await
        .unwrap()
        .unwrap();
    let users = store.users(id).await.unwrap();
    let mut tokens = Vec::new();
    for user in &users {
        tokens.push(store.tokens(id, user.id).await.unwrap().unwrap());
    }
    let call_centers = store.call_centers(id).await.unwrap();
    let mut relay_settings = Vec::new();
    for center in &call_centers {
        relay_settings.push(store.relay_settings(id, center.id).await.unwrap());
    }
    let mut tickets = Vec::new();
    let mut after = None;
    loop {
        let filter = TicketFilter {
            per_page: 100,
            after,
            ..Default::default()
        };
        let page = store.tickets(id, &filter).await.unwrap();
        tickets.extend(page.tickets);
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let mut history = Vec::new();
    let mut documents = Vec::new();
    for ticket in &tickets {
        let (center, number) = (ticket.call_center.id, ticket.content.ticket_number.as_str());
        let entries = store
            .ticket_history(id, center, number)
            .await
            .unwrap()
            .unwrap();
        for entry in &entries {
            let ids = entry
                .details
                .get("documents")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for document in ids {
                let document = document.as_i64().unwrap();
                documents.push(
                    store
                        .ticket_document(id, center, number, document)
                        .await
                        .unwrap()
                        .unwrap(),
                );
            }
        }
        history.push(entries);
    }
    let deliveries = store.deliveries(id, None, 1000).await.unwrap();
    AccountView {
        id,
        users,
        tokens,
        call_centers,
        relay_settings,
        custom_fields: store.custom_fields(id).await.unwrap(),
        tickets,
        history,
        documents,
        deliveries,
    }
}

async fn view(store: &Store) -> Vec<AccountView> {
    vec![
        account_view(store, "demo").await,
        account_view(store, "acme").await,
    ]
}

/// Equal lists, or the first element that differs (the whole lists would
/// be too long to read).
fn same_list<T: PartialEq + Debug>(what: &str, got: &[T], expected: &[T]) {
    if let Some(i) = (0..got.len().min(expected.len())).find(|&i| got[i] != expected[i]) {
        panic!(
            "{what}[{i}] differs:\n  got      {:?}\n  expected {:?}",
            got[i], expected[i]
        );
    }
    assert_eq!(got.len(), expected.len(), "number of {what}");
}

fn same_view(got: &[AccountView], expected: &[AccountView]) {
    for (got, expected) in got.iter().zip(expected) {
        same_list("users", &got.users, &expected.users);
        same_list("tokens", &got.tokens, &expected.tokens);
        same_list("call centers", &got.call_centers, &expected.call_centers);
        same_list(
            "relay settings",
            &got.relay_settings,
            &expected.relay_settings,
        );
        same_list("custom fields", &got.custom_fields, &expected.custom_fields);
        same_list("tickets", &got.tickets, &expected.tickets);
        same_list("history", &got.history, &expected.history);
        same_list("documents", &got.documents, &expected.documents);
        same_list("deliveries", &got.deliveries, &expected.deliveries);
        assert_eq!(got.id, expected.id);
    }
    assert_eq!(got.len(), expected.len());
}

/// Runs `integrity copy` and checks its report: every table, row counts
/// as the source holds them, every checksum matching.
fn copy_and_check(from: &str, to: &str, expected: &[(&str, usize)]) {
    let out = copy(from, to);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}{stderr}");
    let lines: Vec<&str> = stdout.lines().filter(|l| l.contains(" rows, ")).collect();
    assert_eq!(lines.len(), 15, "a line per table: {stdout}");
    assert!(
        lines.iter().all(|l| l.ends_with("rows, checksum ok")),
        "{stdout}"
    );
    for (table, rows) in expected {
        assert!(
            lines.contains(&format!("{table}: {rows} rows, checksum ok").as_str()),
            "{stdout}"
        );
    }
}

#[tokio::test]
async fn everything_survives_sqlite_to_postgres_and_back() {
    let source = TestDatabase::sqlite().await;
    let pending_ticket = provision(&source).await;
    let before = view(&source.store).await;
    let tickets = before.iter().map(|a| a.tickets.len()).sum::<usize>();
    assert_eq!(tickets, 300 + 1 + 3 + 1);
    assert!(
        before[1]
            .documents
            .iter()
            .any(|d| d.content_type == "image/gif" && std::str::from_utf8(&d.body).is_err()),
        "a binary attachment is among the documents"
    );
    let documents = before.iter().map(|a| a.documents.len()).sum::<usize>();
    let expected = [
        ("accounts", 2),
        ("tickets", tickets),
        ("ticket_documents", documents),
    ];
    let pending: Vec<_> = before[0]
        .deliveries
        .iter()
        .filter(|d| d.status == "queued")
        .collect();
    assert_eq!(pending.len(), 1, "{:?}", before[0].deliveries);
    let pending = pending[0].clone();

    let dir = tempfile::tempdir().unwrap();
    // A destination that does not exist yet: the copy creates and migrates it.
    let moved_url = format!("sqlite://{}", dir.path().join("moved.db").display());
    match TestDatabase::postgres().await {
        Some(postgres) => {
            copy_and_check(source.url.as_str(), postgres.url.as_str(), &expected);
            same_view(&view(&postgres.store).await, &before);
            copy_and_check(postgres.url.as_str(), &moved_url, &expected);

            // New rows on PostgreSQL take ids past the copied ones.
            let demo = before[0].id;
            let georgia = before[0]
                .call_centers
                .iter()
                .find(|c| c.name == "Georgia 811")
                .unwrap()
                .id;
            let lou = before[0]
                .users
                .iter()
                .find(|u| u.email == "lou.cator@demo.example")
                .unwrap()
                .id;
            let another = ticket_line(6, Value::Null, "")["ticket_number"]
                .as_str()
                .unwrap()
                .to_string();
            let response = ResponseInput {
                service_area: "DEMOGA01".into(),
                code: "3N".into(),
                facility: None,
                comment: String::new(),
            };
            let written = postgres
                .store
                .put_response(demo, georgia, &another, &response, lou)
                .await
                .unwrap();
            let most = before[0]
                .tickets
                .iter()
                .flat_map(|t| &t.responses)
                .map(|r| r.id)
                .max()
                .unwrap();
            assert!(written.id > most, "{} after {most}", written.id);
            let line = tempfile::NamedTempFile::new().unwrap();
            std::fs::write(
                line.path(),
                ticket_line(1000, json!({"name": "Georgia 811"}), "NEW").to_string(),
            )
            .unwrap();
            let out = succeed(
                postgres.url.as_str(),
                &["import", "--account", "demo", line.path().to_str().unwrap()],
            );
            assert!(out.contains("1 created"), "{out}");
            postgres.finish().await;
        }
        None => {
            eprintln!(
                "PostgreSQL leg skipped: {} is not set",
                integrity_store::testing::POSTGRES_ENV
            );
            copy_and_check(source.url.as_str(), &moved_url, &expected);
        }
    }

    let moved = Store::open(&DatabaseUrl::parse(&moved_url).unwrap())
        .await
        .unwrap();
    same_view(&view(&moved).await, &before);
    let principal = moved
        .authenticate(DEMO_TOKEN)
        .await
        .unwrap()
        .expect("the demo key works");
    assert_eq!(principal.user_name, "Al Dente");
    assert!(moved
        .authenticate("acme-key-for-copy-tests-0001")
        .await
        .unwrap()
        .is_some());

    // The response that waited for the relay still waits, and a worker
    // takes it as it would have from the source.
    let claimed = moved
        .claim_deliveries("copy-test", 10, 60_000)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(
        (claimed[0].id, claimed[0].ticket_id),
        (pending.id, pending.ticket_id)
    );
    assert_eq!(
        serde_json::to_value(&claimed[0].payload).unwrap(),
        pending.payload
    );
    assert_eq!(
        claimed[0].settings.url.as_deref(),
        Some("http://127.0.0.1:3811")
    );
    let worked = before[0]
        .tickets
        .iter()
        .find(|t| t.content.ticket_number == pending_ticket)
        .unwrap();
    assert_eq!(worked.id, pending.ticket_id);
    moved.close().await;

    // Copying again into what now holds data is refused, and changes nothing.
    let out = copy(source.url.as_str(), &moved_url);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("already holds data"),
        "{}",
        text(&out.stderr)
    );
    let moved = Store::open(&DatabaseUrl::parse(&moved_url).unwrap())
        .await
        .unwrap();
    assert_eq!(view(&moved).await[0].tickets.len(), before[0].tickets.len());
    moved.close().await;
    source.finish().await;
}

const BATCH: usize = 20;

/// Every ticket of the backup, and whether each has its 'created' entry.
async fn created_counts(url: &str) -> (usize, usize) {
    let store = Store::open(&DatabaseUrl::parse(url).unwrap())
        .await
        .unwrap();
    let demo = store.account_by_subdomain("demo").await.unwrap().unwrap();
    let (mut tickets, mut created) = (0, 0);
    let mut after = None;
    loop {
        let filter = TicketFilter {
            per_page: 500,
            after,
            ..Default::default()
        };
        let page = store.tickets(demo, &filter).await.unwrap();
        for ticket in &page.tickets {
            tickets += 1;
            let history = store
                .ticket_history(demo, ticket.call_center.id, &ticket.content.ticket_number)
                .await
                .unwrap()
                .unwrap();
            created += history.iter().filter(|h| h.kind == "created").count();
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    store.close().await;
    (tickets, created)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_taken_while_tickets_come_in_are_consistent() {
    let db = TestDatabase::sqlite().await;
    succeed(db.url.as_str(), &["apply", &demo_manifest()]);
    let demo = db
        .store
        .account_by_subdomain("demo")
        .await
        .unwrap()
        .unwrap();
    let georgia = db.store.call_centers(demo).await.unwrap()[0].id;

    // A writer taking tickets in, BATCH per transaction, until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let batches = Arc::new(AtomicU64::new(0));
    let writer = {
        let (store, stop, batches) = (db.store.clone(), stop.clone(), batches.clone());
        tokio::spawn(async move {
            let mut next = 0;
            while !stop.load(Ordering::SeqCst) {
                let items: Vec<_> = (next..next + BATCH)
                    .map(|i| {
                        PreparedIntake::new(
                            parse_intake(ticket_line(i * 3, json!({"id": georgia}), "")).unwrap(),
                            None,
                        )
                        .unwrap()
                    })
                    .collect();
                for outcome in store.intake_batch(demo, &items).await.unwrap() {
                    outcome.unwrap();
                }
                next += BATCH;
                batches.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    let wait_for_batches = |n: u64| {
        let batches = batches.clone();
        async move {
            while batches.load(Ordering::SeqCst) < n {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        }
    };

    let dir = tempfile::tempdir().unwrap();
    let mut taken: Vec<(PathBuf, u64, u64)> = Vec::new();
    for k in 0..3 {
        let done_before = batches.load(Ordering::SeqCst);
        wait_for_batches(done_before + 2).await;
        let file = dir.path().join(format!("backup-{k}.db"));
        let started = batches.load(Ordering::SeqCst);
        let (url, target) = (
            db.url.as_str().to_string(),
            file.to_str().unwrap().to_string(),
        );
        let out = tokio::task::spawn_blocking(move || integrity(&url, &["backup", &target]))
            .await
            .unwrap();
        let ended = batches.load(Ordering::SeqCst);
        assert!(
            out.status.success(),
            "{}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        assert!(
            text(&out.stdout).contains("backed up"),
            "{}",
            text(&out.stdout)
        );
        taken.push((file, started, ended));
    }
    stop.store(true, Ordering::SeqCst);
    writer.await.unwrap();
    assert!(
        taken.windows(2).all(|w| w[0].2 < w[1].1),
        "the writer went on between backups: {taken:?}"
    );

    for (file, started, ended) in &taken {
        let url = format!("sqlite://{}", file.display());
        let out = succeed(&url, &["migrate"]);
        assert!(out.contains("database is up to date"), "{out}");
        let (tickets, created) = created_counts(&url).await;
        assert_eq!(
            tickets,
            created,
            "{}: every ticket with its 'created' entry",
            file.display()
        );
        assert_eq!(
            tickets % BATCH,
            0,
            "{}: whole transactions only",
            file.display()
        );
        let batches_in = (tickets / BATCH) as u64;
        assert!(
            (*started..=ended + 1).contains(&batches_in),
            "{}: {batches_in} batches, taken while {started}..{ended} were done",
            file.display()
        );
    }

    // Once quiet, a backup holds exactly what the database does.
    let quiet = dir.path().join("quiet.db");
    succeed(db.url.as_str(), &["backup", quiet.to_str().unwrap()]);
    let backup =
        Store::open(&DatabaseUrl::parse(&format!("sqlite://{}", quiet.display())).unwrap())
            .await
            .unwrap();
    same_view(
        &[account_view(&backup, "demo").await],
        &[account_view(&db.store, "demo").await],
    );
    backup.close().await;
    let again = integrity(db.url.as_str(), &["backup", quiet.to_str().unwrap()]);
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("already exists"),
        "{}",
        text(&again.stderr)
    );

    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("partial"))
        .collect();
    names.sort();
    assert!(
        names.is_empty(),
        "no temporary file is left behind: {names:?}"
    );
    db.finish().await;
}

#[test]
fn postgres_backups_are_left_to_pg_dump() {
    let out = integrity(
        "postgres://u:p@127.0.0.1:1/db",
        &["backup", "never-written.db"],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("pg_dump"),
        "{}",
        text(&out.stderr)
    );
    assert!(!Path::new("never-written.db").exists());
}
