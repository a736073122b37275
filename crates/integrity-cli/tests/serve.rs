//! `integrity serve` as an operator runs it: slow clients are cut off,
//! a flooding key is limited while others are not, bodies and requests
//! have limits, TLS works and can be required, requests carry ids into
//! the logs, metrics have their own listener, and SIGTERM lets requests
//! in flight finish.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ADMIN: &str = "itg_demo_token_for_local_trials_only";
const LOCATOR: &str = "itg_demo_locator_token_local_only";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something listens on the port, at most a minute.
fn wait_for_listener(port: u16, what: &str) {
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{what} did not start listening"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A demo server on a fresh SQLite database, stopped when dropped.
struct Server {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        Server::start_with(extra, Stdio::null())
    }

    fn start_with(extra: &[&str], stderr: Stdio) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_integrity"))
            .args([
                "--database",
                &format!("sqlite://{}/t.db", dir.path().display()),
            ])
            .args([
                "serve",
                "--demo",
                "--no-relay",
                "--listen",
                &format!("127.0.0.1:{port}"),
            ])
            .args(extra)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("start integrity serve");
        let server = Server {
            child,
            port,
            _dir: dir,
        };
        wait_for_listener(port, "the server");
        server
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        stream
    }

    fn terminate(&mut self) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(status.success());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Response {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

/// Sends a request and waits for the whole answer; tests drive raw sockets
/// on threads beside it, so they stay synchronous.
fn send(request: reqwest::RequestBuilder) -> Response {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let response = request.send().await.expect("request");
        Response {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.text().await.unwrap_or_default(),
        }
    })
}

fn get(url: &str, key: Option<&str>) -> Response {
    let mut request = reqwest::Client::new().get(url);
    if let Some(key) = key {
        request = request.header("Authorization", format!("Token token=\"{key}\""));
    }
    send(request)
}

/// Reads until the server closes the connection; how long that took.
fn time_until_closed(stream: &mut TcpStream) -> Duration {
    let started = Instant::now();
    let mut buffer = [0u8; 1024];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return started.elapsed(),
            Ok(_) => {}
        }
    }
}

/// Opens a connection with `opening`, then sends `drip` every 200 ms for
/// 8 s, each drip resetting the idle timeout: with a header timeout of 1 s
/// the server must cut it off long before, and keep serving others.
fn assert_a_dribbler_is_cut_off(server: &Server, opening: &[u8], drip: &'static [u8]) {
    let drips = vec![drip.to_vec(); 40];
    let closed_after = dribble(server, opening, drips, Duration::from_millis(200));
    assert!(
        closed_after < Duration::from_secs(6),
        "open for {closed_after:?}"
    );
    assert_eq!(get(&server.url("/healthz"), None).status, 200);
}

/// Sends `opening`, then each of `drips` after a pause of `every`, until
/// the server closes the connection; how long that took. Fails if every
/// drip could be written.
fn dribble(server: &Server, opening: &[u8], drips: Vec<Vec<u8>>, every: Duration) -> Duration {
    let mut slow = server.connect();
    slow.write_all(opening).unwrap();
    let writer = {
        let mut slow = slow.try_clone().unwrap();
        std::thread::spawn(move || {
            for drip in drips {
                std::thread::sleep(every);
                if slow.write_all(&drip).is_err() {
                    return true;
                }
            }
            false
        })
    };
    let closed_after = time_until_closed(&mut slow);
    assert!(
        writer.join().unwrap(),
        "the slow client could write all it meant to, open for {closed_after:?}"
    );
    closed_after
}

#[test]
fn a_client_dribbling_its_headers_is_disconnected() {
    let server = Server::start(&["--header-timeout-secs", "1"]);
    assert_a_dribbler_is_cut_off(
        &server,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n",
        b"X-Slow: yes\r\n",
    );
}

#[test]
fn a_connection_that_sends_nothing_is_closed_after_the_idle_timeout() {
    let server = Server::start(&["--idle-timeout-secs", "1"]);
    let mut idle = server.connect();
    let closed_after = time_until_closed(&mut idle);
    assert!(
        closed_after < Duration::from_secs(6),
        "open for {closed_after:?}"
    );
}

