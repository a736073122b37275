//! Server processes as operators run them: one killed with SIGKILL while a
//! response is on its way to the call center loses nothing, one killed under
//! a flood of writes keeps every write it acknowledged, and two on one
//! database deliver each response once.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use integrity_relay::simulator::{Simulator, SimulatorConfig};
use integrity_store::test_on_both_backends;
use serde_json::{json, Value};

const KEY: &str = "crash-test-admin-key-0001";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server whose claims on deliveries last `lease_secs`: short to see a
/// dead process's claim expire, long where a slow machine must not let a
/// live one's claim lapse (a lapsed claim is resent, by design).
fn start_server(database: &str, port: u16, lease_secs: u32) -> Child {
    start_server_with(database, port, lease_secs, &[])
}

fn start_server_with(database: &str, port: u16, lease_secs: u32, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_integrity"))
        .args([
            "--database",
            database,
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .args(extra)
        .args(["--relay-lease-secs", &lease_secs.to_string()])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start integrity serve")
}

async fn wait_healthy(client: &reqwest::Client, base: &str) {
    for _ in 0..200 {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server did not start");
}

async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = client
        .request(method, url)
        .header("Authorization", format!("Token token=\"{KEY}\""));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

test_on_both_backends! {
    async fn a_kill_mid_delivery_loses_nothing(db: &TestDatabase) {
        let simulator = Simulator::new(SimulatorConfig { latency_ms: 3000, ..Default::default() });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let center_url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(simulator.clone().serve(listener));

        let manifest = json!({"accounts": [{"subdomain": "acme", "name": "Acme",
            "users": [{"name": "Al", "email": "al@example.com", "role": "admin", "api_tokens": [KEY]}],
            "call_centers": [{"name": "Georgia 811", "facilities": ["Gas"], "service_areas": [{"code": "EXMPL01"}],
                "response_codes": [{"code": "1A", "description": "Marked", "completes": true}],
                "relay": {"enabled": true, "url": center_url}}]}]});
        db.store
            .apply(&integrity_domain::manifest::Manifest::from_json(&manifest.to_string()).unwrap())
            .await
            .unwrap();
        let account = db.store.account_by_subdomain("acme").await.unwrap().unwrap();
        let center = db.store.call_centers(account).await.unwrap()[0].id;

        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        let mut server = start_server(db.url.as_str(), port, 1);
        wait_healthy(&client, &base).await;
        let (status, _) = call(&client, reqwest::Method::POST, format!("{base}/tickets"),
            Some(json!({"ticket": {"ticket_number": "K-1", "call_center": {"id": center}, "service_area": "EXMPL01"}}))).await;
        assert_eq!(status, 201);
        let ticket = format!("{base}/tickets/by_center/{center}/by_number/K-1");
        let (status, _) = call(&client, reqwest::Method::POST, format!("{ticket}/ticket_responses"),
            Some(json!({"ticket_response": {"service_area": "EXMPL01", "code": "1A"}}))).await;
        assert_eq!(status, 200);

        // Wait until the delivery is on the wire (the center holds it for
        // its latency), then kill the server.
        for _ in 0..200 {
            if simulator.stats().received > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(simulator.stats().received, 1, "the delivery never started");
        assert_eq!(simulator.stats().requests, 0, "the center has not answered yet");
        server.kill().unwrap();
        server.wait().unwrap();

        let metrics_port = free_port();
        let metrics_listen = format!("127.0.0.1:{metrics_port}");
        let mut server = start_server_with(db.url.as_str(), port, 1, &["--metrics-listen", &metrics_listen]);
        wait_healthy(&client, &base).await;
        let mut delivered = false;
        for _ in 0..400 {
            let (_, body) = call(&client, reqwest::Method::GET, ticket.clone(), None).await;
            if body["ticket_responses"][0]["status"] == "sent" {
                assert!(body["ticket_responses"][0]["responded_at"].is_string());
                delivered = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let metrics = client.get(format!("http://{metrics_listen}/metrics")).send().await.unwrap().text().await.unwrap();
        server.kill().unwrap();
        server.wait().unwrap();
        assert!(delivered, "the response never reached the center after the restart");
        assert!(metrics.contains("integrity_relay_outcomes_total{outcome=\"sent\"} 1"), "{metrics}");
        assert!(metrics.contains("integrity_relay_delivery_seconds_bucket"), "{metrics}");
        let accepted = simulator.accepted();
        assert_eq!(accepted.len(), 1, "accepted once, whatever the first attempt did: {accepted:?}");
        assert_eq!(accepted[0].ticket_number, "K-1");
    }

    async fn a_kill_under_load_keeps_every_acknowledged_write(db: &TestDatabase) {
        const CLIENTS: usize = 16;
        let manifest = json!({"accounts": [{"subdomain": "acme", "name": "Acme",
            "users": [{"name": "Al", "email": "al@example.com", "role": "admin", "api_tokens": [KEY]}],
            "call_centers": [{"name": "Georgia 811", "service_areas": [{"code": "EXMPL01"}],
                "response_codes": [{"code": "1A", "description": "Marked", "completes": false}]}]}]});
        db.store
            .apply(&integrity_domain::manifest::Manifest::from_json(&manifest.to_string()).unwrap())
            .await
            .unwrap();
        let account = db.store.account_by_subdomain("acme").await.unwrap().unwrap();
        let center = db.store.call_centers(account).await.unwrap()[0].id;

        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        let mut server = start_server(db.url.as_str(), port, 60);
        wait_healthy(&client, &base).await;
        for c in 0..CLIENTS {
            let (status, _) = call(&client, reqwest::Method::POST, format!("{base}/tickets"),
                Some(json!({"ticket": {"ticket_number": format!("L-{c}"), "call_center": {"id": center},
                    "service_area": "EXMPL01"}}))).await;
            assert_eq!(status, 201);
        }

        // Each client rewrites the response of its own ticket with a count
        // that grows, and remembers the last count the server acknowledged.
        let writers: Vec<_> = (0..CLIENTS)
            .map(|c| {
                let client = client.clone();
                let url = format!("{base}/tickets/by_center/{center}/by_number/L-{c}/ticket_responses");
                tokio::spawn(async move {
                    let mut acknowledged: Option<u64> = None;
                    for n in 0u64.. {
                        let body = json!({"ticket_response": {"service_area": "EXMPL01", "code": "1A",
                            "comment": n.to_string()}});
                        let sent = client.post(&url)
                            .header("Authorization", format!("Token token=\"{KEY}\""))
                            .json(&body)
                            .send()
                            .await;
                        match sent {
                            Ok(response) if response.status() == 200 => acknowledged = Some(n),
                            Ok(response) => panic!("write {n} answered {}", response.status()),
                            Err(_) => break,
                        }
                    }
                    acknowledged
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        server.kill().unwrap();
        server.wait().unwrap();
        let mut acknowledged = Vec::new();
        for writer in writers {
            acknowledged.push(writer.await.unwrap());
        }
        assert!(acknowledged.iter().all(Option::is_some), "every client had writes acknowledged: {acknowledged:?}");

        let mut server = start_server(db.url.as_str(), port, 60);
        wait_healthy(&client, &base).await;
        for (c, last) in acknowledged.iter().enumerate() {
            let last = last.unwrap();
            let (_, ticket) = call(&client, reqwest::Method::GET,
                format!("{base}/tickets/by_center/{center}/by_number/L-{c}"), None).await;
            let stored: u64 = ticket["ticket_responses"][0]["comment"].as_str().unwrap().parse().unwrap();
            // The write in flight at the kill may or may not have landed;
            // every acknowledged one must have.
            assert!(stored == last || stored == last + 1, "client {c}: acknowledged {last}, stored {stored}");
        }
        server.kill().unwrap();
        server.wait().unwrap();
    }

    async fn two_servers_on_one_database_deliver_each_response_once(db: &TestDatabase) {
        let simulator = Simulator::new(SimulatorConfig { latency_ms: 20, ..Default::default() });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let center_url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(simulator.clone().serve(listener));
        let areas: Vec<String> = (0..10).map(|i| format!("AREA{i:02}")).collect();
        let manifest = json!({"accounts": [{"subdomain": "acme", "name": "Acme",
            "users": [{"name": "Al", "email": "al@example.com", "role": "admin", "api_tokens": [KEY]}],
            "call_centers": [{"name": "Georgia 811", "facilities": ["Gas"],
                "service_areas": areas.iter().map(|a| json!({"code": a})).collect::<Vec<_>>(),
                "response_codes": [{"code": "1A", "description": "Marked", "completes": true}],
                "relay": {"enabled": true, "url": center_url}}]}]});
        db.store
            .apply(&integrity_domain::manifest::Manifest::from_json(&manifest.to_string()).unwrap())
            .await
            .unwrap();
        let account = db.store.account_by_subdomain("acme").await.unwrap().unwrap();
        let center = db.store.call_centers(account).await.unwrap()[0].id;

        let client = reqwest::Client::new();
        let ports = [free_port(), free_port()];
        let mut servers: Vec<Child> = ports.iter().map(|port| start_server(db.url.as_str(), *port, 120)).collect();
        let bases: Vec<String> = ports.iter().map(|p| format!("http://127.0.0.1:{p}")).collect();
        for base in &bases {
            wait_healthy(&client, base).await;
        }
        for t in 0..4 {
            let (status, _) = call(&client, reqwest::Method::POST, format!("{}/tickets", bases[t % 2]),
                Some(json!({"ticket": {"ticket_number": format!("P-{t}"), "call_center": {"id": center},
                    "service_area": areas[0], "additional_service_areas": areas[1..]}}))).await;
            assert_eq!(status, 201);
        }
        let mut posts = Vec::new();
        for t in 0..4 {
            for (i, area) in areas.iter().enumerate() {
                let base = bases[(t + i) % 2].clone();
                let url = format!("{base}/tickets/by_center/{center}/by_number/P-{t}/ticket_responses");
                let body = json!({"ticket_response": {"service_area": area, "code": "1A"}});
                let client = client.clone();
                posts.push(async move { call(&client, reqwest::Method::POST, url, Some(body)).await });
            }
        }
        for (status, body) in futures_join_all(posts).await {
            assert_eq!(status, 200, "{body}");
        }
        for _ in 0..400 {
            if simulator.stats().accepted >= 40 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        for server in &mut servers {
            server.kill().unwrap();
            server.wait().unwrap();
        }
        let stats = simulator.stats();
        assert_eq!(stats.accepted, 40, "{stats:?}");
        assert_eq!(stats.rejected, 0, "no delivery was sent twice (a second copy is refused as a duplicate): {stats:?}");
        let mut pairs: Vec<_> = simulator.accepted().into_iter().map(|a| (a.ticket_number, a.member_code)).collect();
        pairs.sort();
        pairs.dedup();
        assert_eq!(pairs.len(), 40);
    }
}

/// Awaits every future, in order, concurrently.
async fn futures_join_all<F>(futures: Vec<F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut outputs = Vec::with_capacity(handles.len());
    for handle in handles {
        outputs.push(handle.await.expect("request task"));
    }
    outputs
}
