//! A plain HTTP client for the conformance tests: what curl or a PHP script would send. It
//! shares nothing with `bitrix-runtime` on purpose.
#![allow(dead_code)]

use reqwest::Client;
use serde_json::{Map, Value};

/// An answer: HTTP status, raw body, and the body as JSON when it is JSON.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub text: String,
    pub json: Value,
}

impl Answer {
    /// The `result` member.
    pub fn result(&self) -> &Value {
        &self.json["result"]
    }

    /// Asserts a 200 answer with a `time` block and returns `result`.
    pub fn ok(&self) -> &Value {
        assert_eq!(
            self.status, 200,
            "expected 200, got {}: {}",
            self.status, self.text
        );
        assert_time_block(&self.json["time"]);
        self.result()
    }

    /// Asserts an error answer.
    pub fn assert_error(&self, status: u16, code: &str, description: &str) {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(self.json["error"], code, "{}", self.text);
        assert_eq!(self.json["error_description"], description, "{}", self.text);
    }
}

/// A client.
pub fn client() -> Client {
    Client::builder()
        .pool_max_idle_per_host(16)
        .build()
        .expect("reqwest client")
}

async fn finish(resp: reqwest::Response) -> Answer {
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer { status, text, json }
}

/// POST a JSON body to `{base}{method}` (base ends with `/`).
pub async fn post_json(c: &Client, base: &str, method: &str, body: &Value) -> Answer {
    let resp = c
        .post(format!("{base}{method}"))
        .header("Content-Type", "application/json")
        .header("Accept", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("request sent");
    finish(resp).await
}

/// `crm.deal.add` with these fields; returns the new id (the call must succeed).
pub async fn add_deal(c: &Client, base: &str, fields: Value) -> u64 {
    post_json(
        c,
        base,
        "crm.deal.add",
        &serde_json::json!({ "fields": fields }),
    )
    .await
    .ok()
    .as_u64()
    .expect("crm.deal.add answers an integer id")
}

/// POST a raw JSON text (exactly what curl -d sends).
pub async fn post_raw_json(c: &Client, base: &str, method: &str, body: &str) -> Answer {
    let resp = c
        .post(format!("{base}{method}"))
        .header("Content-Type", "application/json")
        .header("Accept", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("request sent");
    finish(resp).await
}

/// POST a form-encoded body.
pub async fn post_form(c: &Client, base: &str, method: &str, body: &str) -> Answer {
    let resp = c
        .post(format!("{base}{method}"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body.to_owned())
        .send()
        .await
        .expect("request sent");
    finish(resp).await
}

/// GET with a query string.
pub async fn get(c: &Client, base: &str, method: &str, query: &str) -> Answer {
    let url = if query.is_empty() {
        format!("{base}{method}")
    } else {
        format!("{base}{method}?{query}")
    };
    finish(c.get(url).send().await.expect("request sent")).await
}

/// PHP `http_build_query` of a JSON value (nested keys, lists with indexes).
pub fn http_build_query(v: &Value) -> String {
    let mut pairs = Vec::new();
    if let Value::Object(m) = v {
        for (k, v) in m {
            flatten(k.clone(), v, &mut pairs);
        }
    }
    pairs
        .into_iter()
        .map(|(k, v)| format!("{}={}", enc(&k), enc(&v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn flatten(prefix: String, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                flatten(format!("{prefix}[{k}]"), v, out);
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                flatten(format!("{prefix}[{i}]"), v, out);
            }
        }
        Value::String(s) => out.push((prefix, s.clone())),
        Value::Bool(b) => out.push((prefix, if *b { "1".into() } else { "0".into() })),
        Value::Null => out.push((prefix, String::new())),
        Value::Number(n) => out.push((prefix, n.to_string())),
    }
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The shape class of a JSON value.
pub fn shape(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Compares an answer with a documented example: the same keys in the same order (the answer
/// may have extra keys listed in `extra_ok`), the same shape per value, recursively; strings
/// that look like ISO datetimes must look like ISO datetimes, numeric strings like numeric
/// strings.
pub fn assert_same_shape(doc: &Value, got: &Value, path: &str, extra_ok: &[&str]) {
    assert_eq!(
        shape(doc),
        shape(got),
        "{path}: documented {doc} but got {got}"
    );
    match (doc, got) {
        (Value::Object(d), Value::Object(g)) => {
            let dk: Vec<&String> = d.keys().collect();
            let gk: Vec<&String> = g
                .keys()
                .filter(|k| !extra_ok.contains(&k.as_str()))
                .collect();
            assert_eq!(dk, gk, "{path}: keys differ");
            for (k, dv) in d {
                assert_same_shape(dv, &g[k], &format!("{path}.{k}"), extra_ok);
            }
        }
        (Value::Array(d), Value::Array(g)) => {
            if let (Some(first), false) = (d.first(), g.is_empty()) {
                for (i, gv) in g.iter().enumerate() {
                    assert_same_shape(first, gv, &format!("{path}[{i}]"), extra_ok);
                }
            }
        }
        (Value::String(d), Value::String(g)) => {
            assert_eq!(
                looks_like_datetime(d),
                looks_like_datetime(g),
                "{path}: documented {d:?} but got {g:?}"
            );
            let numeric = |s: &str| !s.is_empty() && s.parse::<f64>().is_ok();
            assert_eq!(
                numeric(d),
                numeric(g),
                "{path}: documented {d:?} but got {g:?}"
            );
        }
        _ => {}
    }
}

/// `2024-08-30T02:00:00+02:00`.
pub fn looks_like_datetime(s: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(s).is_ok()
}

/// Asserts the documented `time` block.
pub fn assert_time_block(t: &Value) {
    let Value::Object(m) = t else {
        panic!("no time block: {t}");
    };
    for k in [
        "start",
        "finish",
        "duration",
        "processing",
        "operating",
        "operating_reset_at",
    ] {
        assert!(
            m.get(k).is_some_and(Value::is_number),
            "time.{k} missing or not a number: {t}"
        );
    }
    for k in ["date_start", "date_finish"] {
        assert!(
            m.get(k)
                .and_then(Value::as_str)
                .is_some_and(looks_like_datetime),
            "time.{k} is not an ISO datetime: {t}"
        );
    }
}

/// A fixture file of `tests/fixtures`.
pub fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// A JSON fixture.
pub fn fixture_json(name: &str) -> Value {
    serde_json::from_str(&fixture(name)).expect("fixture is JSON")
}

/// An object from a `json!` literal.
pub fn obj(v: Value) -> Map<String, Value> {
    v.as_object().expect("an object").clone()
}

/// Sends `head` and then `chunks` on a raw connection and returns everything the server
/// answered until it closed the connection (or 10 s passed, which fails the test).
pub async fn raw_exchange(
    emu: &bitrix_emulator::Emulator,
    head: String,
    chunks: &[Vec<u8>],
) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(emu.addr()).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    for chunk in chunks {
        // The server may answer and close before the whole body is sent.
        if stream.write_all(chunk).await.is_err() {
            break;
        }
    }
    let mut answer = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut answer),
    )
    .await;
    assert!(read.is_ok(), "the server kept the connection open");
    String::from_utf8_lossy(&answer).into_owned()
}

pub fn webhook_path(emu: &bitrix_emulator::Emulator) -> String {
    let url = emu.webhook_url();
    url[url.find("/rest/").unwrap()..].to_owned()
}

/// A started emulator with a client and its webhook URL: `s.call(method, body)`.
pub struct Session {
    pub emu: bitrix_emulator::Emulator,
    pub client: Client,
    pub url: String,
}

impl Session {
    /// Starts an emulator with `config`.
    pub async fn start(config: bitrix_emulator::Config) -> Session {
        let emu = bitrix_emulator::Emulator::start(config)
            .await
            .expect("the emulator starts");
        let url = emu.webhook_url();
        Session {
            emu,
            client: client(),
            url,
        }
    }

    /// POSTs `body` as JSON to the method.
    pub async fn call(&self, method: &str, body: Value) -> Answer {
        post_json(&self.client, &self.url, method, &body).await
    }

    /// The `STATUS_ID`s `crm.status.list` gives for one directory, in order.
    pub async fn status_ids(&self, entity_id: &str) -> Vec<String> {
        let a = self
            .call(
                "crm.status.list",
                serde_json::json!({"filter": {"ENTITY_ID": entity_id}}),
            )
            .await;
        a.ok()
            .as_array()
            .expect("a list")
            .iter()
            .map(|r| r["STATUS_ID"].as_str().expect("a STATUS_ID").to_owned())
            .collect()
    }

    /// Calls a method that must succeed and answers an id (`crm.lead.add`, ...).
    pub async fn add(&self, method: &str, fields: Value) -> u64 {
        let a = self
            .call(method, serde_json::json!({ "fields": fields }))
            .await;
        a.ok()
            .as_u64()
            .unwrap_or_else(|| panic!("{method} answers an id: {}", a.text))
    }
}