#[test]
fn a_flooding_key_gets_429_while_another_key_is_served() {
    let server = Server::start(&["--rate-limit", "1", "--rate-limit-burst", "3"]);
    let url = server.url("/call_centers");
    let statuses: Vec<u16> = (0..8).map(|_| get(&url, Some(ADMIN)).status).collect();
    assert_eq!(&statuses[..3], [200, 200, 200], "{statuses:?}");
    let limited = get(&url, Some(ADMIN));
    assert_eq!(limited.status, 429);
    let retry: u64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "Retry-After {retry}");
    assert!(
        limited.body.contains("too many requests"),
        "{}",
        limited.body
    );
    assert_eq!(get(&url, Some(LOCATOR)).status, 200);
    std::thread::sleep(Duration::from_millis(1100 * retry));
    assert_eq!(get(&url, Some(ADMIN)).status, 200, "the allowance refills");
}

#[test]
fn without_a_rate_limit_a_busy_key_is_never_refused() {
    let server = Server::start(&[]);
    let url = server.url("/call_centers");
    assert!((0..30).all(|_| get(&url, Some(ADMIN)).status == 200));
}

#[test]
fn the_body_limit_and_the_request_timeout_are_the_operators() {
    let server = Server::start(&["--max-body-bytes", "200", "--request-timeout-secs", "1"]);
    let body = format!(
        r#"{{"ticket": {{"ticket_number": "T-1", "call_center": {{"id": 1}}, "remarks": "{}"}}}}"#,
        "x".repeat(300)
    );
    let request = reqwest::Client::new()
        .post(server.url("/tickets"))
        .header("Authorization", format!("Token token=\"{ADMIN}\""))
        .header("Content-Type", "application/json")
        .body(body);
    let response = send(request);
    assert_eq!(response.status, 413, "{}", response.body);
    assert!(
        response.body.contains("larger than 200 bytes"),
        "{}",
        response.body
    );

    // A body that never finishes arriving: the request is cut off with a
    // 503 in the error shape.
    let mut stalled = server.connect();
    write!(
        stalled,
        "POST /tickets HTTP/1.1\r\nHost: x\r\nAuthorization: Token token=\"{ADMIN}\"\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"ticket\""
    )
    .unwrap();
    let mut answer = String::new();
    let _ = stalled.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("took longer than 1 seconds"), "{answer}");
}

#[test]
fn requests_carry_an_id_into_the_response_and_the_json_logs() {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("server.log");
    let log = std::fs::File::create(&log_path).unwrap();
    // `--log-format` is a global option: it may follow the subcommand.
    let mut server = Server::start_with(&["--log-format", "json"], Stdio::from(log));
    let fresh = get(&server.url("/call_centers"), Some(ADMIN));
    let id = fresh.headers["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let request = reqwest::Client::new()
        .get(server.url("/nowhere"))
        .header("X-Request-Id", "trace-me-42");
    let echoed = send(request);
    assert_eq!(echoed.headers["x-request-id"], "trace-me-42");
    server.terminate();
    let _ = server.child.wait();
    let text = std::fs::read_to_string(&log_path).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    let of = |id: &str| {
        lines
            .iter()
            .filter(|l| {
                l["span"]["id"] == id
                    || l["spans"]
                        .as_array()
                        .is_some_and(|s| s.iter().any(|s| s["id"] == id))
            })
            .count()
    };
    assert!(of(&id) >= 1, "{text}");
    assert!(of("trace-me-42") >= 1, "{text}");
    let finished = lines
        .iter()
        .find(|l| l["span"]["id"] == "trace-me-42")
        .unwrap();
    assert_eq!(finished["status"], 404, "{finished}");
}

/// Fails naming the first of `lines` the metrics text lacks.
fn assert_metrics_have(text: &str, lines: &[&str]) {
    for line in lines {
        assert!(text.contains(line), "{line} missing from\n{text}");
    }
}

#[test]
fn metrics_are_served_on_their_own_listener_only() {
    let metrics_port = free_port();
    let server = Server::start(&["--metrics-listen", &format!("127.0.0.1:{metrics_port}")]);
    assert_eq!(get(&server.url("/call_centers"), Some(ADMIN)).status, 200);
    assert_eq!(
        get(&server.url("/metrics"), None).status,
        404,
        "moved off the API"
    );
    let metrics = get(&format!("http://127.0.0.1:{metrics_port}/metrics"), None);
    assert_eq!(metrics.status, 200);
    assert_metrics_have(
        &metrics.body,
        &[
            r#"integrity_http_requests_total{method="GET",route="/call_centers",status="200"} 1"#,
            "integrity_http_request_duration_seconds_bucket",
            r#"integrity_db_pool_connections{pool="readers",state="idle"}"#,
        ],
    );
}

#[test]
fn without_a_metrics_listener_the_api_serves_metrics() {
    let server = Server::start(&[]);
    assert_eq!(get(&server.url("/call_centers"), Some(ADMIN)).status, 200);
    for path in ["/metrics", "/api/integrations/integrity/metrics"] {
        let metrics = get(&server.url(path), None);
        assert_eq!(metrics.status, 200, "{path}");
        assert_metrics_have(&metrics.body, &["integrity_http_requests_total"]);
    }
}

#[test]
fn sigterm_lets_the_request_in_flight_finish_and_exits_zero() {
    let mut server = Server::start(&["--shutdown-grace-secs", "10"]);
    // A request whose body is still arriving when the signal comes.
    let body = r#"{"ticket": {"ticket_number": "SIGTERM-1", "call_center": {"id": 1}}}"#;
    let mut in_flight = server.connect();
    write!(
        in_flight,
        "POST /tickets HTTP/1.1\r\nHost: x\r\nAuthorization: Token token=\"{ADMIN}\"\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{}",
        body.len(),
        &body[..10]
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    server.terminate();
    std::thread::sleep(Duration::from_millis(500));
    // No new connections once shutdown began.
    assert!(
        TcpStream::connect(("127.0.0.1", server.port)).is_err()
            || get(&server.url("/healthz"), None).status != 200,
        "a new connection was served after SIGTERM"
    );
    in_flight.write_all(&body.as_bytes()[10..]).unwrap();
    let mut answer = String::new();
    in_flight.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "still running after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
}

/// A self-signed certificate for localhost, as PEM files.
fn self_signed(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf, String) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert_pem = certified.cert.pem();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, &cert_pem).unwrap();
    std::fs::write(&key, certified.key_pair.serialize_pem()).unwrap();
    (cert, key, cert_pem)
}

