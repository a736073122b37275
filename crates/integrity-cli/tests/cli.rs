//! The `integrity` binary end to end: database URLs, apply, import. The
//! storage-touching tests run on SQLite and, when configured, PostgreSQL.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use integrity_store::test_on_both_backends;
use integrity_store::TicketFilter;

fn integrity(database: &str, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_integrity"))
        .arg("--database")
        .arg(database)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run integrity");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("integrity output")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const MANIFEST: &str = r#"{"accounts": [{"subdomain": "acme", "name": "Acme Locating",
  "users": [{"name": "Al Dente", "email": "al@example.com", "role": "admin", "api_tokens": ["acme-existing-key-0001"]}],
  "call_centers": [{"name": "Georgia 811", "facilities": ["Gas"], "service_areas": [{"code": "EXMPL01"}],
                    "response_codes": [{"code": "1A", "description": "Marked.", "completes": true}]}]}]}"#;

fn write_temp(contents: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(contents.as_bytes()).unwrap();
    file
}

#[test]
fn unsupported_database_urls_are_refused_with_a_clear_message() {
    for url in ["mysql://localhost/db", "integrity.db", "sqlite://"] {
        let out = integrity(url, &["migrate"], None);
        assert!(!out.status.success(), "{url} was accepted");
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("expected sqlite://PATH or postgres://"),
            "{url}: {stderr}"
        );
    }
}

#[test]
fn an_import_leaves_everything_in_the_database_file() {
    // No other connection to the file here: the import's own are the last.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("import.db");
    let db = format!("sqlite://{}", path.display());
    let manifest = write_temp(MANIFEST);
    assert!(
        integrity(&db, &["apply", manifest.path().to_str().unwrap()], None)
            .status
            .success()
    );
    let lines: Vec<String> = (0..2000)
        .map(|i| {
            format!(r#"{{"ticket_number": "W-{i}", "call_center": {{"name": "Georgia 811"}}}}"#)
        })
        .collect();
    let out = integrity(
        &db,
        &["import", "--account", "acme", "-"],
        Some(&lines.join("\n")),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let log = dir.path().join("import.db-wal");
    assert!(
        std::fs::metadata(&log).map_or(true, |m| m.len() == 0),
        "the write-ahead log is left with {} bytes",
        std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0)
    );
}

#[test]
fn an_invalid_manifest_is_reported_by_path_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("cli.db").display());
    let bad = write_temp(&MANIFEST.replace(r#""role": "admin""#, r#""role": "owner""#));
    let out = integrity(&db, &["apply", bad.path().to_str().unwrap()], None);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("nothing changed") && stderr.contains("accounts[0].users[0].role"),
        "{stderr}"
    );
}

