//! Runs the quickstart binary: on its embedded emulator (the README's first command), against a
//! "real" portal given by `BITRIX_WEBHOOK` (here a second emulator with other fields, so no
//! network is needed), and against an unreachable portal.

use std::process::{Command, Output};

use bitrix_emulator::{Config, Emulator};

const BIN: &str = env!("CARGO_BIN_EXE_quickstart");

fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// An emulated portal standing in for "your" portal, served by its own tokio runtime.
struct Portal {
    runtime: tokio::runtime::Runtime,
    emulator: Option<Emulator>,
}

impl Portal {
    fn start(config: Config) -> Self {
        let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
        let emulator = runtime
            .block_on(Emulator::start(config))
            .expect("the emulator starts");
        Portal {
            runtime,
            emulator: Some(emulator),
        }
    }

    fn emulator(&self) -> &Emulator {
        self.emulator
            .as_ref()
            .expect("the emulator runs until the portal is dropped")
    }

    /// Runs the quickstart with `BITRIX_WEBHOOK` pointing at this portal.
    fn run(&self, args: &[&str]) -> (Output, String, String) {
        quickstart(args, Some(&self.emulator().webhook_url()))
    }
}

/// Runs the quickstart binary with `BITRIX_WEBHOOK` set to `webhook`, or unset (the embedded
/// emulator); returns the output and its stdout and stderr as text.
fn quickstart(args: &[&str], webhook: Option<&str>) -> (Output, String, String) {
    let mut command = Command::new(BIN);
    command.args(args);
    match webhook {
        Some(url) => command.env("BITRIX_WEBHOOK", url),
        None => command.env_remove("BITRIX_WEBHOOK"),
    };
    let output = command.output().expect("the quickstart runs");
    let (stdout, stderr) = text(&output);
    (output, stdout, stderr)
}

impl Drop for Portal {
    fn drop(&mut self) {
        if let Some(emulator) = self.emulator.take() {
            self.runtime.block_on(emulator.shutdown());
        }
    }
}

fn assert_lines(stdout: &str, expected: &[&str]) {
    for line in expected {
        assert!(
            stdout.contains(line),
            "the output lacks {line:?}:\n{stdout}"
        );
    }
}

#[test]
fn the_emulated_pipeline_passes_every_step() {
    let (output, stdout, stderr) = quickstart(&["--deals", "300"], None);
    assert!(
        output.status.success(),
        "exit {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    assert_lines(
        &stdout,
        &[
            "with the demo portal's 80 fields and 300 seeded deals",
            "crm.deal.userfield.add UF_CRM_QUICKSTART_NOTE (string) -> user field id",
            "crm.deal.userfield.add UF_CRM_QUICKSTART_PRIORITY (enumeration with items Низкий, Средний, Высокий)",
            "deal: 82 fields (34 user fields, 1 required)",
            "2 difference(s), 2 of them change the generated types:",
            "+ UF_CRM_QUICKSTART_NOTE: field added (string, \"Заметка (quickstart)\")",
            "+ UF_CRM_QUICKSTART_PRIORITY: field added (enumeration, \"Приоритет (quickstart)\")",
            "required: sales_channel (UF_CRM_1721244590123, enumeration)",
            "DealSalesChannel { Website, ColdCall, Referral, Innoprom }",
            "DealUfCrmQuickstartPriority { Nizkiy, Sredniy, Vysokiy }",
            "sent crm.deal.add fields {\"TITLE\":\"Поставка оборудования (quickstart)\"",
            "\"UF_CRM_1721244590123\":\"3476\"",
            "created deals 301, 302, 303",
            "sales_channel   Website (Сайт)",
            "client_budget   1500000|RUB",
            "\"COMMENTS\":\"\"",
            "extra: UF_CRM_QUICKSTART_NOTE, UF_CRM_QUICKSTART_PRIORITY",
            "\"@UF_CRM_1721244590123\":[\"3476\",\"3480\"]",
            "exported 303 deals in",
            "2 HTTP requests for 5 commands: one read of the pipeline the stage needs, then the batch",
            "crm.company.add -> company ",
            "crm.contact.add -> contact ",
            "linked to both",
            "reads them back: phone +7 916 000-11-22 (MOBILE), contactIds [ContactId(",
            "crm.item.add (entityTypeId 1220) -> \"Проекты\" item ",
            "deleted again (the contact and the company through crm.item.delete)",
            "deleted 5 deal(s)",
            "crm.deal.userfield.delete UF_CRM_QUICKSTART_PRIORITY",
            "no drift: the snapshots describe the same fields",
            "Summary",
            "the emulator served ",
            // Five deals of the deal steps, one linked to a company and a contact.
            "crm.deal.add 6, crm.deal.delete 6,",
            "crm.item.add 1, crm.item.delete 3, crm.item.get 3",
            "crm.deal.userfield.add 2, crm.deal.userfield.delete 2",
            "refused for the rate limit (503 QUERY_LIMIT_EXCEEDED): 0; for the operating limit (429): 0",
            "All steps passed.",
        ],
    );
    // The emulator's default webhook code never shows.
    assert!(!stdout.contains("k3m9x2p7q4w8z1v5"), "{stdout}");
    assert!(stdout.contains("/rest/1/***/"), "{stdout}");
}

