//! `Config::with_state` / `--state FILE`: a portal started again with the same state file has
//! the records, user fields, pipelines, smart-process items and OAuth tokens of the last one,
//! with the same ids and dates; a portal configured otherwise refuses the file.

use bitrix_emulator::{Config, Emulator};
use serde_json::{Value, json};

use crate::common::Session;

/// The demo portal's required enumeration user field ("Канал продаж").
const CHANNEL: &str = "UF_CRM_1721244590123";

/// Everything the test compares across the restart.
async fn contents(s: &Session) -> Value {
    let mut out = serde_json::Map::new();
    for (name, method, params) in [
        (
            "deals",
            "crm.deal.list",
            json!({"select": ["*", "UF_*"], "order": {"ID": "ASC"}}),
        ),
        ("user fields", "crm.deal.userfield.list", json!({})),
        ("deal fields", "crm.deal.fields", json!({})),
        ("items", "crm.item.list", json!({"entityTypeId": 1220})),
        ("pipelines", "crm.category.list", json!({"entityTypeId": 2})),
        ("contacts", "crm.contact.list", json!({"select": ["*"]})),
    ] {
        out.insert(name.into(), s.call(method, params).await.ok().clone());
    }
    Value::Object(out)
}

/// Calls `method` as the OAuth application (`event.*` refuses the webhook).
async fn call_as_app(
    s: &Session,
    app: &bitrix_emulator::OAuthApp,
    method: &str,
    mut body: Value,
) -> Value {
    body["auth"] = json!(app.access_token);
    let url = format!("{}{method}", app.client_endpoint);
    let answer = s.client.post(url).json(&body).send().await.unwrap();
    answer.json().await.unwrap()
}

/// A state file path of this test process that does not exist yet.
fn fresh_state_file(tag: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!(
        "bitrix-emulator-state-{tag}-test-{}.jsonl",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&path);
    path
}

#[tokio::test]
async fn a_restarted_portal_has_the_data_ids_dates_and_tokens_of_the_last_one() {
    let path = fresh_state_file("data");
    let config = || Config::default().with_deals(30).with_state(&path);

    let s = Session::start(config()).await;
    let id = |a: &crate::common::Answer| a.ok().as_u64().expect("an id");
    let first = id(&s
        .call(
            "crm.deal.add",
            json!({"fields": {"TITLE": "Сохранится", "OPPORTUNITY": 1500, CHANNEL: 3476}}),
        )
        .await);
    s.call(
        "crm.deal.update",
        json!({"id": 3, "fields": {"TITLE": "Изменена"}}),
    )
    .await
    .ok();
    s.call("crm.deal.delete", json!({"id": 5})).await.ok();
    s.call(
        "crm.deal.userfield.add",
        json!({"fields": {"FIELD_NAME": "KEPT", "USER_TYPE_ID": "string", "EDIT_FORM_LABEL": "Поле"}}),
    )
    .await
    .ok();
    s.call(
        "crm.category.add",
        json!({"entityTypeId": 2, "fields": {"name": "Сохранённая воронка"}}),
    )
    .await
    .ok();
    s.call(
        "crm.item.add",
        json!({"entityTypeId": 1220, "fields": {"title": "Проект"}}),
    )
    .await
    .ok();
    // A batch: its commands are kept one by one, with the reference resolved.
    let batch = s
        .call(
            "batch",
            json!({"halt": 1, "cmd": {
                "c": "crm.contact.add?fields[NAME]=Иван&fields[SECOND_NAME]=Петрович&fields[LAST_NAME]=Иванов",
                "d": "crm.deal.add?fields[TITLE]=Со ссылкой&fields[UF_CRM_1721244590123]=3476&fields[CONTACT_ID]=$result[c]",
            }}),
        )
        .await;
    assert_eq!(batch.ok()["result_error"], json!([]), "{}", batch.text);
    // An OAuth refresh: the new pair must survive too.
    let app = s.emu.oauth();
    assert_eq!(refresh(&s, &app, &app.refresh_token).await, 200);
    let tokens = s.emu.oauth();
    assert_ne!(tokens.refresh_token, app.refresh_token);
    // An offline binding (OAuth only) and a change it queues survive too.
    let as_app = |method: &'static str, body: Value| call_as_app(&s, &tokens, method, body);
    let bound = as_app(
        "event.bind",
        json!({"event": "ONCRMDEALUPDATE", "event_type": "offline"}),
    )
    .await;
    assert_eq!(bound["result"], json!(true), "{bound}");
    s.call(
        "crm.deal.update",
        json!({"id": 4, "fields": {"TITLE": "В очереди"}}),
    )
    .await
    .ok();
    let queued_before = as_app("event.offline.list", json!({})).await["result"].clone();
    assert_eq!(
        queued_before.as_array().map(Vec::len),
        Some(1),
        "{queued_before}"
    );
    let before = contents(&s).await;
    s.emu.shutdown().await;

    // Later: dates made again now would differ.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let s = Session::start(config()).await;
    let after = contents(&s).await;
    for key in before.as_object().unwrap().keys() {
        assert_eq!(after[key], before[key], "{key} differ after the restart");
    }
    let again = s.emu.oauth();
    let as_app = |method: &'static str, body: Value| call_as_app(&s, &again, method, body);
    let bindings = as_app("event.get", json!({})).await;
    assert_eq!(
        bindings["result"][0]["event"], "ONCRMDEALUPDATE",
        "the binding survives: {bindings}"
    );
    let queued = as_app("event.offline.list", json!({})).await["result"].clone();
    assert_eq!(queued, queued_before, "the offline queue survives");
    assert_eq!(
        (&again.access_token, &again.refresh_token),
        (&tokens.access_token, &tokens.refresh_token),
        "the refreshed token pair survives"
    );
    let answer = s
        .client
        .post(format!("{}crm.deal.get", again.client_endpoint))
        .json(&json!({"id": first, "auth": again.access_token}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "the kept access token works");
    // New records get new ids, never one of the old ones.
    let next = id(&s
        .call(
            "crm.deal.add",
            json!({"fields": {"TITLE": "Новая", CHANNEL: 3476}}),
        )
        .await);
    assert!(next > first + 1, "{next} after {first}");
    s.emu.shutdown().await;

    // A portal seeded otherwise refuses the file, saying which option differs.
    let refused = Emulator::start(Config::default().with_deals(31).with_state(&path))
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("deals was 30, now 31"), "{refused}");
    let journal = std::fs::read_to_string(&path).unwrap();
    assert!(
        !journal.contains(&tokens.access_token) && !journal.contains(&app.client_secret),
        "the state file keeps no token or secret"
    );
    let _ = std::fs::remove_file(&path);
}

