//! The `bitrix-codegen` binary end to end: the real executable, run as a user would, against
//! the emulator on 127.0.0.1 (and against tiny local servers that answer wrongly).
//!
//! - snapshot -> check is clean -> a user field is added on the portal -> check reports it and
//!   exits 1 -> a new snapshot -> diff shows the same change;
//! - a snapshot of a portal emulated from a fields file reproduces that file byte for byte;
//! - `generate` prints exactly the golden file, applies names files and refuses stale renames;
//! - every entity (issue 10), against a tiny fake portal (`mod fake`): `--entity-type-id`,
//!   `--smart-process` (found on any page of `crm.type.list`), `snapshot --all` with its index,
//!   and `check --all` reporting a user field added, a smart process added and one removed;
//! - each error a user is likely to meet exits 2 with a message that says what to do, and the
//!   webhook code never appears in the output.
//!
//! Nothing here leaves 127.0.0.1: the one non-loopback URL is refused before any connection.

// The binary (and so `CARGO_BIN_EXE_bitrix-codegen`) exists only with the `cli` feature.
#![cfg(feature = "cli")]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::thread::JoinHandle;

use common::{age, mtime, read, workspace_root};

use bitrix_codegen::{EntityInfo, Snapshot};
use bitrix_emulator::{Config, Emulator};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_bitrix-codegen");

/// The webhook code of every emulated portal here; the tests look for it in every output.
const CODE: &str = "cliS3cretW3bhookC0de";

/// What one run of the binary did.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    #[track_caller]
    fn expect_exit(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "expected exit {code}\n--- stdout:\n{}\n--- stderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// The webhook code must not leak, whatever happened.
    #[track_caller]
    fn expect_no_secret(&self, secret: &str) -> &Self {
        assert!(
            !self.all().contains(secret),
            "the webhook code appears in the output:\n{}",
            self.all()
        );
        self
    }

    #[track_caller]
    fn expect_stdout(&self, needle: &str) -> &Self {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}:\n{}\n--- stderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    #[track_caller]
    fn expect_stderr(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}:\n{}\n--- stdout:\n{}",
            self.stderr,
            self.stdout
        );
        self
    }
}

/// Runs the binary in the workspace root, without a `BITRIX_WEBHOOK` inherited from the
/// developer's shell.
fn codegen(args: &[&str]) -> Run {
    codegen_with(args, None)
}

