//! Call centers' documents from files: `integrity import --format` and
//! `integrity intake watch`, on both backends.

use std::path::Path;
use std::process::{Command, Output};

use integrity_store::test_on_both_backends;
use integrity_store::testing::TestDatabase;
use integrity_store::TicketFilter;

const MANIFEST: &str = r#"{"accounts": [{"subdomain": "acme", "name": "Acme Locating",
  "call_centers": [{"name": "USA North 811", "service_areas": [{"code": "CNSA12"}]},
                   {"name": "Georgia 811", "service_areas": [{"code": "GAUPC"}]}]}]}"#;

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../integrity-intake/tests/fixtures")
        .join(name)
}

fn integrity(database: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_integrity"))
        .arg("--database")
        .arg(database)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run integrity")
}

/// `integrity import` of documents for the USA North 811 center.
fn import(db: &TestDatabase, format: &str, paths: &[&Path]) -> Output {
    let mut args = vec![
        "import",
        "--account",
        "acme",
        "--call-center",
        "USA North 811",
        "--format",
        format,
    ];
    args.extend(paths.iter().map(|p| p.to_str().unwrap()));
    integrity(db.url.as_str(), &args)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn apply(database: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("manifest.json");
    std::fs::write(&path, MANIFEST).unwrap();
    let out = integrity(database, &["apply", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

async fn numbers(db: &TestDatabase) -> Vec<String> {
    let account = db
        .store
        .account_by_subdomain("acme")
        .await
        .unwrap()
        .unwrap();
    let page = db
        .store
        .tickets(
            account,
            &TicketFilter {
                per_page: 50,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut numbers: Vec<String> = page
        .tickets
        .into_iter()
        .map(|t| t.content.ticket_number)
        .collect();
    numbers.sort();
    numbers
}

test_on_both_backends! {
    async fn import_reads_each_file_in_its_detected_format(db: &TestDatabase) {
        apply(db.url.as_str());
        let garbage = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(garbage.path(), "not a ticket").unwrap();
        let files = [
            fixture("usan_ca_option3_2022041100005.xml"),
            fixture("usan_nv_option2_2022041400001-000.txt"),
            fixture("usan_ca_legacy_2022041900001-000.txt"),
            garbage.path().to_path_buf(),
        ];
        let mut args = vec!["import", "--account", "acme", "--call-center", "USA North 811", "--format", "auto"];
        args.extend(files.iter().map(|f| f.to_str().unwrap()));
        let out = integrity(db.url.as_str(), &args);
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
        assert!(stdout.contains("3 created, 0 new versions, 0 unchanged, 1 rejected"), "{stdout}");
        assert!(stderr.contains("could not be detected; name it with --format"), "{stderr}");
        assert_eq!(numbers(db).await, ["2022041100005", "2022041400001", "2022041900001"]);

        // Again: every ticket is a retransmission.
        let out = integrity(db.url.as_str(), &args[..args.len() - 1]);
        assert!(text(&out.stdout).contains("0 created, 0 new versions, 3 unchanged, 0 rejected"), "{}", text(&out.stdout));
    }

    async fn import_reads_every_file_of_a_folder(db: &TestDatabase) {
        apply(db.url.as_str());
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(fixture("usan_ca_option3_2022041100005.xml"), dir.path().join("1.xml")).unwrap();
        std::fs::copy(fixture("usan_nv_option2_2022041400001-000.txt"), dir.path().join("2.txt")).unwrap();
        std::fs::write(dir.path().join("3.txt"), "not a ticket").unwrap();
        std::fs::create_dir(dir.path().join("nested")).unwrap();
        std::fs::copy(fixture("usan_ca_legacy_2022041900001-000.txt"), dir.path().join("nested/4.txt")).unwrap();
        let out = import(db, "auto", &[dir.path()]);
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
        assert!(stdout.contains("2 created, 0 new versions, 0 unchanged, 1 rejected"), "{stdout}");
        assert!(stderr.contains("3.txt"), "{stderr}");
        // Files only: a folder inside is not walked.
        assert_eq!(numbers(db).await, ["2022041100005", "2022041400001"]);
    }

    async fn revisions_in_a_folder_are_taken_in_in_name_order(db: &TestDatabase) {
        // More files than a batch, parsed on several threads: the revisions
        // must still reach the store in the folder's order.
        apply(db.url.as_str());
        let dir = tempfile::tempdir().unwrap();
        let template = std::fs::read_to_string(fixture("usan_ca_option3_2022041100005.xml")).unwrap();
        let revisions = 250;
        for revision in 0..revisions {
            let document = template
                .replace("<onecall:TicketRevisionNumber>000<", &format!("<onecall:TicketRevisionNumber>{revision:03}<"))
                .replace(">test ticket<", &format!(">revision {revision}<"));
            std::fs::write(dir.path().join(format!("{revision:03}.xml")), document).unwrap();
        }
        let out = import(db, "usan-xml", &[dir.path()]);
        let stdout = text(&out.stdout);
        assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
        assert!(stdout.contains("1 created, 249 new versions, 0 unchanged, 0 rejected"), "{stdout}");
        let reported: Vec<&str> = stdout.lines().filter(|l| l.contains("2022041100005")).collect();
        assert_eq!(reported.len(), revisions);
        assert!(reported[0].contains("000.xml") && reported[249].contains("249.xml"), "{stdout}");

        let account = db.store.account_by_subdomain("acme").await.unwrap().unwrap();
        let center = db.store.call_centers(account).await.unwrap()[0].id;
        let ticket = db.store.ticket_by_number(account, center, "2022041100005").await.unwrap().unwrap();
        assert_eq!(ticket.version_number, 249);
        assert_eq!(ticket.content.remarks.as_deref(), Some("revision 249"));

        // The folder again, and a late copy of the first revision: each is
        // a retransmission, and the ticket keeps its last revision.
        let out = import(db, "usan-xml", &[dir.path()]);
        let stdout = text(&out.stdout);
        assert!(stdout.contains("0 created, 0 new versions, 250 unchanged, 0 rejected"), "{stdout}");
        let first = dir.path().join("000.xml");
        let out = import(db, "usan-xml", &[&first]);
        assert!(text(&out.stdout).contains("1 unchanged"), "{}", text(&out.stdout));
        let again = db.store.ticket_by_number(account, center, "2022041100005").await.unwrap().unwrap();
        assert_eq!(again, ticket);
    }

    async fn a_folder_follows_links_and_says_what_it_does_not_read(db: &TestDatabase) {
        apply(db.url.as_str());
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(fixture("usan_ca_option3_2022041100005.xml"), dir.path().join("a-linked.xml")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("gone.xml"), dir.path().join("b-dangling.xml")).unwrap();
        std::fs::create_dir(dir.path().join("c-nested")).unwrap();
        std::fs::copy(fixture("usan_nv_option2_2022041400001-000.txt"), dir.path().join("d.txt")).unwrap();
        // A named pipe: reading it would wait for a writer forever.
        let fifo = dir.path().join("e-pipe");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let out = import(db, "auto", &[dir.path()]);
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
        assert!(stdout.contains("2 created, 0 new versions, 0 unchanged, 2 rejected"), "{stdout}");
        assert!(stderr.contains("b-dangling.xml: cannot read the file"), "{stderr}");
        assert!(stderr.contains("c-nested: skipped"), "{stderr}");
        assert!(stderr.contains("e-pipe: not a regular file"), "{stderr}");
        assert_eq!(numbers(db).await, ["2022041100005", "2022041400001"]);
    }

    async fn refusals_and_takings_are_reported_in_the_inputs_order(db: &TestDatabase) {
        apply(db.url.as_str());
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(fixture("usan_ca_option3_2022041100005.xml"), dir.path().join("1.xml")).unwrap();
        std::fs::write(dir.path().join("2.xml"), "<broken").unwrap();
        std::fs::copy(fixture("usan_nv_option2_2022041400001-000.txt"), dir.path().join("3.txt")).unwrap();
        // One file for both, as `> log 2>&1` gives: one shared offset.
        let log = tempfile::NamedTempFile::new().unwrap();
        let both = log.reopen().unwrap();
        let status = Command::new(env!("CARGO_BIN_EXE_integrity"))
            .args(["--database", db.url.as_str(), "import", "--account", "acme", "--call-center", "USA North 811",
                "--format", "auto", dir.path().to_str().unwrap()])
            .env("RUST_LOG", "warn")
            .stdout(both.try_clone().unwrap())
            .stderr(both)
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(2));
        let both = std::fs::read_to_string(log.path()).unwrap();
        let lines: Vec<&str> = both.lines().collect();
        assert_eq!(lines.len(), 4, "{both}");
        for (line, name) in lines.iter().zip(["1.xml: ticket", "2.xml: document", "3.txt: ticket", "imported"]) {
            assert!(line.contains(name), "{both}");
        }
    }

    async fn a_closed_output_ends_the_import_without_a_panic(db: &TestDatabase) {
        apply(db.url.as_str());
        let dir = tempfile::tempdir().unwrap();
        let template = std::fs::read_to_string(fixture("usan_ca_option3_2022041100005.xml")).unwrap();
        for i in 0..150 {
            let document = template.replace("<onecall:TicketNumber>2022041100005<", &format!("<onecall:TicketNumber>22{i:011}<"));
            std::fs::write(dir.path().join(format!("{i:03}.xml")), document).unwrap();
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_integrity"))
            .args(["--database", db.url.as_str(), "import", "--account", "acme", "--call-center", "USA North 811",
                "--format", "usan-xml", dir.path().to_str().unwrap()])
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // As `| head -0` does: the reading end closes before any output.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("writing to standard output") && !stderr.contains("panicked"), "{stderr}");
        // What was committed before stays, and importing again completes it.
        let out = import(db, "usan-xml", &[dir.path()]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let account = db.store.account_by_subdomain("acme").await.unwrap().unwrap();
        let page = db.store.tickets(account, &TicketFilter { per_page: 500, ..Default::default() }).await.unwrap();
        assert_eq!(page.tickets.len(), 150);
    }

    async fn a_watched_folder_takes_files_in_and_moves_them_aside(db: &TestDatabase) {
        apply(db.url.as_str());
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(fixture("ga811_open_ticket_normal_240222-001001.json"), dir.path().join("a.json")).unwrap();
        std::fs::write(dir.path().join("b.json"), "{ broken").unwrap();
        let out = integrity(db.url.as_str(), &["intake", "watch", "--account", "acme", "--call-center", "Georgia 811",
            "--once", dir.path().to_str().unwrap()]);
        assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
        assert!(dir.path().join("done/a.json").exists());
        assert!(dir.path().join("failed/b.json").exists(), "nothing is deleted");
        let reason = std::fs::read_to_string(dir.path().join("failed/b.json.reason.txt")).unwrap();
        assert!(reason.contains("document") && reason.contains("line 1"), "{reason}");
        assert!(!dir.path().join("a.json").exists() && !dir.path().join("b.json").exists());
        assert_eq!(numbers(db).await, ["240222-001001"]);

        // The same name dropped again is not lost over the first.
        std::fs::copy(fixture("ga811_open_ticket_normal_240222-001001.json"), dir.path().join("a.json")).unwrap();
        let out = integrity(db.url.as_str(), &["intake", "watch", "--account", "acme", "--call-center", "Georgia 811",
            "--once", dir.path().to_str().unwrap()]);
        assert!(out.status.success());
        assert!(dir.path().join("done/a.json.1").exists());
        assert!(text(&out.stdout).contains("unchanged"), "{}", text(&out.stdout));
    }

    async fn a_watched_folder_follows_links_and_moves_aside_what_it_cannot_read(db: &TestDatabase) {
        apply(db.url.as_str());
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        // done/ on other storage, through a link: it stays where it is.
        let done = elsewhere.path().join("done-elsewhere");
        std::fs::create_dir(&done).unwrap();
        std::os::unix::fs::symlink(&done, dir.path().join("done")).unwrap();
        let target = elsewhere.path().join("ticket.json");
        std::fs::copy(fixture("ga811_open_ticket_normal_240222-001001.json"), &target).unwrap();
        std::os::unix::fs::symlink(&target, dir.path().join("a-linked.json")).unwrap();
        std::os::unix::fs::symlink(elsewhere.path().join("gone.json"), dir.path().join("b-dangling.json")).unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), dir.path().join("c-folder")).unwrap();
        // A named pipe: reading it would wait for a writer forever.
        assert!(std::process::Command::new("mkfifo").arg(dir.path().join("d-pipe")).status().unwrap().success());
        let watch = || integrity(db.url.as_str(), &["intake", "watch", "--account", "acme", "--call-center", "Georgia 811",
            "--once", dir.path().to_str().unwrap()]);
        let out = watch();
        assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
        assert_eq!(numbers(db).await, ["240222-001001"], "read through the link");
        assert!(done.join("a-linked.json").is_symlink(), "the link moved, not its target");
        assert!(target.exists());
        for (name, reason) in [("b-dangling.json", "cannot read the file"), ("d-pipe", "not a regular file")] {
            let moved = dir.path().join("failed").join(name);
            assert!(moved.symlink_metadata().is_ok(), "{name} moved aside");
            let why = std::fs::read_to_string(dir.path().join("failed").join(format!("{name}.reason.txt"))).unwrap();
            assert!(why.contains(reason), "{name}: {why}");
        }
        let mut left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        left.sort();
        assert_eq!(left, ["c-folder", "done", "failed"], "a link to a folder is left as a folder is");

        // A second link to nothing of the same name does not replace the
        // first in failed/, which itself points nowhere.
        std::os::unix::fs::symlink(elsewhere.path().join("gone-too.json"), dir.path().join("b-dangling.json")).unwrap();
        let out = watch();
        assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
        let first = std::fs::read_link(dir.path().join("failed/b-dangling.json")).unwrap();
        let second = std::fs::read_link(dir.path().join("failed/b-dangling.json.1")).unwrap();
        assert_eq!((first.file_name().unwrap(), second.file_name().unwrap()), ("gone.json".as_ref(), "gone-too.json".as_ref()));
        assert!(dir.path().join("failed/b-dangling.json.1.reason.txt").exists());
    }
}