test_on_both_backends! {
    async fn apply_twice_changes_nothing_the_second_time(db: &TestDatabase) {
        let manifest = write_temp(MANIFEST);
        let path = manifest.path().to_str().unwrap();
        let first = integrity(db.url.as_str(), &["apply", path], None);
        assert!(first.status.success(), "{}", text(&first.stderr));
        assert!(text(&first.stdout).contains("0 updated"), "{}", text(&first.stdout));
        let second = integrity(db.url.as_str(), &["apply", path], None);
        assert!(second.status.success(), "{}", text(&second.stderr));
        assert!(text(&second.stdout).contains("0 created, 0 updated"), "{}", text(&second.stdout));
    }

    async fn import_reports_bad_lines_and_takes_in_the_rest(db: &TestDatabase) {
        let manifest = write_temp(MANIFEST);
        assert!(integrity(db.url.as_str(), &["apply", manifest.path().to_str().unwrap()], None).status.success());
        let lines = [
            r#"{"ticket_number": "L-1", "call_center": {"name": "Georgia 811"}, "service_area": "EXMPL01"}"#,
            r#"{"ticket_number": "L-2", "call_center": {"name": "Georgia 811"}, "taken_at": "someday"}"#,
            r#"{"ticket": {"ticket_number": "L-3", "call_center": {"name": "Georgia 811"}}}"#,
            "not json at all",
            "",
            r#"{"ticket_number": "L-5", "call_center": {"name": "Texas 811"}}"#,
            r#"{"ticket_number": "L-1", "call_center": {"name": "Georgia 811"}, "service_area": "EXMPL01"}"#,
        ]
        .join("\n");
        let file = write_temp(&lines);
        let out = integrity(db.url.as_str(), &["import", "--account", "acme", file.path().to_str().unwrap()], None);
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
        assert!(stderr.contains("line 2: taken_at"), "{stderr}");
        assert!(stderr.contains("line 4: not valid JSON"), "{stderr}");
        assert!(stderr.contains("line 6: call_center \"Texas 811\""), "{stderr}");
        assert!(stdout.contains("2 created, 0 new versions, 1 unchanged, 3 rejected"), "{stdout}");

        let account = db.store.account_by_subdomain("acme").await.unwrap().unwrap();
        let page = db.store.tickets(account, &TicketFilter { per_page: 10, ..Default::default() }).await.unwrap();
        let mut numbers: Vec<_> = page.tickets.iter().map(|t| t.content.ticket_number.clone()).collect();
        numbers.sort();
        assert_eq!(numbers, ["L-1", "L-3"]);
    }

    async fn import_keeps_counting_lines_across_batches(db: &TestDatabase) {
        let manifest = write_temp(MANIFEST);
        assert!(integrity(db.url.as_str(), &["apply", manifest.path().to_str().unwrap()], None).status.success());
        // More lines than one transaction takes, a bad one in the second
        // batch, and a revision of an early ticket at the very end.
        let mut lines: Vec<String> = (0..1200)
            .map(|i| format!(r#"{{"ticket_number": "M-{i}", "call_center": {{"name": "Georgia 811"}}}}"#))
            .collect();
        lines[700] = "{ not json".into();
        lines.push(r#"{"ticket_number": "M-3", "call_center": {"name": "Georgia 811"}, "remarks": "revised"}"#.into());
        let file = write_temp(&lines.join("\n"));
        let out = integrity(db.url.as_str(), &["import", "--account", "acme", file.path().to_str().unwrap()], None);
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
        assert!(stdout.contains("1199 created, 1 new versions, 0 unchanged, 1 rejected"), "{stdout}");
        assert!(stderr.contains("line 701: not valid JSON"), "{stderr}");
        let account = db.store.account_by_subdomain("acme").await.unwrap().unwrap();
        let center = db.store.call_centers(account).await.unwrap()[0].id;
        let revised = db.store.ticket_by_number(account, center, "M-3").await.unwrap().unwrap();
        assert_eq!((revised.version_number, revised.content.remarks.as_deref()), (1, Some("revised")));
        assert!(db.store.ticket_by_number(account, center, "M-1199").await.unwrap().is_some());
    }

    async fn a_line_that_is_not_utf8_is_refused_alone(db: &TestDatabase) {
        let manifest = write_temp(MANIFEST);
        assert!(integrity(db.url.as_str(), &["apply", manifest.path().to_str().unwrap()], None).status.success());
        let mut bytes = Vec::new();
        for i in 0..600 {
            if i == 249 {
                bytes.extend_from_slice(b"{\"ticket_number\": \"U-\xff\"}\r\n");
            } else {
                bytes.extend_from_slice(format!("{{\"ticket_number\": \"U-{i}\", \"call_center\": {{\"name\": \"Georgia 811\"}}}}\r\n").as_bytes());
            }
        }
        let first = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(first.path(), &bytes).unwrap();
        let second = write_temp("not json");
        let out = integrity(db.url.as_str(), &["import", "--account", "acme",
            first.path().to_str().unwrap(), second.path().to_str().unwrap()], None);
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
        assert!(stdout.contains("599 created, 0 new versions, 0 unchanged, 2 rejected"), "{stdout}");
        // With several files, a line is named with its file.
        let first_name = first.path().display().to_string();
        assert!(stderr.contains(&format!("{first_name}: line 250: not UTF-8 text: invalid byte at column 22")), "{stderr}");
        assert!(stderr.contains(&format!("{}: line 1: not valid JSON", second.path().display())), "{stderr}");
    }

    async fn import_reads_standard_input(db: &TestDatabase) {
        let manifest = write_temp(MANIFEST);
        assert!(integrity(db.url.as_str(), &["apply", manifest.path().to_str().unwrap()], None).status.success());
        let input = r#"{"ticket_number": "S-1", "call_center": {"name": "Georgia 811"}}"#;
        let out = integrity(db.url.as_str(), &["import", "--account", "acme", "-"], Some(input));
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(text(&out.stdout).contains("1 created"), "{}", text(&out.stdout));
        let missing = integrity(db.url.as_str(), &["import", "--account", "nobody", "-"], Some(input));
        assert!(!missing.status.success());
        assert!(text(&missing.stderr).contains("no account with subdomain \"nobody\""), "{}", text(&missing.stderr));
    }

    async fn operators_issue_list_and_revoke_keys(db: &TestDatabase) {
        let manifest = write_temp(MANIFEST);
        assert!(integrity(db.url.as_str(), &["apply", manifest.path().to_str().unwrap()], None).status.success());
        let created = integrity(db.url.as_str(), &["tokens", "create", "--account", "acme", "--user", "AL@example.com"], None);
        assert!(created.status.success(), "{}", text(&created.stderr));
        let token = text(&created.stdout).trim().to_string();
        assert!(token.starts_with("itg_") && token.len() == 68, "{token}");
        let principal = db.store.authenticate(&token).await.unwrap().expect("the new key works");
        assert_eq!(principal.user_name, "Al Dente");

        let listed = text(&integrity(db.url.as_str(), &["tokens", "list", "--account", "acme"], None).stdout);
        let line = listed.lines().find(|l| l.contains(&token[..8])).unwrap_or_else(|| panic!("{listed}"));
        assert!(!listed.contains(&token), "the key itself is never listed: {listed}");
        let id = line.split_whitespace().next().unwrap().to_string();

        let revoked = integrity(db.url.as_str(), &["tokens", "revoke", "--account", "acme", &id], None);
        assert!(revoked.status.success(), "{}", text(&revoked.stderr));
        assert!(db.store.authenticate(&token).await.unwrap().is_none(), "revoked at once");
        let again = integrity(db.url.as_str(), &["tokens", "revoke", "--account", "acme", &id], None);
        assert!(!again.status.success());
        let unknown_user = integrity(db.url.as_str(), &["tokens", "create", "--account", "acme", "--user", "nobody@example.com"], None);
        assert!(text(&unknown_user.stderr).contains("no user with e-mail"), "{}", text(&unknown_user.stderr));
    }
}