fn codegen_with(args: &[&str], webhook_env: Option<&str>) -> Run {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .current_dir(workspace_root())
        .env_remove("BITRIX_WEBHOOK");
    if let Some(url) = webhook_env {
        command.env("BITRIX_WEBHOOK", url);
    }
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {BIN}: {e}"));
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn path_arg(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

/// An emulated portal with its own tokio runtime, so the test thread stays synchronous and can
/// run the binary and blocking HTTP calls.
struct Portal {
    emulator: Option<Emulator>,
    runtime: tokio::runtime::Runtime,
}

impl Portal {
    /// A portal whose deal fields are `fields` (a snapshot), or the demo portal.
    fn start(fields: Option<Value>) -> Portal {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let config = Config {
            fields,
            webhook_code: CODE.to_owned(),
            ..Config::default()
        };
        let emulator = runtime
            .block_on(Emulator::start(config))
            .expect("the emulator starts");
        Portal {
            emulator: Some(emulator),
            runtime,
        }
    }

    fn emulator(&self) -> &Emulator {
        self.emulator.as_ref().expect("running")
    }

    fn webhook(&self) -> String {
        let url = self.emulator().webhook_url();
        assert!(url.contains(CODE), "the emulator uses the configured code");
        url
    }

    /// `snapshot --all` of this portal into a new temporary folder: the folder (removed when
    /// dropped) and the snapshot folder's path inside it.
    fn snapshot_all(&self) -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        let out = path_arg(&dir.path().join("acme")).to_owned();
        let run = codegen(&[
            "snapshot",
            "--webhook",
            &self.webhook(),
            "--all",
            "--out",
            &out,
        ]);
        assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
        (dir, out)
    }

    /// Calls a REST method over HTTP, as any client of the portal would.
    fn call(&self, method: &str, params: Value) -> Value {
        let response = reqwest::blocking::Client::new()
            .post(format!("{}{method}", self.webhook()))
            .json(&params)
            .send()
            .unwrap_or_else(|e| panic!("{method}: {}", e.without_url()));
        let status = response.status();
        let body: Value = response.json().expect("the emulator answers JSON");
        assert!(status.is_success(), "{method} failed: HTTP {status} {body}");
        body
    }
}

impl Drop for Portal {
    fn drop(&mut self) {
        if let Some(emulator) = self.emulator.take() {
            self.runtime.block_on(emulator.shutdown());
        }
    }
}

#[test]
fn snapshot_check_drift_and_diff_end_to_end() {
    let portal = Portal::start(None);
    let url = portal.webhook();
    let dir = tempfile::tempdir().unwrap();
    // A folder that does not exist yet: `snapshot` creates it.
    let file = dir.path().join("schemas/acme/deal.json");

    // 1. snapshot: writes the file and prints the summary.
    let run = codegen(&[
        "snapshot",
        "--webhook",
        &url,
        "--entity",
        "deal",
        "--out",
        path_arg(&file),
    ]);
    run.expect_exit(0)
        .expect_no_secret(CODE)
        .expect_stdout("wrote ")
        .expect_stdout("/rest/1/***/");
    let written = read(&file);
    assert!(
        written == common::as_written(&read(workspace_root().join("schemas/demo/deal.json"))),
        "the emulated demo portal snapshots to the committed demo snapshot"
    );
    let summary = Snapshot::parse(&written, &EntityInfo::deal())
        .unwrap()
        .summary();
    assert_eq!(summary.fields, 80);
    assert_eq!(summary.user_fields, 32);
    run.expect_stdout(&summary.to_string())
        .expect_stdout("deal: 80 fields (32 user fields, 1 required)")
        .expect_stdout("enumeration 2")
        .expect_stdout("unknown types: none");

    // 2. The same portal again: the file is left alone (mtime kept), and the run says so.
    let aged = age(&file);
    codegen(&["snapshot", "--webhook", &url, "--out", path_arg(&file)])
        .expect_exit(0)
        .expect_no_secret(CODE)
        .expect_stdout("unchanged: ");
    assert_eq!(mtime(&file), aged, "an unchanged snapshot is not rewritten");

    // 3. check: the portal matches the snapshot.
    codegen(&["check", "--webhook", &url, "--schema", path_arg(&file)])
        .expect_exit(0)
        .expect_no_secret(CODE)
        .expect_stdout("matches the portal 127.0.0.1");

    // 4. Someone adds a user field on the portal.
    let old = dir.path().join("old.json");
    std::fs::copy(&file, &old).unwrap();
    let added = portal.call(
        "crm.deal.userfield.add",
        json!({"fields": {
            "FIELD_NAME": "DELIVERY_SLOT",
            "USER_TYPE_ID": "string",
            "MULTIPLE": "N",
            "MANDATORY": "N",
            "EDIT_FORM_LABEL": {"ru": "Окно доставки", "en": "Delivery slot"},
            "LIST_COLUMN_LABEL": {"ru": "Окно доставки", "en": "Delivery slot"},
            "LIST_FILTER_LABEL": {"ru": "Окно доставки", "en": "Delivery slot"},
        }}),
    );
    assert!(added["result"].as_u64().is_some(), "{added}");

    // 5. check: drift, exit 1, a readable report and the command that fixes it.
    let added_line = "+ UF_CRM_DELIVERY_SLOT: field added (string, \"Окно доставки\")";
    codegen(&["check", "--webhook", &url, "--schema", path_arg(&file)])
        .expect_exit(1)
        .expect_no_secret(CODE)
        .expect_stdout("has drifted from the portal 127.0.0.1")
        .expect_stdout("1 difference(s), 1 of them change the generated types:")
        .expect_stdout(added_line)
        .expect_stdout("refresh it with `bitrix-codegen snapshot --webhook <URL> --entity deal");
    assert_eq!(read(&old), read(&file), "check never writes the snapshot");

    // 6. A new snapshot rewrites the file, which now has the field.
    codegen(&["snapshot", "--webhook", &url, "--out", path_arg(&file)])
        .expect_exit(0)
        .expect_no_secret(CODE)
        .expect_stdout("wrote ")
        .expect_stdout("deal: 81 fields (33 user fields, 1 required)");
    assert_ne!(mtime(&file), aged, "a changed snapshot is rewritten");
    let new = read(&file);
    let parsed = Snapshot::parse(&new, &EntityInfo::deal()).unwrap();
    assert_eq!(
        parsed.fields["UF_CRM_DELIVERY_SLOT"]["type"],
        json!("string")
    );

    // 7. diff OLD NEW: the same report; exit 1. The reverse shows a removal.
    codegen(&["diff", path_arg(&old), path_arg(&file)])
        .expect_exit(1)
        .expect_stdout("1 difference(s), 1 of them change the generated types:")
        .expect_stdout(added_line);
    codegen(&["diff", path_arg(&file), path_arg(&old)])
        .expect_exit(1)
        .expect_stdout("- UF_CRM_DELIVERY_SLOT: field removed (was string)");
    codegen(&["diff", path_arg(&file), path_arg(&file)])
        .expect_exit(0)
        .expect_stdout("no drift");

    // 8. The refreshed snapshot matches the portal again.
    codegen(&["check", "--webhook", &url, "--schema", path_arg(&file)])
        .expect_exit(0)
        .expect_no_secret(CODE);
}

#[test]
fn check_reports_enumeration_and_label_drift() {
    let portal = Portal::start(None);
    let url = portal.webhook();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("deal.json");
    codegen(&["snapshot", "--webhook", &url, "--out", path_arg(&file)]).expect_exit(0);

    // Make the file look like a snapshot taken before three edits on the portal: the sales
    // channel got its last item and a new form label, the greeting stopped being required.
    let mut old: Value = serde_json::from_str(&read(&file)).unwrap();
    let channel = &mut old["fields"]["UF_CRM_1721244590123"];
    let items = channel["items"].as_array_mut().unwrap();
    let removed = items.pop().unwrap();
    channel["formLabel"] = json!("Канал");
    old["fields"]["UF_CRM_1721244482250"]["isRequired"] = json!(true);
    std::fs::write(&file, serde_json::to_string_pretty(&old).unwrap()).unwrap();

    let run = codegen(&["check", "--webhook", &url, "--schema", path_arg(&file)]);
    run.expect_exit(1)
        .expect_no_secret(CODE)
        .expect_stdout("3 difference(s), 2 of them change the generated types:")
        .expect_stdout("~ UF_CRM_1721244482250: isRequired true -> false")
        .expect_stdout("~ UF_CRM_1721244590123: formLabel \"Канал\" -> \"Канал продаж\"")
        .expect_stdout(&format!(
            "+ UF_CRM_1721244590123: enumeration item {} \"{}\" added",
            removed["ID"].as_str().unwrap(),
            removed["VALUE"].as_str().unwrap()
        ));
}

#[test]
fn snapshots_of_emulated_portals_reproduce_the_fields_files_byte_for_byte() {
    for schema in [
        "schemas/demo/deal.json",
        "schemas/seed/deal.json",
        "schemas/test/huge/deal.json",
        "examples/build-rs/schemas/shop/deal.json",
    ] {
        let committed = read(workspace_root().join(schema));
        let portal = Portal::start(Some(serde_json::from_str(&committed).unwrap()));
        // Version 1 files come back as version 2: the same descriptors, with `entity.api`;
        // the fields part is compared (the catalog is the emulator's own).
        let mut fields_only =
            Snapshot::parse(&common::as_written(&committed), &EntityInfo::deal()).unwrap();
        fields_only.catalog = Default::default();
        let original = fields_only.to_json_pretty();
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("deal.json");
        let run = codegen(&[
            "snapshot",
            "--webhook",
            &portal.webhook(),
            "--out",
            path_arg(&out),
        ]);
        run.expect_exit(0).expect_no_secret(CODE);
        // The fields as the file has them; the pipelines and dictionaries the emulator adds
        // are the subject of `check_all_catches_a_stage_added_...`.
        let mut taken = Snapshot::parse(&read(&out), &EntityInfo::deal()).unwrap();
        assert!(
            taken.catalog.pipelines.is_some(),
            "{schema}: pipelines recorded"
        );
        taken.catalog = Default::default();
        let snapshot = taken.to_json_pretty();
        if snapshot != original {
            let line = snapshot
                .lines()
                .zip(original.lines())
                .position(|(a, b)| a != b)
                .map_or(0, |i| i + 1);
            panic!(
                "the snapshot of the portal emulated from {schema} differs from that file (first at line {line}: {:?} vs {:?})",
                snapshot.lines().nth(line.saturating_sub(1)),
                original.lines().nth(line.saturating_sub(1)),
            );
        }
        let parsed = Snapshot::parse(&original, &EntityInfo::deal()).unwrap();
        run.expect_stdout(&parsed.summary().to_string());
    }
}

#[test]
fn huge_snapshot_summary_names_the_unknown_types() {
    let text = read(workspace_root().join("schemas/test/huge/deal.json"));
    let portal = Portal::start(Some(serde_json::from_str(&text).unwrap()));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("deal.json");
    codegen(&[
        "snapshot",
        "--webhook",
        &portal.webhook(),
        "--out",
        path_arg(&out),
    ])
    .expect_exit(0)
    .expect_stdout("deal: 2000 fields")
    .expect_stdout("unknown types (read and written as raw JSON): ")
    .expect_stdout("rest_219_test");
}

#[test]
fn generate_prints_the_golden_file() {
    let golden = read(workspace_root().join("codegen/tests/golden/demo_deal.rs"));
    let run = codegen(&[
        "generate",
        "--schema",
        "schemas/demo/deal.json",
        "--struct-name",
        "Deal",
    ]);
    run.expect_exit(0);
    assert!(
        run.stdout == golden,
        "`bitrix-codegen generate --schema schemas/demo/deal.json` differs from codegen/tests/golden/demo_deal.rs; \
         if the generator changed on purpose, refresh the golden file (see codegen/tests/golden.rs)"
    );
    assert_eq!(run.stderr, "", "the demo portal generates without warnings");
    assert!(
        run.stdout
            .starts_with("// @generated by bitrix-codegen 0.1.0 from schemas/demo/deal.json.\n")
    );

    // --out writes the same text to a file, and the default struct name is Deal.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("deal.rs");
    codegen(&[
        "generate",
        "--schema",
        "schemas/demo/deal.json",
        "--out",
        path_arg(&out),
    ])
    .expect_exit(0)
    .expect_stderr("wrote ");
    assert!(read(&out) == golden, "--out writes the golden text");

    // The default struct name comes from the snapshot's entity: a lead snapshot gives `Lead`.
    codegen(&[
        "generate",
        "--schema",
        "codegen/tests/schemas/read_only.json",
    ])
    .expect_exit(0)
    .expect_stdout("pub struct Lead {")
    .expect_stdout("impl __p::Entity for Lead {");

    // Every entity (issue 10): a smart process prints its golden file with the name from its
    // title; `--api item` makes crm.item.* a legacy entity's default route.
    for (schema, golden) in [
        (
            "codegen/tests/schemas/smart_process.json",
            "smart_process.rs",
        ),
        ("codegen/tests/schemas/contact.json", "contact.rs"),
    ] {
        let run = codegen(&["generate", "--schema", schema]);
        run.expect_exit(0);
        assert!(
            run.stdout == read(workspace_root().join("codegen/tests/golden").join(golden)),
            "{schema}"
        );
    }
    codegen(&[
        "generate",
        "--schema",
        "codegen/tests/schemas/lead.json",
        "--api",
        "item",
    ])
    .expect_exit(0)
    .expect_stdout("const API: __p::Api = __p::Api::Item;");
    codegen(&[
        "generate",
        "--schema",
        "codegen/tests/schemas/smart_invoice.json",
        "--api",
        "legacy",
    ])
    .expect_exit(2)
    .expect_stderr("smart_invoice exists only on crm.item.*");
}

#[test]
fn generate_applies_names_and_refuses_stale_renames() {
    let run = codegen(&[
        "generate",
        "--schema",
        "schemas/demo/deal.json",
        "--names",
        "schemas/demo/names.json",
        "--rename",
        "COMMENTS=notes",
    ]);
    run.expect_exit(0)
        .expect_stdout("pub greeting: ")
        .expect_stdout("pub sales_channel: ")
        .expect_stdout("pub notes: ")
        .expect_stdout("Website")
        .expect_stdout("StaffTraining");
    assert!(!run.stdout.contains("pub uf_crm_1721244482250:"));

    // A rename of a field the portal no longer has is an error that names it.
    codegen(&[
        "generate",
        "--schema",
        "schemas/demo/deal.json",
        "--rename",
        "UF_CRM_1699999999999=old_budget",
    ])
    .expect_exit(2)
    .expect_stderr("cannot generate from schemas/demo/deal.json")
    .expect_stderr("UF_CRM_1699999999999, which the snapshot does not have")
    .expect_stderr("refresh the snapshot");

    // The same through a names file, which the message names.
    let dir = tempfile::tempdir().unwrap();
    let names = dir.path().join("names.json");
    std::fs::write(
        &names,
        r#"{"fields": {"UF_CRM_1721244482250": "greeting", "UF_CRM_1699999999999": "old_budget"}}"#,
    )
    .unwrap();
    codegen(&[
        "generate",
        "--schema",
        "schemas/demo/deal.json",
        "--names",
        path_arg(&names),
    ])
    .expect_exit(2)
    .expect_stderr("UF_CRM_1699999999999")
    .expect_stderr("names.json");

    // A bad --rename argument says what it expects.
    codegen(&[
        "generate",
        "--schema",
        "schemas/demo/deal.json",
        "--rename",
        "greeting",
    ])
    .expect_exit(2)
    .expect_stderr("expected CODE=name");
}

/// Issue 14 item 5: these panicked (exit 101) in `format_ident!`.
#[test]
fn odd_struct_names_and_renames_are_errors_or_names_not_panics() {
    for name in ["Foo-Bar", "1Deal", "Deal!", "", "Deal Patch"] {
        codegen(&[
            "generate",
            "--schema",
            "schemas/demo/deal.json",
            "--struct-name",
            name,
        ])
        .expect_exit(2)
        .expect_stderr("is not a PascalCase Rust identifier")
        .expect_stderr("name the struct like `Deal`");
    }
    // A leading `_` then a digit is a valid field name; the enum variant and type get an `F`.
    codegen(&[
        "generate",
        "--schema",
        "schemas/demo/deal.json",
        "--rename",
        "UF_CRM_1721244590123=_1",
        "--rename",
        "TITLE=_9x",
    ])
    .expect_exit(0)
    .expect_stdout("pub _1: ::core::option::Option<DealF1>,")
    .expect_stdout("pub _9x: ")
    .expect_stdout("DealField::F9x");
    codegen(&[
        "generate",
        "--schema",
        "schemas/demo/deal.json",
        "--rename",
        "TITLE=9x",
    ])
    .expect_exit(2)
    .expect_stderr("rename of TITLE: `9x` is not a usable snake_case Rust name");
}

#[test]
fn the_webhook_may_come_from_bitrix_webhook() {
    let portal = Portal::start(None);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("deal.json");
    codegen_with(
        &["snapshot", "--out", path_arg(&file)],
        Some(&portal.webhook()),
    )
    .expect_exit(0)
    .expect_no_secret(CODE)
    .expect_stdout("deal: 80 fields");
    codegen_with(
        &["check", "--schema", path_arg(&file)],
        Some(&portal.webhook()),
    )
    .expect_exit(0)
    .expect_no_secret(CODE);

    // Neither flag nor variable: clap says what is missing (exit 2).
    codegen(&["check", "--schema", path_arg(&file)])
        .expect_exit(2)
        .expect_stderr("--webhook");
}

#[test]
fn a_wrong_webhook_code_is_refused_without_printing_either_code() {
    let portal = Portal::start(None);
    let wrong_code = "wr0ngW3bhookC0de";
    let url = portal.webhook().replace(CODE, wrong_code);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("deal.json");
    codegen(&["snapshot", "--webhook", &url, "--out", path_arg(&file)])
        .expect_exit(2)
        .expect_no_secret(CODE)
        .expect_no_secret(wrong_code)
        .expect_stderr("the portal refused the webhook")
        .expect_stderr("INVALID_CREDENTIALS")
        .expect_stderr("check the webhook code");
    assert!(!file.exists(), "nothing is written on failure");

    std::fs::copy(workspace_root().join("schemas/demo/deal.json"), &file).unwrap();
    codegen(&["check", "--webhook", &url, "--schema", path_arg(&file)])
        .expect_exit(2)
        .expect_no_secret(wrong_code)
        .expect_stderr("the portal refused the webhook");
}

#[test]
fn an_unreachable_portal_is_reported_without_the_code() {
    // A port that was free a moment ago: nothing listens there, the connection is refused.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/rest/1/{CODE}/");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("deal.json");
    codegen(&["snapshot", "--webhook", &url, "--out", path_arg(&file)])
        .expect_exit(2)
        .expect_no_secret(CODE)
        .expect_stderr("cannot reach the portal 127.0.0.1")
        .expect_stderr("check the address and your network");
    assert!(!file.exists());
}

#[test]
fn http_to_a_remote_host_is_refused_before_any_connection() {
    // `.invalid` never resolves (RFC 2606), so even a bug that connected would not leave the
    // machine; the URL is refused while it is parsed.
    let url = format!("http://portal.example.invalid/rest/1/{CODE}/");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("deal.json");
    codegen(&["snapshot", "--webhook", &url, "--out", path_arg(&file)])
        .expect_exit(2)
        .expect_no_secret(CODE)
        .expect_stderr("invalid webhook URL: the portal must be reached over https");

    for bad in [
        "portal.bitrix24.ru/rest/1/x/",
        "https://portal.example.invalid/rest/x/",
    ] {
        codegen(&["snapshot", "--webhook", bad, "--out", path_arg(&file)])
            .expect_exit(2)
            .expect_stderr("invalid webhook URL")
            .expect_stderr("expected https://<portal>/rest/<user id>/<webhook code>/");
    }
    assert!(!file.exists());
}

/// A one-shot HTTP server on 127.0.0.1: answers one request with `status`, the header lines
/// `headers` and `body`, and returns the request line it saw. Its URL is a webhook URL.
fn serve(
    status: &'static str,
    headers: &'static str,
    body: &'static str,
) -> (String, JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}/rest/1/{CODE}/",
        listener.local_addr().unwrap().port()
    );
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("the CLI connects");
        let mut reader = BufReader::new(stream);
        let mut request_line = String::new();
        reader.read_line(&mut request_line).unwrap();
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap();
                }
            }
        }
        let mut request_body = vec![0; length];
        reader.read_exact(&mut request_body).unwrap();
        let mut stream = reader.into_inner();
        write!(
            stream,
            "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        stream.flush().unwrap();
        request_line.trim_end().to_owned()
    });
    (url, handle)
}

