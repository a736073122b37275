//! The relay end to end: responses written through the store, delivered by
//! workers to the call-center simulator on loopback. Every test runs on
//! SQLite and, when configured, PostgreSQL.

use std::time::Duration;

use integrity_domain::manifest::Manifest;
use integrity_domain::response::ResponseInput;
use integrity_domain::ticket::{parse_intake, ResponseStatus};
use integrity_relay::simulator::{Simulator, SimulatorConfig};
use integrity_relay::{RetrySchedule, Worker, WorkerConfig};
use integrity_store::relay::{DeliveryOutcome, FAILED};
use integrity_store::{test_on_both_backends, AccountId, Store};
use serde_json::json;

struct Fixture {
    account: AccountId,
    center: i64,
    user: i64,
}

async fn start_center(config: SimulatorConfig) -> (Simulator, String) {
    let simulator = Simulator::new(config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(simulator.clone().serve(listener));
    (simulator, url)
}

/// An account whose Georgia 811 relays to `url`, and one ticket `T-1`
/// naming the service areas AREA00..AREA{areas-1}.
async fn provision(store: &Store, url: &str, areas: usize) -> Fixture {
    let codes: Vec<String> = (0..areas).map(|i| format!("AREA{i:02}")).collect();
    let manifest = json!({"accounts": [{"subdomain": "acme", "name": "Acme",
        "users": [{"name": "Al Dente", "email": "al@example.com", "role": "admin", "api_tokens": ["acme-existing-key-0001"]}],
        "call_centers": [{"name": "Georgia 811", "facilities": ["Gas", "Water"],
            "service_areas": codes.iter().map(|c| json!({"code": c})).collect::<Vec<_>>(),
            "response_codes": [{"code": "1A", "description": "Marked", "completes": true},
                               {"code": "3J", "description": "Unmarked", "completes": false}],
            "relay": {"enabled": true, "url": url, "actions": {"1A": "MARKED"}}}]}]});
    store
        .apply(&Manifest::from_json(&manifest.to_string()).unwrap())
        .await
        .unwrap();
    let account = store.account_by_subdomain("acme").await.unwrap().unwrap();
    let center = store.call_centers(account).await.unwrap()[0].id;
    let intake = parse_intake(
        json!({"ticket_number": "T-1", "call_center": {"id": center},
        "service_area": codes[0], "additional_service_areas": codes[1..]}),
    )
    .unwrap();
    store
        .intake_ticket(account, &intake, None, None)
        .await
        .unwrap();
    let user = store
        .authenticate("acme-existing-key-0001")
        .await
        .unwrap()
        .unwrap()
        .user_id;
    Fixture {
        account,
        center,
        user,
    }
}

fn response(area: &str, code: &str) -> ResponseInput {
    ResponseInput {
        service_area: area.into(),
        code: code.into(),
        facility: None,
        comment: String::new(),
    }
}

fn fast_worker(store: &Store, name: &str) -> Worker {
    let config = WorkerConfig {
        worker_id: name.into(),
        poll_interval: Duration::from_millis(20),
        lease: Duration::from_secs(30),
        schedule: RetrySchedule {
            first: Duration::from_millis(50),
            max: Duration::from_millis(200),
            retry_after_min: Duration::from_millis(50),
            retry_after_max: Duration::from_millis(200),
            give_up_after: Duration::from_secs(3600),
        },
        ..WorkerConfig::default()
    };
    Worker::new(store.clone(), config).unwrap()
}

/// Runs the worker until nothing is queued (or fails the test after 20 s).
async fn drain(store: &Store, workers: &[Worker]) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        for worker in workers {
            worker.run_once().await.unwrap();
        }
        let summary = store.relay_summary().await.unwrap();
        if summary.queued == 0 {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "deliveries still queued: {summary:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn response_status(store: &Store, f: &Fixture, area: &str) -> (ResponseStatus, bool) {
    let ticket = store
        .ticket_by_number(f.account, f.center, "T-1")
        .await
        .unwrap()
        .unwrap();
    let r = ticket
        .responses
        .iter()
        .find(|r| r.service_area == area)
        .unwrap();
    (r.status, r.responded_at.is_some())
}

test_on_both_backends! {
    async fn a_response_is_delivered_and_marked_sent(db: &TestDatabase) {
        let (center, url) = start_center(SimulatorConfig::default()).await;
        let f = provision(&db.store, &url, 2).await;
        db.store.put_response(f.account, f.center, "T-1", &response("AREA00", "1A"), f.user).await.unwrap();
        let ticket = db.store.ticket_by_number(f.account, f.center, "T-1").await.unwrap().unwrap();
        assert_eq!(ticket.response_status, "pending");

        drain(&db.store, &[fast_worker(&db.store, "w1")]).await;
        let accepted = center.accepted();
        assert_eq!(accepted.len(), 1);
        assert_eq!((accepted[0].ticket_number.as_str(), accepted[0].member_code.as_str()), ("T-1", "AREA00"));
        assert_eq!(accepted[0].action, "MARKED", "mapped from 1A");
        assert_eq!(accepted[0].facilities, ["Gas", "Water"], "the area's facilities");
        assert!(accepted[0].session.as_deref().is_some_and(|s| s.len() == 32));
        assert_eq!(response_status(&db.store, &f, "AREA00").await, (ResponseStatus::Sent, true));
        let ticket = db.store.ticket_by_number(f.account, f.center, "T-1").await.unwrap().unwrap();
        assert_eq!(ticket.response_status, "sent");
        let history = db.store.ticket_history(f.account, f.center, "T-1").await.unwrap().unwrap();
        assert!(history.iter().any(|h| h.kind == "response_sent"));
    }

    async fn a_response_changed_before_delivery_is_sent_once_in_its_latest_form(db: &TestDatabase) {
        let (center, url) = start_center(SimulatorConfig::default()).await;
        let f = provision(&db.store, &url, 1).await;
        db.store.put_response(f.account, f.center, "T-1", &response("AREA00", "3J"), f.user).await.unwrap();
        db.store.put_response(f.account, f.center, "T-1", &response("AREA00", "1A"), f.user).await.unwrap();
        drain(&db.store, &[fast_worker(&db.store, "w1")]).await;
        let actions: Vec<String> = center.accepted().into_iter().map(|a| a.action).collect();
        assert_eq!(actions, ["MARKED"]);
    }

    async fn a_center_down_for_a_while_gets_everything_once_in_order(db: &TestDatabase) {
        let (center, url) = start_center(SimulatorConfig { down_for_secs: 3, ..Default::default() }).await;
        let f = provision(&db.store, &url, 3).await;
        let worker = fast_worker(&db.store, "w1");
        for area in ["AREA00", "AREA01", "AREA02"] {
            db.store.put_response(f.account, f.center, "T-1", &response(area, "3J"), f.user).await.unwrap();
        }
        // One attempt while the center is down, then a change of one response.
        worker.run_once().await.unwrap();
        assert!(center.accepted().is_empty());
        db.store.put_response(f.account, f.center, "T-1", &response("AREA01", "1A"), f.user).await.unwrap();
        drain(&db.store, &[worker]).await;

        let accepted = center.accepted();
        let area01: Vec<&str> = accepted.iter().filter(|a| a.member_code == "AREA01").map(|a| a.action.as_str()).collect();
        assert_eq!(area01, ["3J", "MARKED"], "each version once, in order");
        assert_eq!(accepted.len(), 4, "{accepted:?}");
        let mut sessions: Vec<_> = accepted.iter().map(|a| a.session.clone()).collect();
        sessions.sort();
        sessions.dedup();
        assert_eq!(sessions.len(), 4);
        for area in ["AREA00", "AREA01", "AREA02"] {
            assert_eq!(response_status(&db.store, &f, area).await, (ResponseStatus::Sent, true));
        }
    }

    async fn a_duplicate_after_a_lost_acknowledgement_counts_as_sent(db: &TestDatabase) {
        let (center, url) = start_center(SimulatorConfig::default()).await;
        let f = provision(&db.store, &url, 1).await;
        db.store.put_response(f.account, f.center, "T-1", &response("AREA00", "1A"), f.user).await.unwrap();
        // The first attempt reaches the center, but its answer is lost.
        let claimed = db.store.claim_deliveries("lost", 10, 1).await.unwrap();
        assert_eq!(claimed.len(), 1);
        reqwest::Client::new()
            .post(format!("{url}/response"))
            .json(&claimed[0].payload)
            .send()
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
        drain(&db.store, &[fast_worker(&db.store, "w1")]).await;
        assert_eq!(center.accepted().len(), 1);
        assert_eq!(response_status(&db.store, &f, "AREA00").await, (ResponseStatus::Sent, true));
    }

    async fn a_refusal_fails_the_response_with_the_centers_messages(db: &TestDatabase) {
        let config = SimulatorConfig { members: Some(vec!["SOMEONE".into()]), ..Default::default() };
        let (_center, url) = start_center(config).await;
        let f = provision(&db.store, &url, 1).await;
        db.store.put_response(f.account, f.center, "T-1", &response("AREA00", "1A"), f.user).await.unwrap();
        drain(&db.store, &[fast_worker(&db.store, "w1")]).await;
        assert_eq!(response_status(&db.store, &f, "AREA00").await, (ResponseStatus::Failed, false));
        let ticket = db.store.ticket_by_number(f.account, f.center, "T-1").await.unwrap().unwrap();
        assert_eq!(ticket.response_status, "failed");
        let failed = db.store.deliveries(f.account, Some(FAILED), 10).await.unwrap();
        assert_eq!(failed.len(), 1);
        assert!(failed[0].messages.iter().any(|m| m.contains("memberCode")), "{:?}", failed[0].messages);

        // An operator fixes the center and re-queues.
        assert_eq!(db.store.retry_failed(Some(f.account)).await.unwrap(), 1);
        assert_eq!(response_status(&db.store, &f, "AREA00").await.0, ResponseStatus::Pending);
    }

    async fn workers_racing_on_one_database_deliver_each_response_once(db: &TestDatabase) {
        let (center, url) = start_center(SimulatorConfig { latency_ms: 5, ..Default::default() }).await;
        let f = provision(&db.store, &url, 20).await;
        for i in 0..20 {
            db.store.put_response(f.account, f.center, "T-1", &response(&format!("AREA{i:02}"), "1A"), f.user).await.unwrap();
        }
        // Two stores stand for two server processes.
        let second = Store::open(&db.url).await.unwrap();
        let workers = [fast_worker(&db.store, "process-1"), fast_worker(&second, "process-2")];
        let (a, b) = tokio::join!(workers[0].run_once(), workers[1].run_once());
        assert_eq!(a.unwrap() + b.unwrap(), 20, "every delivery claimed by exactly one worker");
        drain(&db.store, &workers).await;
        let accepted = center.accepted();
        assert_eq!(accepted.len(), 20);
        let mut members: Vec<_> = accepted.iter().map(|a| a.member_code.clone()).collect();
        members.sort();
        members.dedup();
        assert_eq!(members.len(), 20);
        second.close().await;
    }

    async fn a_worker_that_dies_mid_delivery_leaves_it_to_another_with_the_same_session(db: &TestDatabase) {
        let (center, url) = start_center(SimulatorConfig::default()).await;
        let f = provision(&db.store, &url, 1).await;
        db.store.put_response(f.account, f.center, "T-1", &response("AREA00", "1A"), f.user).await.unwrap();
        // The first worker claims with a short lease and is never heard of again.
        let claimed = db.store.claim_deliveries("dead", 10, 2_000).await.unwrap();
        assert_eq!(claimed.len(), 1);
        let survivor = fast_worker(&db.store, "alive");
        assert_eq!(survivor.run_once().await.unwrap(), 0, "the lease still holds");
        tokio::time::sleep(Duration::from_millis(2_100)).await;
        drain(&db.store, &[survivor]).await;
        let accepted = center.accepted();
        assert_eq!(accepted.len(), 1);
        assert_eq!(accepted[0].session.as_deref(), Some(claimed[0].payload.session.as_str()));
        // The dead worker's late outcome is not recorded over the survivor's.
        let late = DeliveryOutcome::Failed { messages: vec!["late".into()] };
        assert!(!db.store.finish_delivery(&claimed[0], "dead", late, i64::MAX).await.unwrap());
        assert_eq!(response_status(&db.store, &f, "AREA00").await, (ResponseStatus::Sent, true));
    }

    async fn a_busy_center_is_retried_later_and_the_response_stays_pending(db: &TestDatabase) {
        let (center, url) = start_center(SimulatorConfig { fail_rate: 1.0, ..Default::default() }).await;
        let f = provision(&db.store, &url, 1).await;
        db.store.put_response(f.account, f.center, "T-1", &response("AREA00", "1A"), f.user).await.unwrap();
        let worker = fast_worker(&db.store, "w1");
        worker.run_once().await.unwrap();
        let queued = db.store.deliveries(f.account, Some("queued"), 10).await.unwrap();
        assert_eq!(queued.len(), 1);
        assert_eq!(queued[0].attempts, 1);
        assert!(queued[0].last_error.as_deref().is_some_and(|e| e.contains("503")), "{:?}", queued[0].last_error);
        assert!(center.accepted().is_empty());
        assert_eq!(response_status(&db.store, &f, "AREA00").await, (ResponseStatus::Pending, false));
    }

    async fn responses_of_a_center_without_relay_are_not_queued(db: &TestDatabase) {
        let (_center, url) = start_center(SimulatorConfig::default()).await;
        let f = provision(&db.store, &url, 1).await;
        let mut manifest: serde_json::Value = json!({"accounts": [{"subdomain": "acme", "name": "Acme",
            "call_centers": [{"name": "Georgia 811", "relay": {"enabled": false}}]}]});
        db.store.apply(&Manifest::from_json(&manifest.to_string()).unwrap()).await.unwrap();
        db.store.put_response(f.account, f.center, "T-1", &response("AREA00", "1A"), f.user).await.unwrap();
        assert_eq!(db.store.relay_summary().await.unwrap().queued, 0);
        let ticket = db.store.ticket_by_number(f.account, f.center, "T-1").await.unwrap().unwrap();
        assert_eq!(ticket.response_status, "not_available");
        manifest["accounts"][0]["call_centers"][0]["relay"] = json!({"enabled": true});
        assert!(Manifest::from_json(&manifest.to_string()).is_err(), "an enabled relay needs a url");
    }

    async fn batch_mode_sends_a_centers_responses_together_and_reads_each_result(db: &TestDatabase) {
        let members = (0..4).map(|i| format!("AREA{i:02}")).collect();
        let (center, url) = start_center(SimulatorConfig { members: Some(members), ..Default::default() }).await;
        let f = provision(&db.store, &url, 5).await;
        let mut settings = db.store.relay_settings(f.account, f.center).await.unwrap().unwrap();
        settings.mode = integrity_domain::relay::RelayMode::Batch;
        db.store.set_relay_settings(f.account, f.center, &settings).await.unwrap();
        for i in 0..5 {
            db.store.put_response(f.account, f.center, "T-1", &response(&format!("AREA{i:02}"), "1A"), f.user).await.unwrap();
        }
        drain(&db.store, &[fast_worker(&db.store, "w1")]).await;
        assert_eq!(center.stats().requests, 1, "one request for the whole batch");
        assert_eq!(center.accepted().len(), 4);
        for i in 0..4 {
            assert_eq!(response_status(&db.store, &f, &format!("AREA{i:02}")).await, (ResponseStatus::Sent, true));
        }
        assert_eq!(response_status(&db.store, &f, "AREA04").await, (ResponseStatus::Failed, false));
    }
}
