//! Transport and auth over real HTTP: PHP form bodies and query strings, `.json`, method and
//! parameter name case, webhook and OAuth auth, token refresh rotation, files.

use crate::common::*;
use base64::Engine as _;
use bitrix_emulator::{Config, Emulator};
use serde_json::{Value, json};

async fn demo() -> Emulator {
    Emulator::start(Config::default())
        .await
        .expect("emulator starts")
}

const CHANNEL: &str = "UF_CRM_1721244590123";

#[tokio::test]
async fn php_form_bodies_and_query_strings() {
    let emu = demo().await;
    let c = client();
    let url = emu.webhook_url();
    // What PHP's http_build_query makes of a nested array.
    let body = "fields%5BTITLE%5D=%D0%A4%D0%BE%D1%80%D0%BC%D0%B0&fields%5BOPPORTUNITY%5D=1500.5\
        &fields%5BCONTACT_IDS%5D%5B0%5D=84&fields%5BCONTACT_IDS%5D%5B1%5D=83\
        &fields%5BUF_CRM_1721244590123%5D=3480&fields%5BUF_CRM_1721244601234%5D%5B%5D=81\
        &fields%5BUF_CRM_1721244601234%5D%5B%5D=85&params%5BREGISTER_SONET_EVENT%5D=N";
    let added = post_form(&c, &url, "crm.deal.add", body).await;
    let id = added.ok().as_u64().unwrap();
    let deal = emu.deal(id).unwrap();
    assert_eq!(deal["TITLE"], "Форма");
    assert_eq!(deal["OPPORTUNITY"], "1500.50");
    assert_eq!(deal["CONTACT_ID"], "84");
    assert_eq!(deal[CHANNEL], "3480");
    assert_eq!(deal["UF_CRM_1721244601234"], json!(["81", "85"]));

    // The same list as a GET query string and as a form body.
    let q = http_build_query(&json!({
        "filter": {">ID": 0, "%TITLE": "форм"},
        "order": {"ID": "DESC"},
        "select": ["ID", "TITLE", CHANNEL],
        "start": -1
    }));
    let via_get = get(&c, &url, "crm.deal.list", &q).await;
    let via_form = post_form(&c, &url, "crm.deal.list", &q).await;
    assert_eq!(via_get.ok(), via_form.ok());
    assert_eq!(
        via_get.ok(),
        &json!([{"ID": id.to_string(), "TITLE": "Форма", CHANNEL: "3480"}])
    );
    assert_eq!(via_get.json["total"], 0, "start=-1 does not count");

    // Query string and JSON body together: the body wins.
    let r = post_json(
        &c,
        &format!("{url}crm.deal.get?id=999&"),
        "",
        &json!({"id": id}),
    )
    .await;
    assert_eq!(r.ok()["ID"], id.to_string());
    emu.shutdown().await;
}