#[test]
fn answers_that_are_not_field_descriptors_are_named_as_such() {
    const HTML: &str = "Content-Type: text/html\r\n";
    const JSON: &str = "Content-Type: application/json\r\n";
    let cases: [(&str, &str, &str, &str); 6] = [
        (
            "200 OK",
            HTML,
            "<html><body>Bitrix24 is under maintenance</body></html>",
            "is not a crm.*.fields result: not JSON (starts with \"<html>",
        ),
        (
            "200 OK",
            JSON,
            r#"{"foo":1}"#,
            "is not a crm.*.fields result: it has no `result`",
        ),
        (
            "200 OK",
            JSON,
            r#"{"result": true, "time": {}}"#,
            "is not a crm.*.fields result: `result` must be an object of field descriptors",
        ),
        (
            "404 Not Found",
            JSON,
            r#"{"error":"ERROR_METHOD_NOT_FOUND","error_description":"Method not found!"}"#,
            "the portal answered HTTP 404 with error ERROR_METHOD_NOT_FOUND: Method not found!",
        ),
        (
            // Under heavy load the portal may answer HTML even for REST calls.
            "503 Service Unavailable",
            HTML,
            "<!DOCTYPE html><title>503</title>",
            "the portal's answer (HTTP 503) is not a crm.*.fields result: not JSON",
        ),
        (
            // A renamed portal: the Location repeats the webhook code, which must not show.
            "302 Found",
            "Location: https://new-name.bitrix24.ru/rest/1/cliS3cretW3bhookC0de/crm.deal.fields\r\n",
            "",
            "the portal redirects to new-name.bitrix24.ru (was it renamed?); use the webhook URL of the new address",
        ),
    ];
    assert!(
        cases[5].1.contains(CODE),
        "the redirect repeats the real code"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("deal.json");
    for (status, headers, body, message) in cases {
        let (url, server) = serve(status, headers, body);
        codegen(&["snapshot", "--webhook", &url, "--out", path_arg(&file)])
            .expect_exit(2)
            .expect_no_secret(CODE)
            .expect_stderr(message);
        let request = server.join().expect("the server thread");
        assert_eq!(
            request,
            format!("POST /rest/1/{CODE}/crm.deal.fields HTTP/1.1"),
            "one POST of crm.deal.fields"
        );
        assert!(!file.exists(), "nothing is written for {body}");
    }
}

#[test]
fn malformed_snapshot_files_are_reported_with_their_path() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, "{\"format_version\": 1,\n  \"entity\": ").unwrap();
    codegen(&["diff", path_arg(&broken), "schemas/demo/deal.json"])
        .expect_exit(2)
        .expect_stderr("broken.json: malformed JSON at line 2");
    codegen(&[
        "generate",
        "--schema",
        path_arg(&dir.path().join("missing.json")),
    ])
    .expect_exit(2)
    .expect_stderr("cannot read ")
    .expect_stderr("missing.json");
}

