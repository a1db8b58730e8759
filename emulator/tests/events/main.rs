//! Events over real HTTP: `event.bind/unbind/get` (OAuth only), online delivery of every
//! CRM write to a loopback handler, and the offline queue (`event.offline.*`).

#[path = "../portal/common/mod.rs"]
mod common;
mod handler;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use bitrix_emulator::{Config, Emulator};
use common::{Answer, client, post_json};
use handler::Handler;
use serde_json::{Value, json};

async fn emulator() -> Emulator {
    Emulator::start(Config::default().with_seed_portal())
        .await
        .expect("the emulator starts")
}

/// Calls `method` as the OAuth application (`auth` added to the JSON body).
async fn app(emu: &Emulator, method: &str, body: Value) -> Answer {
    let app = emu.oauth();
    let mut body = body;
    body["auth"] = json!(app.access_token);
    post_json(&client(), &app.client_endpoint, method, &body).await
}

async fn bind(emu: &Emulator, event: &str, handler: &str) {
    let a = app(
        emu,
        "event.bind",
        json!({"event": event, "handler": handler}),
    )
    .await;
    assert_eq!(*a.ok(), json!(true), "{event}");
}

async fn bind_offline(emu: &Emulator, event: &str, connector: Option<&str>) {
    let mut body = json!({"event": event, "event_type": "offline"});
    if let Some(c) = connector {
        body["auth_connector"] = json!(c);
    }
    assert_eq!(*app(emu, "event.bind", body).await.ok(), json!(true));
}

/// Waits for every delivery, then returns what the handler got.
async fn settle(emu: &Emulator) {
    tokio::time::timeout(Duration::from_secs(15), emu.events_idle())
        .await
        .expect("deliveries finish");
}