/// A server on TLS with a self-signed certificate, and a client that
/// trusts it.
fn tls_server(extra: &[&str]) -> (Server, reqwest::Client) {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, cert_pem) = self_signed(dir.path());
    let mut args = vec![
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ];
    args.extend(extra);
    // The key files are read at start; the directory may go once it runs.
    let server = Server::start(&args);
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert_pem.as_bytes()).unwrap())
        .build()
        .unwrap();
    (server, client)
}

#[test]
fn tls_serves_https_with_hsts() {
    let (server, client) = tls_server(&[]);
    let url = format!("https://localhost:{}/call_centers", server.port);
    let response = send(
        client
            .get(&url)
            .header("Authorization", format!("Token token=\"{ADMIN}\"")),
    );
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(
        response.headers["strict-transport-security"],
        "max-age=31536000"
    );
    // Plain HTTP on the TLS port gets no answer in HTTP.
    let plain = reqwest::Client::new().get(format!("http://127.0.0.1:{}/healthz", server.port));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    assert!(runtime.block_on(plain.send()).is_err());
}

#[test]
fn require_tls_refuses_plain_api_requests_unless_a_trusted_proxy_vouches() {
    let server = Server::start(&["--require-tls", "--trusted-proxy", "127.0.0.1/32"]);
    let url = server.url("/call_centers");
    let refused = get(&url, Some(ADMIN));
    assert_eq!(refused.status, 403);
    assert!(refused.body.contains("HTTPS only"), "{}", refused.body);
    assert_eq!(
        get(&server.url("/healthz"), None).status,
        200,
        "load balancers' checks stay open"
    );
    let proxied = send(
        reqwest::Client::new()
            .get(&url)
            .header("Authorization", format!("Token token=\"{ADMIN}\""))
            .header("X-Forwarded-Proto", "https"),
    );
    assert_eq!(proxied.status, 200);
    assert_eq!(
        proxied.headers["strict-transport-security"],
        "max-age=31536000"
    );

    // A proxy that is not trusted cannot vouch.
    let untrusted = Server::start(&["--require-tls", "--trusted-proxy", "10.0.0.0/8"]);
    let spoofed = send(
        reqwest::Client::new()
            .get(untrusted.url("/call_centers"))
            .header("Authorization", format!("Token token=\"{ADMIN}\""))
            .header("X-Forwarded-Proto", "https"),
    );
    assert_eq!(spoofed.status, 403);
}

