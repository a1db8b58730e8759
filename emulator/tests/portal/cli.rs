//! The binary: prints the webhook URL as the first line of stdout and serves it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use crate::common::*;
use serde_json::json;

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(args: &[&str]) -> (Running, Vec<String>, usize) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bitrix-emulator"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let want = if args.contains(&"--print-oauth") {
        2
    } else {
        1
    };
    let mut out = Vec::new();
    for _ in 0..want {
        out.push(lines.next().expect("a line").expect("utf-8"));
    }
    (Running(child), out, want)
}

#[tokio::test]
async fn prints_the_webhook_url_first_and_serves_it() {
    let (_child, lines, _) = spawn(&[
        "--port",
        "0",
        "--deals",
        "120",
        "--limits",
        "regular",
        "--seed",
        "5",
        "--faults",
        "crm.deal.delete:500=1",
        "--print-oauth",
    ]);
    let url = &lines[0];
    assert!(
        url.starts_with("http://127.0.0.1:") && url.contains("/rest/1/") && url.ends_with('/'),
        "{url}"
    );
    let c = client();
    let r = post_json(&c, url, "crm.deal.list", &json!({"select": ["ID"]})).await;
    assert_eq!(r.json["total"], 120);
    post_json(&c, url, "crm.deal.delete", &json!({"id": 1}))
        .await
        .assert_error(500, "INTERNAL_SERVER_ERROR", "Internal server error");
    let oauth: serde_json::Value = serde_json::from_str(&lines[1]).unwrap();
    // What event receivers verify `auth[application_token]` against.
    let token = oauth["application_token"].as_str().unwrap_or_default();
    assert!(
        token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit()),
        "{oauth}"
    );
    assert_ne!(oauth["application_token"], oauth["client_secret"]);
    let rest = oauth["client_endpoint"].as_str().unwrap();
    let r = post_json(
        &c,
        rest,
        "crm.deal.get",
        &json!({"id": 7, "auth": oauth["access_token"]}),
    )
    .await;
    assert_eq!(r.ok()["ID"], "7");
}

#[tokio::test]
async fn fields_file_makes_the_portal_those_fields() {
    let dir = std::env::temp_dir().join(format!("bitrix-emulator-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("fields.json");
    // A raw crm.deal.fields response, as saved from a real portal.
    let fields = fixture_json("seed/crm.deal.fields.response.json");
    std::fs::write(&path, fields.to_string()).unwrap();
    let (_child, lines, _) = spawn(&[
        "--port",
        "0",
        "--fields",
        path.to_str().unwrap(),
        "--deals",
        "10",
    ]);
    let c = client();
    let got = post_json(&c, &lines[0], "crm.deal.fields", &json!({})).await;
    assert_eq!(got.ok(), &fields["result"]);
    let deal = post_json(&c, &lines[0], "crm.deal.get", &json!({"id": 3})).await;
    assert!(deal.ok().get("UF_CRM_1721244482250").is_none());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_arguments_say_how_to_fix_them() {
    let out = Command::new(env!("CARGO_BIN_EXE_bitrix-emulator"))
        .args(["--faults", "404=0.1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("use 503"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_bitrix-emulator"))
        .args(["--fields", "/nonexistent/fields.json", "--port", "0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read the fields file"));
    let help = Command::new(env!("CARGO_BIN_EXE_bitrix-emulator"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("drop-after") && help.contains("--deals"),
        "{help}"
    );
}

#[tokio::test]
async fn seeds_every_entity_from_the_flags() {
    let dir = std::env::temp_dir().join(format!("emu-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("lead.json");
    std::fs::write(
        &file,
        json!({"result": {
            "ID": {"type": "integer", "isReadOnly": true, "title": "ID"},
            "TITLE": {"type": "string", "title": "Title"}
        }})
        .to_string(),
    )
    .unwrap();
    let lead_fields = format!("1={}", file.display());
    let (_child, lines, _) = spawn(&[
        "--port",
        "0",
        "--deals",
        "5",
        "--companies",
        "2",
        "--contacts",
        "3",
        "--quotes",
        "1",
        "--items",
        "1220=6",
        "--items",
        "153=2",
        "--entity-fields",
        &lead_fields,
        "--leads",
        "4",
    ]);
    let url = &lines[0];
    let c = client();
    for (method, body, total) in [
        ("crm.company.list", json!({}), 2),
        ("crm.contact.list", json!({}), 3),
        ("crm.lead.list", json!({}), 4),
        ("crm.quote.list", json!({}), 1),
        ("crm.item.list", json!({"entityTypeId": 1220}), 6),
        ("crm.item.list", json!({"entityTypeId": 153}), 2),
    ] {
        let r = post_json(&c, url, method, &body).await;
        r.ok();
        assert_eq!(r.json["total"], total, "{method} {body}");
    }
    let fields = post_json(&c, url, "crm.lead.fields", &json!({})).await;
    let keys: Vec<&String> = fields.ok().as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["ID", "TITLE"],
        "--entity-fields 1=FILE replaces the lead fields"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