/// A tiny portal of every entity for the `--entity-type-id`, `--smart-process`, `--all` and
/// `check --all` tests: `crm.<entity>.fields` of the five legacy entities, `crm.item.fields`
/// of the smart invoice and the smart processes, and a paged `crm.type.list` (50 a page, as the
/// docs say). It answers from shared state that a test changes between runs, and does not
/// depend on the emulator's `crm.item.*`.
mod fake {
    use std::collections::BTreeMap;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    use serde_json::{Value, json};

    use super::{CODE, read, workspace_root};

    /// What the portal holds.
    #[derive(Default)]
    pub struct State {
        /// `crm.<entity>.fields` results by entity.
        pub legacy: BTreeMap<String, Value>,
        /// `crm.item.fields` results (`fields`) by entity type id.
        pub items: BTreeMap<u32, Value>,
        /// `crm.type.list` types.
        pub types: Vec<Value>,
    }

    pub struct Portal {
        pub url: String,
        pub state: Arc<Mutex<State>>,
        stop: Arc<AtomicBool>,
        port: u16,
    }

    /// The `fields` of a snapshot file of the workspace.
    pub fn fields_of(relative: &str) -> Value {
        let v: Value = serde_json::from_str(&read(workspace_root().join(relative))).unwrap();
        v["fields"].clone()
    }