#[test]
fn a_configuration_file_sits_between_the_defaults_and_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("integrity.toml");
    std::fs::write(
        &file,
        "listen = \"127.0.0.1:4100\"\nrate_limit = 50\nrequest_timeout_secs = 9\ndatabase_url = \"postgres://app:s3cret@db.example/integrity\"\n",
    )
    .unwrap();
    let print = |env: &[(&str, &str)], flags: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_integrity"))
            .args(["--config", file.to_str().unwrap(), "config", "print"])
            .args(flags)
            .envs(env.iter().copied())
            .env_remove("INTEGRITY_DATABASE_URL")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let from_file = print(&[], &[]);
    assert!(
        from_file.contains("listen = \"127.0.0.1:4100\""),
        "{from_file}"
    );
    assert!(
        from_file.contains("request_timeout_secs = 9"),
        "{from_file}"
    );
    assert!(
        from_file.contains("max_body_bytes = 1048576"),
        "defaults fill the rest: {from_file}"
    );
    assert!(
        from_file.contains("postgres://app:***@db.example/integrity"),
        "{from_file}"
    );
    assert!(!from_file.contains("s3cret"), "{from_file}");
    assert!(from_file.contains("log_format = \"text\""), "{from_file}");
    let json_logs = print(&[], &["--log-format", "json"]);
    assert!(json_logs.contains("log_format = \"json\""), "{json_logs}");
    let from_env = print(&[("INTEGRITY_RATE_LIMIT", "7")], &[]);
    assert!(from_env.contains("rate_limit = 7"), "{from_env}");
    let from_flag = print(&[("INTEGRITY_RATE_LIMIT", "7")], &["--rate-limit", "3"]);
    assert!(from_flag.contains("rate_limit = 3"), "{from_flag}");

    std::fs::write(&file, "lisen = \"x\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_integrity"))
        .args(["--config", file.to_str().unwrap(), "config", "print"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown setting `lisen`"));
}

#[test]
fn beyond_the_concurrency_cap_requests_wait_their_turn() {
    let server = Server::start(&[
        "--max-concurrent-requests",
        "1",
        "--request-timeout-secs",
        "2",
    ]);
    // Holds the only slot: its body never finishes, so it ends in a 503
    // when its time is up.
    let mut holder = server.connect();
    write!(
        holder,
        "POST /tickets HTTP/1.1\r\nHost: x\r\nAuthorization: Token token=\"{ADMIN}\"\r\nContent-Length: 50\r\n\r\n{{"
    )
    .unwrap();
    let held = std::thread::spawn(move || {
        let mut answer = String::new();
        let _ = holder.read_to_string(&mut answer);
        answer
    });
    std::thread::sleep(Duration::from_millis(300));
    let asked_at = Instant::now();
    let waiting = get(&server.url("/call_centers"), Some(ADMIN));
    // It could only start once the holder's 2 s were up: a lower bound, which
    // a slow machine cannot break.
    let waited = asked_at.elapsed();
    assert_eq!(waiting.status, 200);
    assert!(
        waited >= Duration::from_secs(1),
        "served after {waited:?}, beside the holder"
    );
    assert!(held.join().unwrap().starts_with("HTTP/1.1 503"));
}

#[test]
fn sigterm_lets_the_relay_finish_the_delivery_under_way() {
    use integrity_relay::simulator::{Simulator, SimulatorConfig};
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let simulator = Simulator::new(SimulatorConfig {
        latency_ms: 1500,
        ..Default::default()
    });
    let center_url = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(simulator.clone().serve(listener));
        url
    });
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_integrity"))
        .args([
            "--database",
            &format!("sqlite://{}/t.db", dir.path().display()),
        ])
        .args(["serve", "--demo", "--listen", &format!("127.0.0.1:{port}")])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut server = Server {
        child,
        port,
        _dir: dir,
    };
    wait_for_listener(port, "the server");
    let auth = format!("Token token=\"{ADMIN}\"");
    // Georgia 811 (call center 1) relays to the simulated center.
    let relay = send(
        reqwest::Client::new()
            .put(server.url("/call_centers/1/relay"))
            .header("Authorization", &auth)
            .json(&serde_json::json!({"relay": {"enabled": true, "url": center_url}})),
    );
    assert_eq!(relay.status, 200, "{}", relay.body);
    let tickets = get(
        &server.url("/tickets?call_center_id=1&per_page=1"),
        Some(ADMIN),
    );
    let ticket: serde_json::Value = serde_json::from_str(&tickets.body).unwrap();
    let (number, area) = (
        ticket[0]["ticket_number"].as_str().unwrap(),
        ticket[0]["service_area"].as_str().unwrap(),
    );
    let responded = send(
        reqwest::Client::new()
            .post(server.url(&format!(
                "/tickets/by_center/1/by_number/{number}/ticket_responses"
            )))
            .header("Authorization", &auth)
            .json(&serde_json::json!({"ticket_response": {"service_area": area, "code": "1B"}})),
    );
    assert_eq!(responded.status, 200, "{}", responded.body);
    // The delivery is at the center, which answers only after 1.5 s.
    let waiting = Instant::now();
    while simulator.stats().received == 0 {
        assert!(
            waiting.elapsed() < Duration::from_secs(20),
            "the delivery never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    server.terminate();
    let status = server.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let stats = simulator.stats();
    assert_eq!(
        (stats.requests, stats.accepted),
        (1, 1),
        "the delivery under way was finished: {stats:?}"
    );
    drop(runtime);
}

#[test]
fn an_http2_client_dribbling_its_headers_is_disconnected() {
    let server = Server::start(&["--header-timeout-secs", "1"]);
    // HTTP/2 with prior knowledge: the preface, empty SETTINGS, and the
    // head of a HEADERS frame (stream 1, END_HEADERS) announcing 64 bytes
    // that then come one at a time.
    let mut opening = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    opening.extend([0, 0, 0, 4, 0, 0, 0, 0, 0]);
    opening.extend([0, 0, 64, 1, 0x4, 0, 0, 0, 1]);
    assert_a_dribbler_is_cut_off(&server, &opening, &[0x82]);
}

#[test]
fn over_tls_every_answer_carries_hsts_and_required_tls_refuses_every_plain_path() {
    let (server, client) = tls_server(&["--rate-limit", "1", "--rate-limit-burst", "1"]);
    let https = |path: &str, key: Option<&str>| {
        let mut request = client.get(format!("https://localhost:{}{path}", server.port));
        if let Some(key) = key {
            request = request.header("Authorization", format!("Token token=\"{key}\""));
        }
        send(request)
    };
    let unknown = https("/nowhere", None);
    assert_eq!(unknown.status, 404);
    let first = https("/call_centers", Some(ADMIN));
    assert_eq!(first.status, 200);
    let limited = https("/call_centers", Some(ADMIN));
    assert_eq!(limited.status, 429);
    for (what, response) in [
        ("a 404 of no route", &unknown),
        ("a 200", &first),
        ("a 429", &limited),
        ("/metrics", &https("/metrics", None)),
    ] {
        assert_eq!(
            response
                .headers
                .get("strict-transport-security")
                .map(|v| v.to_str().unwrap()),
            Some("max-age=31536000"),
            "{what}"
        );
    }

    let plain = Server::start(&["--require-tls"]);
    for path in ["/nowhere", "/metrics", "/openapi.json", "/call_centers"] {
        let refused = get(&plain.url(path), Some(ADMIN));
        assert_eq!(refused.status, 403, "{path}: {}", refused.body);
        assert!(
            refused.body.contains("HTTPS only"),
            "{path}: {}",
            refused.body
        );
    }
    assert_eq!(get(&plain.url("/healthz"), None).status, 200);
}

#[test]
fn one_key_has_one_allowance_however_its_header_is_spelt() {
    let server = Server::start(&["--rate-limit", "1", "--rate-limit-burst", "3"]);
    let url = server.url("/call_centers");
    let spellings = [
        format!("Token token=\"{ADMIN}\""),
        format!("Token token={ADMIN}"),
        format!("token {ADMIN}"),
        format!("Bearer  {ADMIN} "),
    ];
    let statuses: Vec<u16> = spellings
        .iter()
        .chain(spellings.iter())
        .map(|auth| {
            send(
                reqwest::Client::new()
                    .get(&url)
                    .header("Authorization", auth),
            )
            .status
        })
        .collect();
    assert_eq!(&statuses[..3], [200, 200, 200], "{statuses:?}");
    assert!(
        statuses[3..].iter().all(|&s| s == 429),
        "another spelling is not another allowance: {statuses:?}"
    );
    // The endpoints that need no key are not counted against it.
    for path in ["/healthz", "/openapi.json", "/metrics"] {
        let keyed = get(&server.url(path), Some(ADMIN));
        assert_eq!(keyed.status, 200, "{path}");
    }
}

#[test]
fn the_request_timeout_covers_the_wait_for_a_slot() {
    let server = Server::start(&[
        "--max-concurrent-requests",
        "1",
        "--request-timeout-secs",
        "1",
    ]);
    // Four requests whose bodies never finish, one after the other: each
    // would hold the only slot for its full second once it had it.
    let holders: Vec<_> = (0..4)
        .map(|_| {
            let mut holder = server.connect();
            write!(
                holder,
                "POST /tickets HTTP/1.1\r\nHost: x\r\nAuthorization: Token token=\"{ADMIN}\"\r\nContent-Length: 50\r\n\r\n{{"
            )
            .unwrap();
            std::thread::sleep(Duration::from_millis(50));
            std::thread::spawn(move || {
                let mut answer = String::new();
                let _ = holder.read_to_string(&mut answer);
                answer
            })
        })
        .collect();
    let asked_at = Instant::now();
    let waiting = get(&server.url("/call_centers"), Some(ADMIN));
    let waited = asked_at.elapsed();
    assert_eq!(waiting.status, 200, "{}", waiting.body);
    // Were the clock started only with the slot, the queue ahead would
    // last four seconds; counted from arrival, it ends with the first
    // holder's second, as the others' time runs out while they wait.
    assert!(
        waited < Duration::from_millis(3500),
        "served after {waited:?}"
    );
    for holder in holders {
        let answer = holder.join().unwrap();
        assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    }
}

#[test]
fn metrics_count_the_refusals_and_the_paths_no_route_serves() {
    let server = Server::start(&["--rate-limit", "1", "--rate-limit-burst", "1"]);
    let url = server.url("/call_centers");
    assert_eq!(get(&url, Some(ADMIN)).status, 200);
    assert_eq!(get(&url, Some(ADMIN)).status, 429);
    assert_eq!(get(&server.url("/nowhere/at/all"), None).status, 404);
    let metrics = get(&server.url("/metrics"), None);
    assert_metrics_have(
        &metrics.body,
        &[
            r#"integrity_http_requests_total{method="GET",route="/call_centers",status="200"} 1"#,
            r#"integrity_http_requests_total{method="GET",route="/call_centers",status="429"} 1"#,
            r#"integrity_http_requests_total{method="GET",route="unmatched",status="404"} 1"#,
            // No relay in this process, yet its queue is measured.
            "integrity_relay_queue_depth 0",
        ],
    );
}

#[test]
fn a_relay_of_its_own_serves_its_metrics() {
    let server = Server::start(&[]);
    let metrics_port = free_port();
    let database = format!("sqlite://{}/t.db", server._dir.path().display());
    let mut relay = Command::new(env!("CARGO_BIN_EXE_integrity"))
        .args(["--database", &database, "relay", "run"])
        .args(["--metrics-listen", &format!("127.0.0.1:{metrics_port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_listener(metrics_port, "the relay's metrics listener");
    let metrics = get(&format!("http://127.0.0.1:{metrics_port}/metrics"), None);
    let _ = relay.kill();
    let _ = relay.wait();
    assert_eq!(metrics.status, 200);
    assert_metrics_have(&metrics.body, &["integrity_relay_queue_depth 0"]);
}

#[test]
fn a_client_dribbling_the_http2_preface_is_disconnected() {
    let server = Server::start(&["--header-timeout-secs", "1"]);
    // Before the preface is whole the protocol is not known, so neither
    // protocol's own timeout applies: one byte every 0.8 s would stretch the
    // 24 bytes over the idle timeout each.
    let rest = b"\r\n\r\nSM\r\n\r\n".iter().map(|b| vec![*b]).collect();
    let closed_after = dribble(&server, b"PRI * HTTP/2.0", rest, Duration::from_millis(800));
    assert!(
        closed_after < Duration::from_secs(4),
        "open for {closed_after:?}"
    );
}