#[tokio::test]
async fn method_names_suffix_and_parameter_names_are_lenient() {
    let emu = demo().await;
    let c = client();
    let url = emu.webhook_url();
    let fields = json!({"FIELDS": {"TITLE": "A", CHANNEL: 3476}});
    let id = post_json(&c, &url, "CRM.Deal.Add.json", &fields)
        .await
        .ok()
        .as_u64()
        .unwrap();
    let got = post_json(&c, &url, "crm.deal.get.json", &json!({"Id": id})).await;
    assert_eq!(got.ok()["TITLE"], "A");
    // Field codes inside `fields` are case-sensitive: `title` is unknown and dropped.
    post_json(
        &c,
        &url,
        "crm.deal.update",
        &json!({"ID": id, "fields": {"title": "B"}}),
    )
    .await
    .ok();
    assert_eq!(emu.deal(id).unwrap()["TITLE"], "A");
    let counters = emu.counters();
    assert_eq!(counters.method("crm.deal.add"), 1);
    assert_eq!(counters.method("crm.deal.get"), 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn unknown_methods_and_wrong_webhooks() {
    let emu = demo().await;
    let c = client();
    let url = emu.webhook_url();
    post_json(&c, &url, "crm.deal.explode", &json!({}))
        .await
        .assert_error(404, "ERROR_METHOD_NOT_FOUND", "Method not found!");
    let wrong = format!("{}/rest/1/wrongcode/", emu.base_url());
    post_json(&c, &wrong, "crm.deal.list", &json!({}))
        .await
        .assert_error(401, "INVALID_CREDENTIALS", "Invalid request credentials");
    let other_user = format!(
        "{}/rest/2/{}/",
        emu.base_url(),
        &url.trim_end_matches('/').rsplit('/').next().unwrap()
    );
    post_json(&c, &other_user, "crm.deal.list", &json!({}))
        .await
        .assert_error(401, "INVALID_CREDENTIALS", "Invalid request credentials");
    let oauth_without_token = format!("{}/rest/", emu.base_url());
    post_json(&c, &oauth_without_token, "crm.deal.list", &json!({}))
        .await
        .assert_error(401, "NO_AUTH_FOUND", "Wrong authorization data");
    // An OAuth token the portal never issued.
    post_json(
        &c,
        &oauth_without_token,
        "crm.deal.list",
        &json!({"auth": "never-issued-token"}),
    )
    .await
    .assert_error(401, "invalid_token", "Unable to get application by token");
    // nginx merges repeated slashes before the portal sees the path (b24jssdk builds
    // `/rest//crm.deal.list` from its documented `clientEndpoint`).
    let doubled = format!("{}//crm.deal.list", url.trim_end_matches('/'));
    let merged = c.post(&doubled).json(&json!({})).send().await.unwrap();
    assert_eq!(merged.status().as_u16(), 200);
    assert_eq!(emu.counters().auth_failures, 4);
    emu.shutdown().await;
}

#[tokio::test]
async fn oauth_tokens_expire_and_refresh_rotates() {
    let emu = demo().await;
    let c = client();
    let app = emu.oauth();
    assert!(
        !format!("{app:?}").contains(&app.client_secret),
        "Debug hides secrets"
    );
    assert!(!format!("{app:?}").contains(&app.access_token));
    let rest = app.client_endpoint.clone();
    // `auth` in the JSON body or in the query string.
    let body = json!({"auth": app.access_token, "start": -1});
    post_json(&c, &rest, "crm.deal.list", &body).await.ok();
    let q = format!("auth={}", app.access_token);
    get(&c, &rest, "crm.deal.fields", &q).await.ok();

    emu.expire_access_tokens();
    post_json(&c, &rest, "crm.deal.list", &body)
        .await
        .assert_error(
            401,
            "expired_token",
            "The access token provided has expired",
        );

    let token_url = format!(
        "{}oauth/token/",
        app.server_endpoint.trim_end_matches("rest/")
    );
    let refresh = |refresh_token: String| {
        let c = c.clone();
        let url = token_url.clone();
        let (id, secret) = (app.client_id.clone(), app.client_secret.clone());
        async move {
            let q = http_build_query(&json!({
                "grant_type": "refresh_token", "client_id": id,
                "client_secret": secret, "refresh_token": refresh_token
            }));
            let r = c.get(format!("{url}?{q}")).send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap())
        }
    };
    let (status, fresh) = refresh(app.refresh_token.clone()).await;
    assert_eq!(status, 200, "{fresh}");
    for k in [
        "access_token",
        "refresh_token",
        "expires",
        "expires_in",
        "client_endpoint",
        "server_endpoint",
        "domain",
        "member_id",
        "scope",
        "status",
        "user_id",
    ] {
        assert!(fresh.get(k).is_some(), "{k} missing from {fresh}");
    }
    assert_eq!(fresh["expires_in"], 3600);
    assert_ne!(fresh["refresh_token"], app.refresh_token);
    assert_eq!(fresh["client_endpoint"], app.client_endpoint);
    let new_access = fresh["access_token"].as_str().unwrap();
    post_json(&c, &rest, "crm.deal.list", &json!({"auth": new_access}))
        .await
        .ok();
    assert_eq!(
        emu.oauth().access_token,
        new_access,
        "oauth() shows the current pair"
    );

    // The old refresh token no longer works; the new one does, once.
    let (status, err) = refresh(app.refresh_token.clone()).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, _) = refresh(fresh["refresh_token"].as_str().unwrap().to_owned()).await;
    assert_eq!(status, 200);
    // Wrong client secret.
    let bad = c
        .post(&token_url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=refresh_token&client_id={}&client_secret=nope&refresh_token={}",
            app.client_id,
            emu.oauth().refresh_token
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 401);
    let counters = emu.counters();
    assert_eq!(counters.oauth_refreshes, 2);
    assert_eq!(counters.oauth_refused, 2);
    assert_eq!(counters.expired_token_refusals, 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn output_escapes_slashes_like_php() {
    let emu = demo().await;
    let c = client();
    let url = emu.webhook_url();
    let id = add_deal(
        &c,
        &url,
        json!({
        "TITLE": "a/b", "COMMENTS": "[B]x[/B]\n", CHANNEL: "3476"}),
    )
    .await;
    let got = post_json(&c, &url, "crm.deal.get", &json!({"id": id})).await;
    assert!(got.text.contains(r#""TITLE":"a\/b""#), "{}", got.text);
    assert!(
        got.text.contains(r#""COMMENTS":"[B]x[\/B]\n""#),
        "{}",
        got.text
    );
    assert!(
        got.text.contains("Канал") || !got.text.contains("\\u04"),
        "Unicode is not escaped"
    );
    assert_eq!(got.ok()["COMMENTS"], "[B]x[/B]\n");
    emu.shutdown().await;
}

#[tokio::test]
async fn file_fields_upload_keep_remove_and_download() {
    let emu = demo().await;
    let c = client();
    let url = emu.webhook_url();
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let id = add_deal(
        &c,
        &url,
        json!({
            CHANNEL: "3476",
            "UF_CRM_1721244612345": {"fileData": ["договор.txt", b64("первый")]},
            "UF_CRM_1721244612346": [["a.txt", b64("A")], {"fileData": ["b.txt", b64("B")]}],
        }),
    )
    .await;
    let deal = post_json(&c, &url, "crm.deal.get", &json!({"id": id}))
        .await
        .ok()
        .clone();
    let single = &deal["UF_CRM_1721244612345"];
    let file_id = single["id"].as_u64().expect("file id is a number");
    let show = single["showUrl"].as_str().unwrap();
    assert!(show.starts_with("/bitrix/"), "URLs are relative: {show}");
    let bytes = c
        .get(format!(
            "{}{}",
            emu.base_url(),
            single["downloadUrl"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&bytes[..], "первый".as_bytes());
    let multi = deal["UF_CRM_1721244612346"].as_array().unwrap();
    assert_eq!(multi.len(), 2);
    let keep = multi[1]["id"].as_u64().unwrap();

    // Keep one of the multiple files by id, drop the other; keep the single one.
    post_json(
        &c,
        &url,
        "crm.deal.update",
        &json!({"id": id, "fields": {
            "UF_CRM_1721244612346": [{"id": keep}],
            "UF_CRM_1721244612345": {"id": file_id},
        }}),
    )
    .await
    .ok();
    let deal = emu.deal(id).unwrap();
    assert_eq!(deal["UF_CRM_1721244612345"]["id"], file_id);
    let ids: Vec<u64> = deal["UF_CRM_1721244612346"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [keep]);
    // Remove: a single empty file field is absent, a multiple one is [].
    post_json(
        &c,
        &url,
        "crm.deal.update",
        &json!({"id": id, "fields": {
            "UF_CRM_1721244612345": {"id": file_id, "remove": "Y"},
            "UF_CRM_1721244612346": [],
        }}),
    )
    .await
    .ok();
    let deal = emu.deal(id).unwrap();
    assert!(deal.get("UF_CRM_1721244612345").is_none(), "{deal}");
    assert_eq!(deal["UF_CRM_1721244612346"], json!([]));
    emu.shutdown().await;
}

#[tokio::test]
async fn every_demo_field_type_round_trips_in_the_portal_format() {
    let emu = demo().await;
    let c = client();
    let url = emu.webhook_url();
    let id = add_deal(
        &c,
        &url,
        json!({
            CHANNEL: "3492",
            "UF_CRM_1721244482250": "строка",
            "UF_CRM_1721244500101": ["+7 900 000-00-01", "+7 900 000-00-02"],
            "UF_CRM_1721244512345": "42",
            "UF_CRM_1721244512346": [1, "2"],
            "UF_CRM_1721244523456": 12.346,
            "UF_CRM_1721244523457": ["1.5", 2],
            "UF_CRM_1721244534567": "Y",
            "UF_CRM_1721244545678": "2024-08-30",
            "UF_CRM_1721244545679": ["2024-09-01", "2024-09-15T00:00:00+00:00"],
            "UF_CRM_1721244556789": "2024-08-30T14:29:00+02:00",
            "UF_CRM_1721244567890": "300|RUB",
            "UF_CRM_1721244567891": ["100.50|USD", "7"],
            "UF_CRM_1721244578901": "https://example.ru/x?a=1&b=2",
            "UF_CRM_1721244589012": "Москва, Тверская 7|55.7575;37.6130|123",
            "UF_CRM_1721244601234": [81, 91],
            "UF_CRM_1721244634567": 5,
            "UF_CRM_1721244656789": "IT",
            "UF_CRM_1721244667890": 117,
            "UF_CRM_1721244689012": "15",
            "UF_CRM_1721244689013": ["CO_3", "T4c4_6"],
            "UF_CRM_1721244701234": [1001],
            "PARENT_ID_153": "7",
            "BEGINDATE": "30.08.2024",
        }),
    )
    .await;
    let d = post_json(&c, &url, "crm.deal.get", &json!({"id": id}))
        .await
        .ok()
        .clone();
    let expect = json!({
        "UF_CRM_1721244482250": "строка",
        "UF_CRM_1721244500101": ["+7 900 000-00-01", "+7 900 000-00-02"],
        "UF_CRM_1721244512345": "42",
        "UF_CRM_1721244512346": ["1", "2"],
        "UF_CRM_1721244523456": "12.35",
        "UF_CRM_1721244523457": ["1.5", "2"],
        "UF_CRM_1721244534567": "1",
        "UF_CRM_1721244545678": "2024-08-30T03:00:00+03:00",
        "UF_CRM_1721244545679": ["2024-09-01T03:00:00+03:00", "2024-09-15T03:00:00+03:00"],
        "UF_CRM_1721244556789": "2024-08-30T15:29:00+03:00",
        "UF_CRM_1721244556790": [],
        "UF_CRM_1721244567890": "300|RUB",
        "UF_CRM_1721244567891": ["100.5|USD", "7|RUB"],
        "UF_CRM_1721244578901": "https://example.ru/x?a=1&b=2",
        "UF_CRM_1721244578902": [],
        "UF_CRM_1721244589012": "Москва, Тверская 7|55.7575;37.6130|123",
        CHANNEL: "3492",
        "UF_CRM_1721244601234": ["81", "91"],
        "UF_CRM_1721244634567": "5",
        "UF_CRM_1721244656789": "IT",
        "UF_CRM_1721244667890": "117",
        "UF_CRM_1721244678901": null,
        "UF_CRM_1721244689012": "15",
        "UF_CRM_1721244689013": ["CO_3", "T4c4_6"],
        "UF_CRM_1721244701234": [1001],
        "PARENT_ID_153": "7",
        "PARENT_ID_1220": null,
        "BEGINDATE": "2024-08-30T03:00:00+03:00",
    });
    for (k, v) in expect.as_object().unwrap() {
        assert_eq!(&d[k], v, "{k}");
    }
    // Empty user fields per type.
    let empty = add_deal(&c, &url, json!({CHANNEL: 3476})).await;
    let e = emu.deal(empty).unwrap();
    assert_eq!(e["UF_CRM_1721244482250"], Value::Null);
    assert_eq!(e["UF_CRM_1721244567890"], "");
    assert_eq!(e["UF_CRM_1721244545678"], "");
    assert_eq!(e["UF_CRM_1721244589012"], "");
    assert_eq!(
        e["UF_CRM_1721244534567"], "0",
        "boolean gets its DEFAULT_VALUE"
    );
    assert!(
        e.get("UF_CRM_1721244612345").is_none(),
        "empty single file is absent"
    );
    assert_eq!(e["UF_CRM_1721244612346"], json!([]));
    assert_eq!(e["UF_CRM_1721244601234"], json!([]));
    // Unknown enumeration ids and unparsable dates are ignored.
    post_json(
        &c,
        &url,
        "crm.deal.update",
        &json!({"id": id, "fields": {
        CHANNEL: "9999", "UF_CRM_1721244545678": "someday"}}),
    )
    .await
    .ok();
    let d2 = emu.deal(id).unwrap();
    assert_eq!(d2[CHANNEL], "3492");
    assert_eq!(d2["UF_CRM_1721244545678"], d["UF_CRM_1721244545678"]);
    emu.shutdown().await;
}

#[tokio::test]
async fn statuses_and_pipelines() {
    let emu = demo().await;
    let c = client();
    let url = emu.webhook_url();
    let stages = post_json(
        &c,
        &url,
        "crm.status.list",
        &json!({"filter": {"ENTITY_ID": "DEAL_STAGE_1"}}),
    )
    .await;
    let rows = stages.ok().as_array().unwrap();
    assert_eq!(rows[0]["STATUS_ID"], "C1:NEW");
    assert_eq!(rows[0]["CATEGORY_ID"], "1");
    assert!(rows.iter().any(|r| r["SEMANTICS"] == "S"));
    let types = post_json(
        &c,
        &url,
        "crm.status.list",
        &json!({"filter": {"ENTITY_ID": "DEAL_TYPE"}}),
    )
    .await;
    assert!(
        types
            .ok()
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["STATUS_ID"] == "COMPLEX")
    );
    let sources = get(&c, &url, "crm.status.list", "filter[ENTITY_ID]=SOURCE").await;
    assert!(
        sources
            .ok()
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["STATUS_ID"] == "CALLBACK")
    );
    let cats = post_json(&c, &url, "crm.category.list", &json!({"entityTypeId": 2})).await;
    let list = cats.ok()["categories"].as_array().unwrap();
    assert_eq!(list[0]["id"], 0);
    assert_eq!(list[0]["isDefault"], "Y");
    assert_eq!(cats.json["total"], list.len());
    emu.shutdown().await;
}

#[tokio::test]
async fn a_renamed_portal_answers_302_to_its_new_address() {
    let old = demo().await;
    let new = Emulator::start(Config::default().with_deals(3))
        .await
        .unwrap();
    old.set_renamed(Some(new.base_url()));
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = no_redirects
        .get(format!("{}crm.deal.get?id=2", old.webhook_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 302);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(location, format!("{}crm.deal.get?id=2", new.webhook_url()));
    // A client that follows redirects reads from the new portal.
    let followed = get(&client(), &old.webhook_url(), "crm.deal.get", "id=2").await;
    assert_eq!(followed.ok()["ID"], "2");
    old.set_renamed(None);
    post_json(&client(), &old.webhook_url(), "crm.deal.fields", &json!({}))
        .await
        .ok();
    old.shutdown().await;
    new.shutdown().await;
}

#[tokio::test]
async fn invalid_configurations_are_refused_with_a_reason() {
    let c = Config {
        webhook_code: "a/b".into(),
        ..Config::default()
    };
    let err = Emulator::start(c).await.unwrap_err().to_string();
    assert!(err.contains("webhook_code"), "{err}");
    let err = Emulator::start(
        Config::default().with_fields(json!({"fields": {"TITLE": {"type": "string"}}})),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("no ID field"), "{err}");
}

#[tokio::test]
async fn bodies_above_the_limit_are_refused_with_413_unread() {
    let emu = Emulator::start(Config::default().with_max_body_bytes(4096))
        .await
        .unwrap();
    let url = format!("{}crm.deal.list", emu.webhook_url());
    // Under the limit: served.
    let small = client()
        .post(&url)
        .header("Content-Type", "application/json")
        .body(format!(
            r#"{{"select": ["ID"], "pad": "{}"}}"#,
            "x".repeat(3000)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(small.status().as_u16(), 200);
    // A declared length above the limit is refused before the body is read.
    let big = client()
        .post(&url)
        .header("Content-Type", "application/json")
        .body(format!(r#"{{"pad": "{}"}}"#, "x".repeat(5000)))
        .send()
        .await
        .unwrap();
    assert_eq!(big.status().as_u16(), 413);
    assert!(
        big.text()
            .await
            .unwrap()
            .contains("413 Request Entity Too Large")
    );
    // A chunked body carries no length: it is counted while read and refused at the limit.
    let path = webhook_path(&emu);
    let chunk = {
        let mut c = format!("{:x}\r\n", 1024).into_bytes();
        c.extend(std::iter::repeat_n(b'x', 1024));
        c.extend(b"\r\n");
        c
    };
    let answer = raw_exchange(
        &emu,
        format!(
            "POST {path}crm.deal.list HTTP/1.1\r\nHost: portal\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
        ),
        &vec![chunk; 64],
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    emu.shutdown().await;
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let emu = Emulator::start(
        Config::default().with_header_timeout(std::time::Duration::from_millis(200)),
    )
    .await
    .unwrap();
    let path = webhook_path(&emu);
    // Half a request line and no more: the server closes the connection without an answer.
    let answer = raw_exchange(&emu, format!("GET {path}crm.deal"), &[]).await;
    assert!(!answer.contains("200 OK"), "{answer}");
    // A whole request on a fresh connection is still served.
    let ok = get(&client(), &emu.webhook_url(), "crm.deal.fields", "").await;
    ok.ok();
    emu.shutdown().await;
}

#[tokio::test]
async fn an_english_portal_writes_its_own_texts_in_english() {
    use bitrix_emulator::Lang;
    let emu = Emulator::start(Config::default().with_lang(Lang::En))
        .await
        .unwrap();
    let c = client();
    let url = emu.webhook_url();
    let fields = post_json(&c, &url, "crm.deal.fields", &json!({})).await;
    let fields = fields.ok();
    assert_eq!(fields["TITLE"]["title"], "Title");
    assert_eq!(fields["OPPORTUNITY"]["title"], "Amount");
    // A user field's labels are the portal's data, not its language.
    assert_eq!(fields[CHANNEL]["formLabel"], "Канал продаж");
    // The required enumeration user field, left out.
    post_json(&c, &url, "crm.deal.add", &json!({"fields": {"TITLE": "x"}}))
        .await
        .assert_error(400, "", "Field \"Канал продаж\" is required.");
    let id = post_json(
        &c,
        &url,
        "crm.deal.add",
        &json!({"fields": {CHANNEL: 3476}}),
    )
    .await;
    let id = id.ok().as_u64().unwrap();
    assert_eq!(emu.deal(id).unwrap()["TITLE"], format!("Deal #{id}"));
    emu.shutdown().await;

    // The default stays Russian.
    let emu = demo().await;
    let fields = post_json(&c, &emu.webhook_url(), "crm.deal.fields", &json!({})).await;
    assert_eq!(fields.ok()["TITLE"]["title"], "Название");
    emu.shutdown().await;
}