    pub fn smart_type(id: u64, entity_type_id: u32, title: &str) -> Value {
        json!({"id": id, "title": title, "code": "", "entityTypeId": entity_type_id,
               "isCategoriesEnabled": "Y", "isStagesEnabled": "Y"})
    }

    impl Portal {
        /// The five legacy entities, the smart invoice, and the smart process "Проекты"
        /// (1268) of the test schemas.
        pub fn standard() -> Portal {
            let mut state = State::default();
            state
                .legacy
                .insert("deal".into(), fields_of("schemas/demo/deal.json"));
            for e in ["lead", "contact", "company", "quote"] {
                state.legacy.insert(
                    e.into(),
                    fields_of(&format!("codegen/tests/schemas/{e}.json")),
                );
            }
            state
                .items
                .insert(31, fields_of("codegen/tests/schemas/smart_invoice.json"));
            state
                .items
                .insert(1268, fields_of("codegen/tests/schemas/smart_process.json"));
            state.types.push(smart_type(44, 1268, "Проекты"));
            Portal::start(state)
        }

        pub fn start(state: State) -> Portal {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            let state = Arc::new(Mutex::new(state));
            let stop = Arc::new(AtomicBool::new(false));
            let (s, st) = (state.clone(), stop.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if st.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(stream) = stream {
                        answer(stream, &s);
                    }
                }
            });
            Portal {
                url: format!("http://127.0.0.1:{port}/rest/1/{CODE}/"),
                state,
                stop,
                port,
            }
        }
    }

    impl Drop for Portal {
        fn drop(&mut self) {
            self.stop.store(true, Ordering::SeqCst);
            let _ = TcpStream::connect(("127.0.0.1", self.port));
        }
    }

    fn answer(stream: TcpStream, state: &Mutex<State>) {
        let mut reader = BufReader::new(stream);
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).is_err() {
            return;
        }
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() || line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        let _ = reader.read_exact(&mut body);
        let params: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let path = request_line.split_whitespace().nth(1).unwrap_or("");
        let method = path.rsplit('/').next().unwrap_or("");
        let (status, reply) = route(path, method, &params, &state.lock().unwrap());
        let text = reply.to_string();
        let mut stream = reader.into_inner();
        let _ = write!(
            stream,
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
            text.len()
        );
        let _ = stream.flush();
    }

    /// Errors echo the request path, webhook code included, as careless servers do: the CLI
    /// must redact it.
    fn route(path: &str, method: &str, params: &Value, state: &State) -> (&'static str, Value) {
        let not_found = |what: &str| {
            (
                "400 Bad Request",
                json!({"error": "NOT_FOUND", "error_description": format!("{what} ({path})")}),
            )
        };
        if method == "crm.item.fields" {
            let id = params["entityTypeId"].as_u64().unwrap_or(0) as u32;
            return match state.items.get(&id) {
                Some(fields) => ("200 OK", json!({"result": {"fields": fields}})),
                None => not_found("Smart process not found"),
            };
        }
        if method == "crm.type.list" {
            let start = params["start"].as_u64().unwrap_or(0) as usize;
            let page: Vec<&Value> = state.types.iter().skip(start).take(50).collect();
            let mut reply = json!({"result": {"types": page}, "total": state.types.len()});
            if start + 50 < state.types.len() {
                reply["next"] = json!(start + 50);
            }
            return ("200 OK", reply);
        }
        let legacy = method
            .strip_prefix("crm.")
            .and_then(|m| m.strip_suffix(".fields"))
            .and_then(|e| state.legacy.get(e));
        match legacy {
            Some(fields) => ("200 OK", json!({"result": fields})),
            None => not_found("Method not found"),
        }
    }
}