#[tokio::test]
async fn event_methods_refuse_the_incoming_webhook() {
    let emu = emulator().await;
    let c = client();
    for method in [
        "event.bind",
        "event.get",
        "event.unbind",
        "event.offline.get",
    ] {
        let a = post_json(
            &c,
            &emu.webhook_url(),
            method,
            &json!({"event": "ONCRMDEALADD", "handler": "http://127.0.0.1:1/"}),
        )
        .await;
        a.assert_error(
            403,
            "WRONG_AUTH_TYPE",
            "Current authorization type is denied for this method",
        );
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn bind_get_and_unbind_as_documented() {
    let emu = emulator().await;
    let url = "http://127.0.0.1:9/handler/";
    bind(&emu, "onCrmDealAdd", url).await;
    // The same binding twice is kept once.
    bind(&emu, "ONCRMDEALADD", url).await;
    let a = app(
        &emu,
        "event.bind",
        json!({"event": "ONCRMLEADADD", "handler": url, "auth_type": 15}),
    )
    .await;
    assert_eq!(*a.ok(), json!(true));
    bind_offline(&emu, "OnCrmDealUpdate", None).await;
    let got = app(&emu, "event.get", json!({})).await;
    assert_eq!(
        *got.ok(),
        json!([
            {"event": "ONCRMDEALADD", "handler": url, "auth_type": "0", "offline": 0},
            {"event": "ONCRMLEADADD", "handler": url, "auth_type": "15", "offline": 0},
            {"event": "ONCRMDEALUPDATE", "handler": "", "auth_type": "0", "offline": 1},
        ])
    );
    // Known: ONAPPINSTALL, ONAPPUNINSTALL, ONOFFLINEEVENT, per-type smart-process events.
    for e in [
        "ONAPPINSTALL",
        "onAppUninstall",
        "ONOFFLINEEVENT",
        "onCrmDynamicItemAdd_1220",
        "ONCRMTYPEUSERFIELDADD",
    ] {
        bind(&emu, e, url).await;
    }
    app(
        &emu,
        "event.bind",
        json!({"event": "ONCRMDEALTYPO", "handler": url}),
    )
    .await
    .assert_error(400, "ERROR_EVENT_NOT_FOUND", "Event not found");
    app(&emu, "event.bind", json!({"handler": url}))
        .await
        .assert_error(400, "ERROR_EVENT_NOT_FOUND", "Event not found");
    let no_handler = app(&emu, "event.bind", json!({"event": "ONCRMDEALADD"})).await;
    assert_eq!(no_handler.status, 400, "{}", no_handler.text);
    assert!(no_handler.text.contains("handler"), "{}", no_handler.text);

    // unbind: the given parameters narrow; online by default.
    let a = app(
        &emu,
        "event.unbind",
        json!({"event": "onCrmDealAdd", "handler": url}),
    )
    .await;
    assert_eq!(*a.ok(), json!({"count": 1}));
    let a = app(
        &emu,
        "event.unbind",
        json!({"event": "ONCRMDEALADD", "handler": url}),
    )
    .await;
    assert_eq!(*a.ok(), json!({"count": 0}));
    let a = app(
        &emu,
        "event.unbind",
        json!({"event": "ONCRMDEALUPDATE", "event_type": "offline"}),
    )
    .await;
    assert_eq!(*a.ok(), json!({"count": 1}));
    let a = app(
        &emu,
        "event.unbind",
        json!({"event": "ONCRMLEADADD", "handler": url, "auth_type": 0}),
    )
    .await;
    assert_eq!(
        *a.ok(),
        json!({"count": 0}),
        "auth_type 15 is not auth_type 0"
    );
    let a = app(&emu, "event.unbind", json!({"handler": url})).await;
    assert_eq!(*a.ok(), json!({"count": 6}));
    assert_eq!(*app(&emu, "event.get", json!({})).await.ok(), json!([]));
    emu.shutdown().await;
}

const RECORD_EVENTS: &[&str] = &["LEAD", "DEAL", "CONTACT", "COMPANY", "QUOTE"];

async fn bind_everything(emu: &Emulator, url: &str) {
    for e in RECORD_EVENTS {
        for action in ["ADD", "UPDATE", "DELETE"] {
            bind(emu, &format!("ONCRM{e}{action}"), url).await;
        }
        for action in ["ADD", "UPDATE", "DELETE", "SETENUMVALUES"] {
            bind(emu, &format!("ONCRM{e}USERFIELD{action}"), url).await;
        }
    }
    for e in [
        "ONCRMDEALMOVETOCATEGORY",
        "ONCRMDYNAMICITEMADD",
        "ONCRMDYNAMICITEMUPDATE",
        "ONCRMDYNAMICITEMDELETE",
        "ONCRMDYNAMICITEMUPDATE_1220",
        "ONCRMTYPEADD",
    ] {
        bind(emu, e, url).await;
    }
}

/// The (event, ID) pairs received since the last call.
async fn drain(emu: &Emulator, h: &Handler) -> Vec<(String, u64)> {
    settle(emu).await;
    let got = h
        .received()
        .iter()
        .map(|r| (r.event().to_owned(), r.id()))
        .collect();
    h.clear();
    got
}

fn pairs(v: &[(&str, u64)]) -> Vec<(String, u64)> {
    v.iter().map(|(n, i)| (n.to_string(), *i)).collect()
}

#[tokio::test]
async fn every_legacy_write_fires_its_record_event() {
    let emu = emulator().await;
    let h = Handler::start().await;
    bind_everything(&emu, &h.url).await;
    for (entity, name) in [
        ("lead", "LEAD"),
        ("deal", "DEAL"),
        ("contact", "CONTACT"),
        ("company", "COMPANY"),
        ("quote", "QUOTE"),
    ] {
        let id = app(
            &emu,
            &format!("crm.{entity}.add"),
            json!({"fields": {"TITLE": "x", "NAME": "x", "SECOND_NAME": "x", "LAST_NAME": "x"}}),
        )
        .await
        .ok()
        .as_u64()
        .unwrap_or_else(|| panic!("crm.{entity}.add answers an id"));
        let upd = app(
            &emu,
            &format!("crm.{entity}.update"),
            json!({"id": id, "fields": {"COMMENTS": "y"}}),
        )
        .await;
        assert_eq!(*upd.ok(), json!(true));
        let del = app(&emu, &format!("crm.{entity}.delete"), json!({"id": id})).await;
        assert_eq!(*del.ok(), json!(true));
        // A failed write fires nothing.
        let missing = app(
            &emu,
            &format!("crm.{entity}.update"),
            json!({"id": id, "fields": {"COMMENTS": "z"}}),
        )
        .await;
        assert_eq!(missing.status, 400, "{}", missing.text);
        assert_eq!(
            drain(&emu, &h).await,
            pairs(&[
                (&format!("ONCRM{name}ADD"), id),
                (&format!("ONCRM{name}UPDATE"), id),
                (&format!("ONCRM{name}DELETE"), id),
            ]),
            "{entity}"
        );
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn crm_item_batch_and_moves_fire_the_entity_events() {
    let emu = emulator().await;
    let h = Handler::start().await;
    bind_everything(&emu, &h.url).await;

    // crm.item.* on deals sends the deal events; a pipeline change also MOVETOCATEGORY.
    let item = app(
        &emu,
        "crm.item.add",
        json!({"entityTypeId": 2, "fields": {"title": "i"}}),
    )
    .await;
    let id = item.ok()["item"]["id"].as_u64().expect("an item id");
    app(
        &emu,
        "crm.item.update",
        json!({"entityTypeId": 2, "id": id, "fields": {"title": "j"}}),
    )
    .await
    .ok();
    app(
        &emu,
        "crm.item.update",
        json!({"entityTypeId": 2, "id": id, "fields": {"categoryId": 1}}),
    )
    .await
    .ok();
    app(
        &emu,
        "crm.item.delete",
        json!({"entityTypeId": 2, "id": id}),
    )
    .await
    .ok();
    settle(&emu).await;
    let moved = h
        .received()
        .into_iter()
        .find(|r| r.event() == "ONCRMDEALMOVETOCATEGORY")
        .expect("a move event");
    assert_eq!(moved.get("data[FIELDS][CATEGORY_ID]"), Some("1"));
    assert_eq!(moved.get("data[FIELDS][STAGE_ID]"), Some("C1:NEW"));
    assert_eq!(
        drain(&emu, &h).await,
        pairs(&[
            ("ONCRMDEALADD", id),
            ("ONCRMDEALUPDATE", id),
            ("ONCRMDEALUPDATE", id),
            ("ONCRMDEALMOVETOCATEGORY", id),
            ("ONCRMDEALDELETE", id),
        ])
    );

    // Smart processes and the smart invoice send ONCRMDYNAMICITEM* with ENTITY_TYPE_ID, and
    // the per-type twin where bound.
    let sp = app(
        &emu,
        "crm.item.add",
        json!({"entityTypeId": 1220, "fields": {"title": "p"}}),
    )
    .await;
    let sp = sp.ok()["item"]["id"].as_u64().expect("an item id");
    app(
        &emu,
        "crm.item.update",
        json!({"entityTypeId": 1220, "id": sp, "fields": {"title": "q"}}),
    )
    .await
    .ok();
    let inv = app(
        &emu,
        "crm.item.add",
        json!({"entityTypeId": 31, "fields": {"title": "s"}}),
    )
    .await;
    let inv = inv.ok()["item"]["id"].as_u64().expect("an invoice id");
    app(
        &emu,
        "crm.item.delete",
        json!({"entityTypeId": 31, "id": inv}),
    )
    .await
    .ok();
    settle(&emu).await;
    let types: Vec<(String, String)> = h
        .received()
        .iter()
        .map(|r| {
            (
                r.event().to_owned(),
                r.get("data[FIELDS][ENTITY_TYPE_ID]")
                    .unwrap_or("")
                    .to_owned(),
            )
        })
        .collect();
    assert_eq!(
        types,
        [
            ("ONCRMDYNAMICITEMADD", "1220"),
            ("ONCRMDYNAMICITEMUPDATE", "1220"),
            ("ONCRMDYNAMICITEMUPDATE_1220", "1220"),
            ("ONCRMDYNAMICITEMADD", "31"),
            ("ONCRMDYNAMICITEMDELETE", "31"),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    h.clear();

    // Batch commands fire like single calls.
    let b = app(
        &emu,
        "batch",
        json!({"cmd": {
            "a": "crm.deal.add?fields[TITLE]=b",
            "u": "crm.deal.update?id=$result[a]&fields[TITLE]=c",
            "l": "crm.lead.add?fields[TITLE]=d",
        }}),
    )
    .await;
    let deal = b.ok()["result"]["a"].as_u64().expect("batch add id");
    let lead = b.ok()["result"]["l"].as_u64().expect("batch lead id");
    assert_eq!(
        drain(&emu, &h).await,
        pairs(&[
            ("ONCRMDEALADD", deal),
            ("ONCRMDEALUPDATE", deal),
            ("ONCRMLEADADD", lead)
        ])
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn user_field_and_type_changes_fire_schema_events() {
    let emu = emulator().await;
    let h = Handler::start().await;
    bind_everything(&emu, &h.url).await;
    let id = app(
        &emu,
        "crm.deal.userfield.add",
        json!({"fields": {"FIELD_NAME": "EV_COLOR", "USER_TYPE_ID": "enumeration", "LIST": [{"VALUE": "red"}]}}),
    )
    .await
    .ok()
    .as_u64()
    .expect("a user field id");
    app(
        &emu,
        "crm.deal.userfield.update",
        json!({"id": id, "fields": {"LIST": [{"VALUE": "blue"}]}}),
    )
    .await
    .ok();
    app(
        &emu,
        "crm.deal.userfield.update",
        json!({"id": id, "fields": {"MANDATORY": "N"}}),
    )
    .await
    .ok();
    app(&emu, "crm.deal.userfield.delete", json!({"id": id}))
        .await
        .ok();
    app(
        &emu,
        "crm.contact.userfield.add",
        json!({"fields": {"FIELD_NAME": "EV_NOTE", "USER_TYPE_ID": "string"}}),
    )
    .await
    .ok();
    let ty = app(&emu, "crm.type.add", json!({"fields": {"title": "Events"}})).await;
    let type_id = ty.ok()["type"]["id"].as_u64().expect("a type id");
    settle(&emu).await;
    let got: Vec<(String, String, String)> = h
        .received()
        .iter()
        .map(|r| {
            (
                r.event().to_owned(),
                r.get("data[FIELDS][ENTITY_ID]").unwrap_or("").to_owned(),
                r.get("data[FIELDS][FIELD_NAME]").unwrap_or("").to_owned(),
            )
        })
        .collect();
    let deal_field = ("CRM_DEAL", "UF_CRM_EV_COLOR");
    let expected: Vec<(String, String, String)> = [
        ("ONCRMDEALUSERFIELDADD", deal_field),
        ("ONCRMDEALUSERFIELDSETENUMVALUES", deal_field),
        ("ONCRMDEALUSERFIELDUPDATE", deal_field),
        ("ONCRMDEALUSERFIELDSETENUMVALUES", deal_field),
        ("ONCRMDEALUSERFIELDUPDATE", deal_field),
        ("ONCRMDEALUSERFIELDDELETE", deal_field),
        (
            "ONCRMCONTACTUSERFIELDADD",
            ("CRM_CONTACT", "UF_CRM_EV_NOTE"),
        ),
        ("ONCRMTYPEADD", ("", "")),
    ]
    .iter()
    .map(|(n, (e, f))| (n.to_string(), e.to_string(), f.to_string()))
    .collect();
    assert_eq!(got, expected);
    let received = h.received();
    assert_eq!(received[0].id(), id);
    assert_eq!(received.last().unwrap().id(), type_id);
    emu.shutdown().await;
}

#[tokio::test]
async fn the_delivered_body_has_the_documented_keys_and_auth_block() {
    let emu = emulator().await;
    let h = Handler::start().await;
    bind(&emu, "ONCRMDEALADD", &h.url).await;
    let before = chrono_now();
    let id = app(&emu, "crm.deal.add", json!({"fields": {"TITLE": "body"}}))
        .await
        .ok()
        .as_u64()
        .unwrap();
    settle(&emu).await;
    let got = h.received();
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_eq!(r.request_line, "POST /hook/?app=demo HTTP/1.1");
    assert_eq!(
        r.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert!(
        r.body.starts_with("event=ONCRMDEALADD&event_handler_id="),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("data%5BFIELDS%5D%5BID%5D="),
        "brackets percent-encoded: {}",
        r.body
    );
    let keys: Vec<&str> = r.pairs.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "event",
            "event_handler_id",
            "data[FIELDS][ID]",
            "ts",
            "auth[access_token]",
            "auth[expires_in]",
            "auth[scope]",
            "auth[domain]",
            "auth[server_endpoint]",
            "auth[status]",
            "auth[client_endpoint]",
            "auth[member_id]",
            "auth[refresh_token]",
            "auth[application_token]",
        ]
    );
    let oauth = emu.oauth();
    assert_eq!(r.id(), id);
    assert!(r.get("event_handler_id").unwrap().parse::<u64>().unwrap() > 0);
    let ts: i64 = r.get("ts").unwrap().parse().unwrap();
    assert!((before..before + 60).contains(&ts), "{ts} vs {before}");
    assert_eq!(
        r.get("auth[application_token]"),
        Some(emu.application_token().as_str())
    );
    assert_eq!(
        r.get("auth[access_token]"),
        Some(oauth.access_token.as_str())
    );
    assert_eq!(
        r.get("auth[refresh_token]"),
        Some(oauth.refresh_token.as_str())
    );
    assert_eq!(r.get("auth[member_id]"), Some(oauth.member_id.as_str()));
    assert_eq!(r.get("auth[domain]"), Some(oauth.domain.as_str()));
    assert_eq!(
        r.get("auth[client_endpoint]"),
        Some(oauth.client_endpoint.as_str())
    );
    assert_eq!(r.get("auth[expires_in]"), Some("3600"));
    assert_eq!(r.get("auth[status]"), Some("L"));
    // The token is constant for the portal's life and not any OAuth secret.
    let token = emu.application_token();
    assert_eq!(token.len(), 32);
    assert_ne!(token, oauth.client_secret);
    assert_eq!(token, emu.application_token());
    assert_eq!(emu.events_delivered(), 1);
    assert_eq!(emu.events_accepted(), 1);
    emu.shutdown().await;
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn unbind_stops_delivery() {
    let emu = emulator().await;
    let h = Handler::start().await;
    bind(&emu, "ONCRMDEALUPDATE", &h.url).await;
    let id = app(&emu, "crm.deal.add", json!({"fields": {}}))
        .await
        .ok()
        .as_u64()
        .unwrap();
    app(
        &emu,
        "crm.deal.update",
        json!({"id": id, "fields": {"TITLE": "1"}}),
    )
    .await
    .ok();
    assert_eq!(drain(&emu, &h).await, pairs(&[("ONCRMDEALUPDATE", id)]));
    let a = app(
        &emu,
        "event.unbind",
        json!({"event": "ONCRMDEALUPDATE", "handler": h.url}),
    )
    .await;
    assert_eq!(*a.ok(), json!({"count": 1}));
    app(
        &emu,
        "crm.deal.update",
        json!({"id": id, "fields": {"TITLE": "2"}}),
    )
    .await
    .ok();
    assert_eq!(drain(&emu, &h).await, Vec::<(String, u64)>::new());
    assert_eq!(emu.events_delivered(), 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn a_handler_that_never_answers_does_not_slow_writes() {
    let emu = emulator().await;
    let silent = Handler::silent().await;
    let h = Handler::start().await;
    bind(&emu, "ONCRMDEALADD", &silent.url).await;
    bind(&emu, "ONCRMDEALADD", &h.url).await;
    let t = Instant::now();
    for _ in 0..5 {
        app(&emu, "crm.deal.add", json!({"fields": {}})).await.ok();
    }
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "writes waited: {:?}",
        t.elapsed()
    );
    // The answering handler gets all five while the silent one holds its first.
    let deadline = Instant::now() + Duration::from_secs(5);
    while h.received().len() < 5 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(h.received().len(), 5);
    assert_eq!(
        silent.received().len(),
        1,
        "one handler's events go one at a time"
    );
    drop(emu);
}

#[tokio::test]
async fn concurrent_writes_deliver_exactly_once_per_change() {
    let emu = emulator().await;
    let h = Handler::start().await;
    bind(&emu, "ONCRMDEALADD", &h.url).await;
    let app_auth = emu.oauth();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let app_auth = app_auth.clone();
        tasks.push(tokio::spawn(async move {
            let c = client();
            let mut ids = Vec::new();
            for _ in 0..25 {
                let a = post_json(
                    &c,
                    &app_auth.client_endpoint,
                    "crm.deal.add",
                    &json!({"fields": {}, "auth": app_auth.access_token}),
                )
                .await;
                ids.push(a.ok().as_u64().unwrap());
            }
            ids
        }));
    }
    let mut added = BTreeSet::new();
    for t in tasks {
        added.extend(t.await.unwrap());
    }
    settle(&emu).await;
    let got = h.received();
    assert_eq!(got.len(), 200);
    assert!(got.iter().all(|r| r.event() == "ONCRMDEALADD"));
    let delivered: BTreeSet<u64> = got.iter().map(|r| r.id()).collect();
    assert_eq!(delivered, added);
    assert_eq!(emu.events_delivered(), 200);
    emu.shutdown().await;
}

async fn offline_get(emu: &Emulator, body: Value) -> Value {
    app(emu, "event.offline.get", body).await.ok().clone()
}

async fn offline_list(emu: &Emulator, body: Value) -> Vec<Value> {
    app(emu, "event.offline.list", body)
        .await
        .ok()
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn the_offline_queue_keeps_the_latest_state_per_object() {
    let emu = emulator().await;
    bind_offline(&emu, "ONCRMDEALADD", None).await;
    bind_offline(&emu, "ONCRMDEALUPDATE", None).await;
    let a = app(&emu, "crm.deal.add", json!({"fields": {}}))
        .await
        .ok()
        .as_u64()
        .unwrap();
    let b = app(&emu, "crm.deal.add", json!({"fields": {}}))
        .await
        .ok()
        .as_u64()
        .unwrap();
    for t in ["1", "2", "3"] {
        app(
            &emu,
            "crm.deal.update",
            json!({"id": a, "fields": {"TITLE": t}}),
        )
        .await
        .ok();
    }
    let rows = offline_list(&emu, json!({})).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0]["EVENT_NAME"], "ONCRMDEALUPDATE");
    assert_eq!(rows[0]["EVENT_DATA"], json!({"FIELDS": {"ID": a}}));
    assert_eq!(rows[0]["PROCESS_ID"], "");
    assert_eq!(rows[0]["ERROR"], "0");
    assert_eq!(rows[1]["EVENT_NAME"], "ONCRMDEALADD");
    assert_eq!(rows[1]["EVENT_DATA"], json!({"FIELDS": {"ID": b}}));
    let message = rows[0]["MESSAGE_ID"].as_str().unwrap();
    assert!(
        message.len() >= 16 && message.bytes().all(|c| c.is_ascii_hexdigit()),
        "{message}"
    );
    assert!(rows[0]["TIMESTAMP_X"].as_str().unwrap().contains('T'));
    // The default get deletes what it returns.
    let got = offline_get(&emu, json!({"order": {"ID": "DESC"}})).await;
    assert_eq!(got["process_id"], Value::Null);
    let names: Vec<&Value> = got["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["EVENT_DATA"]["FIELDS"]["ID"])
        .collect();
    assert_eq!(names, [&json!(b), &json!(a)]);
    assert!(got["events"][0].get("PROCESS_ID").is_none());
    assert_eq!(offline_get(&emu, json!({})).await["events"], json!([]));
    emu.shutdown().await;
}

#[tokio::test]
async fn offline_reserve_reselect_error_and_clear() {
    let emu = emulator().await;
    bind_offline(&emu, "ONCRMDEALADD", None).await;
    let mut ids = Vec::new();
    for _ in 0..4 {
        ids.push(
            app(&emu, "crm.deal.add", json!({"fields": {}}))
                .await
                .ok()
                .as_u64()
                .unwrap(),
        );
    }
    let id_of = |e: &Value| e["EVENT_DATA"]["FIELDS"]["ID"].as_u64().unwrap();
    let first = offline_get(&emu, json!({"clear": 0, "limit": 2})).await;
    let p1 = first["process_id"]
        .as_str()
        .expect("a process id")
        .to_owned();
    let first: Vec<Value> = first["events"].as_array().unwrap().clone();
    assert_eq!(first.iter().map(id_of).collect::<Vec<_>>(), ids[..2]);
    // Reserved records are hidden from other gets; the process re-selects its own first.
    let again = offline_get(&emu, json!({"clear": 0, "limit": 3, "process_id": p1})).await;
    assert_eq!(again["process_id"], p1.as_str());
    let again: Vec<u64> = again["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(again, ids[..3]);
    let other = offline_get(&emu, json!({"clear": 0})).await;
    let p2 = other["process_id"].as_str().unwrap().to_owned();
    assert_ne!(p1, p2);
    assert_eq!(
        other["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(id_of)
            .collect::<Vec<_>>(),
        [ids[3]]
    );

    // error: marked records come back only with error=1.
    let bad = first[0]["MESSAGE_ID"].clone();
    let a = app(
        &emu,
        "event.offline.error",
        json!({"process_id": p1, "message_id": [bad]}),
    )
    .await;
    assert_eq!(*a.ok(), json!(true));
    let mine = offline_get(&emu, json!({"clear": 0, "process_id": p1})).await;
    assert_eq!(
        mine["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(id_of)
            .collect::<Vec<_>>(),
        ids[1..3]
    );
    let errors = offline_get(&emu, json!({"clear": 0, "process_id": p1, "error": 1})).await;
    assert_eq!(
        errors["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(id_of)
            .collect::<Vec<_>>(),
        [ids[0]]
    );
    let listed = offline_list(&emu, json!({"filter": {"ERROR": 1}})).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["PROCESS_ID"], p1.as_str());

    // clear: by id, then the whole process.
    let second_id = first[1]["ID"].clone();
    let a = app(
        &emu,
        "event.offline.clear",
        json!({"process_id": p1, "id": [second_id]}),
    )
    .await;
    assert_eq!(*a.ok(), json!(true));
    let left: Vec<u64> = offline_list(&emu, json!({}))
        .await
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(left, [ids[0], ids[2], ids[3]]);
    app(&emu, "event.offline.clear", json!({"process_id": p1}))
        .await
        .ok();
    let left: Vec<u64> = offline_list(&emu, json!({}))
        .await
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(left, [ids[3]]);
    app(
        &emu,
        "event.offline.clear",
        json!({"process_id": p2, "message_id": ["nope"]}),
    )
    .await
    .ok();
    assert_eq!(offline_list(&emu, json!({})).await.len(), 1);
    app(&emu, "event.offline.clear", json!({})).await.assert_error(
        400,
        "ERROR_ARGUMENT",
        "Parameter 'process_id' is required: pass the process_id event.offline.get returned with clear=0",
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn offline_filters_and_order() {
    let emu = emulator().await;
    bind_offline(&emu, "ONCRMDEALADD", None).await;
    bind_offline(&emu, "ONCRMLEADADD", None).await;
    for m in ["crm.deal.add", "crm.lead.add", "crm.deal.add"] {
        app(&emu, m, json!({"fields": {"TITLE": "f"}})).await.ok();
    }
    let rows = offline_list(
        &emu,
        json!({"filter": {"=EVENT_NAME": "onCrmDealAdd"}, "order": {"ID": "DESC"}}),
    )
    .await;
    let ids: Vec<&str> = rows.iter().map(|r| r["ID"].as_str().unwrap()).collect();
    assert_eq!(ids, ["3", "1"]);
    let got = offline_get(&emu, json!({"filter": {">=ID": 2}, "clear": 1})).await;
    let ids: Vec<&str> = got["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ID"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["2", "3"]);
    let a = app(&emu, "event.offline.list", json!({})).await;
    assert_eq!(a.json["total"], 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn auth_connector_keeps_the_apps_own_changes_out_of_its_queue() {
    let emu = emulator().await;
    bind_offline(&emu, "ONCRMDEALUPDATE", Some("my_connector")).await;
    bind_offline(&emu, "ONCRMDEALUPDATE", None).await;
    let id = app(&emu, "crm.deal.add", json!({"fields": {}}))
        .await
        .ok()
        .as_u64()
        .unwrap();
    let own = json!({"id": id, "fields": {"TITLE": "mine"}, "auth_connector": "my_connector"});
    app(&emu, "crm.deal.update", own).await.ok();
    let mine = offline_list(&emu, json!({"auth_connector": "my_connector"})).await;
    assert!(mine.is_empty(), "{mine:?}");
    let plain = offline_list(&emu, json!({})).await;
    assert_eq!(plain.len(), 1, "the connector-less queue records it");
    // Inside a batch, the request's connector applies to every command.
    let b = app(
        &emu,
        "batch",
        json!({"cmd": {"u": format!("crm.deal.update?id={id}&fields[TITLE]=b")}, "auth_connector": "my_connector"}),
    )
    .await;
    assert_eq!(b.ok()["result"]["u"], json!(true));
    assert!(
        offline_list(&emu, json!({"auth_connector": "my_connector"}))
            .await
            .is_empty()
    );
    // Someone else's change reaches the connector's queue.
    app(
        &emu,
        "crm.deal.update",
        json!({"id": id, "fields": {"TITLE": "theirs"}}),
    )
    .await
    .ok();
    let got = offline_get(&emu, json!({"auth_connector": "my_connector"})).await;
    assert_eq!(got["events"].as_array().unwrap().len(), 1);
    assert_eq!(
        got["events"][0]["EVENT_DATA"],
        json!({"FIELDS": {"ID": id}})
    );
    emu.shutdown().await;
}