/// Asks the portal's OAuth endpoint for a new pair with `refresh_token`.
async fn refresh(s: &Session, app: &bitrix_emulator::OAuthApp, refresh_token: &str) -> u16 {
    s.client
        .get(format!(
            "{}/oauth/token/?grant_type=refresh_token&client_id={}&client_secret={}&refresh_token={refresh_token}",
            s.emu.base_url(),
            app.client_id,
            app.client_secret,
        ))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The status and `error` of `crm.deal.list` called with `token`.
async fn list_with(s: &Session, endpoint: &str, token: &str) -> (u16, Value) {
    let answer = s
        .client
        .post(format!("{endpoint}crm.deal.list"))
        .json(&json!({"auth": token}))
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    let body: Value = answer.json().await.unwrap();
    (status, body["error"].clone())
}

#[tokio::test]
async fn tokens_keep_their_age_across_a_restart() {
    let path = fresh_state_file("age");
    let config = || Config::default().with_deals(3).with_state(&path);
    let s = Session::start(config()).await;
    let app = s.emu.oauth();
    assert_eq!(refresh(&s, &app, &app.refresh_token).await, 200);
    let tokens = s.emu.oauth();
    s.emu.shutdown().await;

    // Restarted at once, the refreshed token works (it has most of its hour left).
    let s = Session::start(config()).await;
    let endpoint = s.emu.oauth().client_endpoint;
    let ok = list_with(&s, &endpoint, &tokens.access_token).await;
    assert_eq!(ok.0, 200, "{ok:?}");
    s.emu.shutdown().await;

    // The refresh made two hours before the restart: its access token has expired, and its
    // refresh token still gives a new pair.
    let journal = std::fs::read_to_string(&path).unwrap();
    let aged: Vec<String> = journal
        .lines()
        .map(|line| match serde_json::from_str::<Value>(line) {
            Ok(mut v) if v.get("refresh").is_some() => {
                v["t"] = json!(v["t"].as_i64().unwrap() - 7_200);
                v.to_string()
            }
            _ => line.to_owned(),
        })
        .collect();
    assert_ne!(
        aged.join("\n"),
        journal.trim_end(),
        "the journal has the refresh"
    );
    std::fs::write(&path, aged.join("\n") + "\n").unwrap();
    let s = Session::start(config()).await;
    let after = s.emu.oauth();
    assert_eq!(after.access_token, tokens.access_token, "the same pair");
    let expired = list_with(&s, &after.client_endpoint, &tokens.access_token).await;
    assert_eq!(expired, (401, json!("expired_token")));
    assert_eq!(refresh(&s, &after, &after.refresh_token).await, 200);
    let fresh = s.emu.oauth();
    assert_eq!(
        list_with(&s, &fresh.client_endpoint, &fresh.access_token)
            .await
            .0,
        200
    );
    s.emu.shutdown().await;
    let _ = std::fs::remove_file(&path);
}