#[test]
fn snapshot_by_entity_type_id_and_by_smart_process_title() {
    let portal = fake::Portal::standard();
    let dir = tempfile::tempdir().unwrap();
    let expected = read(workspace_root().join("codegen/tests/schemas/smart_process.json"));
    // By entity type id: crm.item.fields {entityTypeId: 1268}, the title from crm.type.list.
    let out = dir.path().join("projects.json");
    codegen(&[
        "snapshot",
        "--webhook",
        &portal.url,
        "--entity-type-id",
        "1268",
        "--out",
        path_arg(&out),
    ])
    .expect_exit(0)
    .expect_no_secret(CODE)
    .expect_stdout("dynamic_1268: 42 fields (8 user fields, 1 required)");
    assert!(
        read(&out) == expected,
        "the snapshot of smart process 1268 is the test schema:\n{}",
        read(&out)
    );
    // By title; the smart invoice by its entity type id.
    let by_title = dir.path().join("by_title.json");
    codegen(&[
        "snapshot",
        "--webhook",
        &portal.url,
        "--smart-process",
        "Проекты",
        "--out",
        path_arg(&by_title),
    ])
    .expect_exit(0)
    .expect_no_secret(CODE);
    assert!(read(&by_title) == expected);
    let invoice = dir.path().join("invoice.json");
    codegen(&[
        "snapshot",
        "--webhook",
        &portal.url,
        "--entity-type-id",
        "31",
        "--out",
        path_arg(&invoice),
    ])
    .expect_exit(0)
    .expect_no_secret(CODE);
    assert!(
        read(&invoice) == read(workspace_root().join("codegen/tests/schemas/smart_invoice.json"))
    );
    // What the portal does not have, and the legacy API of an item-only entity.
    codegen(&[
        "snapshot",
        "--webhook",
        &portal.url,
        "--smart-process",
        "Склад",
        "--out",
        path_arg(&dir.path().join("x.json")),
    ])
    .expect_exit(2)
    .expect_no_secret(CODE)
    .expect_stderr("no smart process titled \"Склад\"; its smart processes: \"Проекты\" (1268)");
    codegen(&[
        "snapshot",
        "--webhook",
        &portal.url,
        "--entity",
        "smart_invoice",
        "--api",
        "legacy",
        "--out",
        path_arg(&dir.path().join("x.json")),
    ])
    .expect_exit(2)
    .expect_stderr("smart_invoice exists only on crm.item.*");
    assert!(!dir.path().join("x.json").exists());
}

#[test]
fn smart_processes_are_found_on_every_page_of_crm_type_list() {
    let mut state = fake::State::default();
    for i in 0..120u32 {
        state.types.push(fake::smart_type(
            u64::from(i),
            1100 + i,
            &format!("Type {i}"),
        ));
    }
    state.types.push(fake::smart_type(500, 1500, "Проекты"));
    state.items.insert(
        1500,
        fake::fields_of("codegen/tests/schemas/smart_process.json"),
    );
    let portal = fake::Portal::start(state);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p.json");
    codegen(&[
        "snapshot",
        "--webhook",
        &portal.url,
        "--smart-process",
        "проекты",
        "--out",
        path_arg(&out),
    ])
    .expect_exit(0)
    .expect_no_secret(CODE);
    let snapshot = Snapshot::parse(&read(&out), &EntityInfo::deal()).unwrap();
    assert_eq!(
        snapshot.entity,
        EntityInfo::smart_process(1500, Some("Проекты".into()), Some(500)),
        "found on the third page (start 100), matched ignoring case"
    );
}