#[test]
fn a_real_portal_gets_the_portable_steps_and_is_left_as_found() {
    // Another portal than the demo: the seed documentation's fields, no required user field.
    let portal = Portal::start(Config {
        webhook_code: "realportalsecret42".to_owned(),
        ..Config::default().with_seed_portal().with_deals(120)
    });
    let fields_before = portal.emulator().fields();

    let (output, stdout, stderr) = portal.run(&["--create-fields"]);
    assert!(
        output.status.success(),
        "exit {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    assert_lines(
        &stdout,
        &[
            "your portal http://127.0.0.1:",
            "crm.deal.userfield.add UF_CRM_QS_NOTE_",
            "crm.deal.userfield.add UF_CRM_QS_PRIORITY_",
            "deal: 49 fields (3 user fields, 0 required)",
            "(your portal is not the demo portal)",
            "typed CRUD on user fields needs types generated from your portal's own snapshot",
            "120 deals on the portal; the newest:",
            "#120",
            "sent crm.deal.add {\"fields\":{\"TITLE\":\"bitrix24-typed quickstart (safe to delete)\"",
            "came back #121",
            "bitrix24-typed quickstart (safe to delete) - updated",
            "deleted 1 deal(s)",
            "crm.deal.userfield.delete UF_CRM_QS_PRIORITY_",
            "All steps passed.",
        ],
    );
    let secret = "realportalsecret42";
    assert!(!stdout.contains(secret), "{stdout}");
    assert!(!stderr.contains(secret), "{stderr}");
    // The run deleted its deal and its user fields.
    assert_eq!(portal.emulator().deal_count(), 120);
    assert_eq!(portal.emulator().fields(), fields_before);
}

#[test]
fn a_real_portal_without_create_fields_keeps_its_fields() {
    let portal = Portal::start(Config::default().with_seed_portal());
    let (output, stdout, stderr) = portal.run(&[]);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert_lines(
        &stdout,
        &[
            "skipped on your portal: pass --create-fields",
            "0 deals on the portal",
            "All steps passed.",
        ],
    );
    assert_eq!(
        portal
            .emulator()
            .counters()
            .method("crm.deal.userfield.add"),
        0,
        "no user field is created without --create-fields"
    );
    assert_eq!(portal.emulator().deal_count(), 0);
}

#[test]
fn a_portal_with_required_fields_skips_the_write_round_trip() {
    // The demo portal as "your" portal: its channel field is required.
    let portal = Portal::start(Config::default());
    let (output, stdout, stderr) = portal.run(&[]);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert_lines(
        &stdout,
        &[
            "no drift: the snapshots describe the same fields",
            "skipped: your portal requires UF_CRM_1721244590123 (Канал продаж)",
            "All steps passed.",
        ],
    );
    assert_eq!(portal.emulator().counters().method("crm.deal.add"), 0);
}

#[test]
fn an_unreachable_portal_fails_with_a_clear_message_and_no_secret() {
    // Port 9 on loopback: nothing listens there, the connection is refused at once.
    let (output, stdout, stderr) =
        quickstart(&[], Some("http://127.0.0.1:9/rest/1/unreachablecode77/"));
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("quickstart failed: step 3 (Snapshot the portal with the codegen library): cannot reach the portal 127.0.0.1"),
        "{stderr}"
    );
    assert!(stderr.contains("127.0.0.1"), "{stderr}");
    assert!(!stdout.contains("unreachablecode77"), "{stdout}");
    assert!(!stderr.contains("unreachablecode77"), "{stderr}");
}

#[test]
fn bad_arguments_exit_2_with_the_usage() {
    let (output, _, stderr) = quickstart(&["--deals", "many"], None);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--deals needs a number"), "{stderr}");
    assert!(stderr.contains("usage: quickstart"), "{stderr}");
}

#[test]
fn a_wrong_webhook_code_is_reported_as_such() {
    let portal = Portal::start(Config::default().with_seed_portal());
    let wrong = format!("{}/rest/1/wrongcode314/", portal.emulator().base_url());
    for args in [&[][..], &["--create-fields"][..]] {
        let (output, stdout, stderr) = quickstart(args, Some(&wrong));
        assert_eq!(
            output.status.code(),
            Some(1),
            "{args:?}\n{stdout}\n{stderr}"
        );
        // The codegen library (snapshot) and the runtime client (userfield.add) both say
        // that the portal refused the webhook, without showing the code.
        assert!(stderr.contains("INVALID_CREDENTIALS"), "{args:?}\n{stderr}");
        assert!(!stdout.contains("wrongcode314"), "{stdout}");
        assert!(!stderr.contains("wrongcode314"), "{stderr}");
    }
    assert_eq!(portal.emulator().counters().auth_failures, 2);
}