#[test]
fn snapshot_all_and_check_all_follow_every_entity() {
    let portal = fake::Portal::standard();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("portal");
    let snapshot_all = || {
        codegen(&[
            "snapshot",
            "--webhook",
            &portal.url,
            "--all",
            "--out",
            path_arg(&out),
        ])
    };
    let run = snapshot_all();
    run.expect_exit(0)
        .expect_no_secret(CODE)
        .expect_stdout("(7 entities) from http://127.0.0.1:");
    let index = bitrix_codegen::index::Index::read_dir(&out).unwrap();
    let listed: Vec<(&str, &str, &str)> = index
        .entries
        .iter()
        .map(|e| (e.entity.as_str(), e.file.as_str(), e.struct_name.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            ("deal", "deal.json", "Deal"),
            ("lead", "lead.json", "Lead"),
            ("contact", "contact.json", "Contact"),
            ("company", "company.json", "Company"),
            ("quote", "quote.json", "Quote"),
            ("smart_invoice", "smart_invoice.json", "SmartInvoice"),
            ("dynamic_1268", "dynamic_1268.json", "Proekty"),
        ]
    );
    for (file, fixture) in [
        ("lead.json", "codegen/tests/schemas/lead.json"),
        ("smart_process", "codegen/tests/schemas/smart_process.json"),
    ] {
        let file = if file == "smart_process" {
            "dynamic_1268.json"
        } else {
            file
        };
        assert!(
            read(out.join(file)) == read(workspace_root().join(fixture)),
            "{file}"
        );
    }
    codegen(&["check", "--webhook", &portal.url, "--all", path_arg(&out)])
        .expect_exit(0)
        .expect_no_secret(CODE)
        .expect_stdout("matches the portal 127.0.0.1");

    // A user field on leads, a new smart process, "Проекты" removed, and an entity the portal
    // cannot answer for: an error naming it (exit 2), without the webhook code.
    {
        let mut state = portal.state.lock().unwrap();
        let quote = state.legacy.remove("quote").unwrap();
        drop(state);
        codegen(&["check", "--webhook", &portal.url, "--all", path_arg(&out)])
            .expect_exit(2)
            .expect_no_secret(CODE)
            .expect_stderr(
                "quote: the portal answered HTTP 400 with error NOT_FOUND: Method not found (/rest/1/***/crm.quote.fields)",
            );
        portal
            .state
            .lock()
            .unwrap()
            .legacy
            .insert("quote".into(), quote);
    }
    {
        let mut state = portal.state.lock().unwrap();
        state.legacy.get_mut("lead").unwrap()["UF_CRM_1721244707107"] = json!({"type": "double", "isDynamic": true, "title": "UF_CRM_1721244707107", "formLabel": "Скидка"});
        state.types.clear();
        state.types.push(fake::smart_type(45, 1290, "Договоры"));
        state.items.insert(
            1290,
            fake::fields_of("codegen/tests/schemas/smart_invoice.json"),
        );
    }
    // "Проекты" is gone from crm.type.list (and its crm.item.fields): reported, not fetched.
    portal.state.lock().unwrap().items.remove(&1268);
    let index_before = read(out.join("index.json"));
    codegen(&["check", "--webhook", &portal.url, "--all", path_arg(&out)])
        .expect_exit(1)
        .expect_no_secret(CODE)
        .expect_stdout("lead.json (lead) has drifted from the portal:")
        .expect_stdout("+ UF_CRM_1721244707107: field added (double, \"Скидка\")")
        .expect_stdout(
            "+ smart process \"Договоры\" (entityTypeId 1290): on the portal, not in the index",
        )
        .expect_stdout(
            "- smart process \"Проекты\" (entityTypeId 1268): in the index, no longer on the portal",
        )
        .expect_stdout("3 drifted; refresh them with `bitrix-codegen snapshot --webhook <URL> --all --out");
    assert_eq!(
        read(out.join("index.json")),
        index_before,
        "check never writes"
    );

    // A new snapshot --all follows the portal: the removed one's file goes.
    snapshot_all()
        .expect_exit(0)
        .expect_stdout("removed ")
        .expect_stdout("dynamic_1290.json");
    assert!(!out.join("dynamic_1268.json").exists());
    let snapshot =
        Snapshot::parse(&read(out.join("dynamic_1290.json")), &EntityInfo::deal()).unwrap();
    assert_eq!(snapshot.entity.default_struct_name(), "Dogovory");
    codegen(&["check", "--webhook", &portal.url, "--all", path_arg(&out)])
        .expect_exit(0)
        .expect_no_secret(CODE);
}

/// `bitrix-codegen generate ... | head -1`: the reader goes away after one line; the program
/// ends quietly with success instead of panicking on the closed pipe.
#[test]
fn a_closed_stdout_pipe_ends_generate_with_a_clean_error() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let mut child = Command::new(BIN)
        .args(["generate", "--schema", "schemas/demo/deal.json"])
        .current_dir(workspace_root())
        .env_remove("BITRIX_WEBHOOK")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {BIN}: {e}"));
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("piped"))
        .read_line(&mut first)
        .expect("one line");
    // The reader is dropped here: the pipe is closed while the program still writes (the
    // generated file is far larger than a pipe buffer).
    let output = child.wait_with_output().expect("the program ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(first.starts_with("// @generated"), "{first}");
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(
        stderr.trim(),
        "error: stdout was closed before the output was complete (broken pipe)"
    );
}

/// `snapshot --all` of the emulated demo portal, then `check --all` after a user field is added
/// to one entity at a time and after a new smart process appears: each is drift (exit 1) that
/// names the entity, and the unchanged portal is not.
#[test]
fn check_all_catches_a_user_field_added_to_any_entity_on_the_emulator() {
    let portal = Portal::start(None);
    let url = portal.webhook();
    let (_dir, out_arg) = portal.snapshot_all();
    let out = Path::new(&out_arg);
    for file in [
        "deal.json",
        "lead.json",
        "contact.json",
        "company.json",
        "quote.json",
        "smart_invoice.json",
        "dynamic_153.json",
        "dynamic_1220.json",
        "index.json",
    ] {
        assert!(out.join(file).exists(), "{file} written");
    }
    let check = || codegen(&["check", "--webhook", &url, "--all", &out_arg]);
    let run = check();
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);

    for (i, entity) in ["lead", "contact", "company", "quote"]
        .into_iter()
        .enumerate()
    {
        portal.call(
            &format!("crm.{entity}.userfield.add"),
            json!({"fields": {"FIELD_NAME": format!("DRIFT_{i}"), "USER_TYPE_ID": "string", "EDIT_FORM_LABEL": "Новое поле"}}),
        );
        let run = check();
        assert_eq!(run.code, Some(1), "{entity}: {}{}", run.stdout, run.stderr);
        let code = format!("UF_CRM_DRIFT_{i}");
        assert!(
            run.stdout.contains(&code) && run.stdout.contains(&format!("{entity}.json")),
            "{entity}: {}",
            run.stdout
        );
        // Take it in again, so the next entity's field is the only drift.
        let run = codegen(&["snapshot", "--webhook", &url, "--all", "--out", &out_arg]);
        assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    }

    portal.call(
        "crm.type.add",
        json!({"fields": {"title": "Поставки", "entityTypeId": 1300}}),
    );
    let run = check();
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("Поставки") && run.stdout.contains("1300"),
        "{}",
        run.stdout
    );
    assert!(!format!("{}{}", run.stdout, run.stderr).contains(CODE));
}

/// `snapshot --all` records each entity's pipelines, stages and dictionaries (format version
/// 3); `check --all` then reports a stage added on the portal, a renamed stage, a removed
/// stage and a renamed pipeline as drift (exit 1) naming them, and the unchanged portal as no
/// drift.
#[test]
fn check_all_catches_stages_added_renamed_removed_and_a_pipeline_renamed_on_the_emulator() {
    let portal = Portal::start(None);
    let url = portal.webhook();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("acme");
    let out_arg = path_arg(&out).to_owned();
    let snapshot = || {
        let run = codegen(&["snapshot", "--webhook", &url, "--all", "--out", &out_arg]);
        assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    };
    snapshot();
    let deal: Value = serde_json::from_str(&read(out.join("deal.json"))).unwrap();
    assert_eq!(deal["format_version"], 3);
    let pipelines = deal["pipelines"].as_array().unwrap();
    assert!(pipelines.len() >= 2, "{pipelines:?}");
    assert_eq!(pipelines[0]["stages"][0]["STATUS_ID"], "NEW");
    assert!(
        deal["dictionaries"]["SOURCE"]
            .as_array()
            .is_some_and(|s| !s.is_empty())
    );
    let check = || codegen(&["check", "--webhook", &url, "--all", &out_arg]);
    let run = check();
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);

    let added = portal.call(
        "crm.status.add",
        json!({"fields": {"ENTITY_ID": "DEAL_STAGE_1", "STATUS_ID": "REVIEW", "NAME": "Проверка", "SORT": 25}}),
    );
    let run = check();
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("+ stage C1:REVIEW \"Проверка\" added to pipeline 1")
            && run.stdout.contains("deal.json"),
        "{}",
        run.stdout
    );
    snapshot();
    assert_eq!(check().code, Some(0));

    portal.call(
        "crm.status.update",
        json!({"id": added["result"], "fields": {"NAME": "Экспертиза"}}),
    );
    let run = check();
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("~ stage C1:REVIEW of pipeline 1 renamed \"Проверка\" -> \"Экспертиза\""),
        "{}",
        run.stdout
    );
    portal.call("crm.status.delete", json!({"id": added["result"]}));
    portal.call(
        "crm.category.update",
        json!({"entityTypeId": 2, "id": 1, "fields": {"name": "Партнёры"}}),
    );
    let run = check();
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("- stage C1:REVIEW \"Проверка\" removed from pipeline 1")
            && run
                .stdout
                .contains("~ pipeline 1 renamed \"Дилеры\" -> \"Партнёры\""),
        "{}",
        run.stdout
    );
    assert!(!format!("{}{}", run.stdout, run.stderr).contains(CODE));
}

#[test]
fn every_subcommand_has_help_with_an_example() {
    for command in ["snapshot", "generate", "check", "diff"] {
        let run = codegen(&["help", command]);
        assert_eq!(run.code, Some(0), "help {command}: {}", run.stderr);
        assert!(
            run.stdout.contains("Example")
                && run.stdout.contains(&format!("bitrix-codegen {command} ")),
            "`bitrix-codegen help {command}` shows no example:\n{}",
            run.stdout
        );
    }
}

/// `watch` reports drift as it happens: a clean first round, then a user field added on the
/// portal while it runs shows up once (not again on later rounds), then deleting it again is
/// reported as resolved; `--rounds` ends it with exit code 0 because the portal matches.
#[test]
fn watch_reports_a_user_field_as_it_appears_and_goes_away() {
    use std::process::Stdio;

    let portal = Portal::start(None);
    let url = portal.webhook();
    let (_dir, out_arg) = portal.snapshot_all();

    let mut child = Command::new(BIN)
        .args([
            "watch",
            "--all",
            &out_arg,
            "--interval",
            "1",
            "--rounds",
            "8",
        ])
        .env("BITRIX_WEBHOOK", &url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("watch starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    let mut wait_for = |needle: &str| loop {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("watch ended before {needle:?}: {seen:#?}"))
            .expect("stdout reads");
        seen.push(line.clone());
        if line.contains(needle) {
            return seen.clone();
        }
    };
    wait_for("matches the portal");
    let added = portal.call(
        "crm.lead.userfield.add",
        json!({"fields": {"FIELD_NAME": "WATCHED", "USER_TYPE_ID": "string", "EDIT_FORM_LABEL": "Поле"}}),
    );
    let seen_now = wait_for("UF_CRM_WATCHED");
    assert!(
        seen_now
            .iter()
            .any(|l| l.contains("drift: ") && l.contains("lead.json")),
        "{seen_now:#?}"
    );
    portal.call(
        "crm.lead.userfield.delete",
        json!({"id": added["result"].clone()}),
    );
    let seen_now = wait_for("matches the portal again");
    let status = child.wait().expect("watch ends");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let drift_lines = seen_now.iter().filter(|l| l.contains("drift")).count();
    assert_eq!(drift_lines, 1, "the drift is reported once: {seen_now:#?}");
    assert_eq!(status.code(), Some(0), "{seen_now:#?}\n{stderr}");
    assert!(!stderr.contains(CODE) && !seen_now.iter().any(|l| l.contains(CODE)));
}

/// A portal that refuses requests for its rate limit (a bucket of 3, drained 4 per second):
/// `snapshot --all` (about twenty reads) waits and asks again instead of failing with
/// `QUERY_LIMIT_EXCEEDED`, and writes every file.
#[test]
fn snapshot_waits_out_the_rate_limit_instead_of_failing() {
    let portal = Portal::start(None);
    portal
        .emulator()
        .set_limits(bitrix_emulator::Limits::Custom {
            capacity: 3,
            drain_per_sec: 4.0,
        });
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("acme");
    let run = codegen(&[
        "snapshot",
        "--webhook",
        &portal.webhook(),
        "--all",
        "--out",
        path_arg(&out),
    ]);
    run.expect_exit(0).expect_no_secret(CODE);
    assert!(out.join("deal.json").exists() && out.join("index.json").exists());
    let refused = portal.emulator().counters().refused_query_limit;
    assert!(
        refused > 0,
        "the bucket of 3 refused nothing: the test proves nothing"
    );
}
