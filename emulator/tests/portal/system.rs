//! The methods SDK suites call first: `server.time`, `profile`, `user.current`, `app.info`,
//! `scope`, `methods`, `method.get`, compared with the official documentation's example
//! answers (keys, order and value types), for the webhook and for the OAuth application.

use crate::common::*;
use bitrix_emulator::{Config, Emulator, Lang};
use chrono::{DateTime, FixedOffset, Utc};
use serde_json::{Value, json};

async fn emulator() -> Emulator {
    Emulator::start(Config::default().with_deals(2))
        .await
        .expect("the emulator starts")
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap_or_else(|| panic!("not a string: {s}")))
        .collect()
}

#[tokio::test]
async fn server_time_is_now_in_the_portal_offset() {
    let config = Config {
        utc_offset: FixedOffset::east_opt(5 * 3600).unwrap(),
        ..Config::default()
    };
    let emu = Emulator::start(config).await.unwrap();
    let c = client();
    let answer = post_json(&c, &emu.webhook_url(), "server.time", &json!({})).await;
    // Documented: "2024-08-05T09:02:13+00:00", a string in the server's zone.
    let text = answer.ok().as_str().expect("a string").to_owned();
    let t = DateTime::parse_from_rfc3339(&text).expect("YYYY-MM-DDThh:mm:ss+hh:mm");
    assert!(text.ends_with("+05:00"), "{text}");
    assert_eq!(text.len(), "2024-08-05T09:02:13+00:00".len(), "{text}");
    let skew = (Utc::now() - t.with_timezone(&Utc)).num_seconds().abs();
    assert!(skew <= 5, "{text} is {skew} s away from now");
    // GET, form body and batch reach it too.
    let got = get(&c, &emu.webhook_url(), "server.time.json", "").await;
    assert!(got.ok().as_str().is_some());
    let batch = post_json(
        &c,
        &emu.webhook_url(),
        "batch",
        &json!({"cmd": {"t": "server.time", "p": "profile", "m": "method.get?name=batch"}}),
    )
    .await;
    let r = &batch.ok()["result"];
    assert!(
        r["t"].as_str().is_some_and(|s| s.ends_with("+05:00")),
        "{r}"
    );
    assert_eq!(r["p"]["ID"], "1");
    assert_eq!(r["m"], json!({"isExisting": true, "isAvailable": true}));
    emu.shutdown().await;
}

#[tokio::test]
async fn profile_and_user_current_are_the_webhook_admin() {
    let emu = emulator().await;
    let c = client();
    let url = emu.webhook_url();
    let profile = post_json(&c, &url, "profile", &json!({})).await;
    let doc = json!({
        "ID": "1", "ADMIN": true, "NAME": "Vadim", "LAST_NAME": "Valeev",
        "PERSONAL_GENDER": "", "TIME_ZONE": ""
    });
    assert_same_shape(&doc, profile.ok(), "profile", &[]);
    assert_eq!(profile.ok()["ID"], "1");
    assert_eq!(profile.ok()["ADMIN"], true);

    let me = post_json(&c, &url, "user.current", &json!({})).await;
    let doc = json!({
        "ID": "3", "ACTIVE": true, "NAME": "John", "LAST_NAME": "Doe",
        "EMAIL": "test@gmail.com", "LAST_LOGIN": "2024-07-23T08:07:26+00:00",
        "DATE_REGISTER": "2024-07-22T00:00:00+00:00", "IS_ONLINE": "Y",
        "LAST_ACTIVITY_DATE": "2024-07-23 08:08:50", "PERSONAL_GENDER": "",
        "PERSONAL_BIRTHDAY": "", "WORK_POSITION": "", "UF_EMPLOYMENT_DATE": "",
        "UF_DEPARTMENT": [1]
    });
    // The `user` scope's fuller record adds the keys `user.get`'s example shows.
    let extra = [
        "SECOND_NAME",
        "TIME_ZONE",
        "PERSONAL_WWW",
        "PERSONAL_MOBILE",
        "PERSONAL_CITY",
        "WORK_PHONE",
        "USER_TYPE",
    ];
    let user = me.ok();
    assert_same_shape(&doc, user, "user.current", &extra);
    assert_eq!(user["ID"], profile.ok()["ID"]);
    assert_eq!(user["NAME"], profile.ok()["NAME"]);
    assert!(user["EMAIL"].as_str().is_some_and(|e| e.contains('@')));
    assert!(user["DATE_REGISTER"].as_str().unwrap().ends_with("+03:00"));
    assert_eq!(
        post_json(&c, &url, "user.admin", &json!({})).await.ok(),
        true
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn app_info_differs_for_a_webhook_and_an_application() {
    let emu = emulator().await;
    let c = client();
    let hook = post_json(&c, &emu.webhook_url(), "app.info", &json!({})).await;
    let info = hook.ok().as_object().expect("an object");
    let keys: Vec<&str> = info.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["SCOPE", "LICENSE"],
        "a webhook has no application record"
    );
    let scope = post_json(&c, &emu.webhook_url(), "scope", &json!({})).await;
    assert_eq!(info["SCOPE"], *scope.ok());
    assert!(info["LICENSE"].as_str().is_some_and(|l| l.contains('_')));

    let app = emu.oauth();
    let base = format!("{}/rest/", emu.base_url());
    let answer = post_json(&c, &base, "app.info", &json!({"auth": app.access_token})).await;
    let doc = json!({
        "ID": 5, "CODE": "telefum24.kp10", "VERSION": 4, "STATUS": "F", "INSTALLED": true,
        "PAYMENT_EXPIRED": "N", "DAYS": null, "LANGUAGE_ID": "de", "LICENSE": "de_ent10000",
        "LICENSE_TYPE": "ent10000", "LICENSE_FAMILY": "ent"
    });
    let got = answer.ok();
    assert_same_shape(&doc, got, "app.info", &[]);
    assert_eq!(got["CODE"], app.client_id);
    assert_eq!(got["STATUS"], "L", "a local application");
    assert_eq!(got["LICENSE"], info["LICENSE"]);
    let license = got["LICENSE"].as_str().unwrap();
    let family = got["LICENSE_FAMILY"].as_str().unwrap();
    assert!(license.ends_with(got["LICENSE_TYPE"].as_str().unwrap()));
    assert!(got["LICENSE_TYPE"].as_str().unwrap().starts_with(family));
    assert_eq!(got["LANGUAGE_ID"], "ru");
    assert!(
        license.starts_with("ru_"),
        "the base language is the prefix"
    );
    // The token endpoint reports the same scopes.
    let refreshed = get(
        &c,
        &format!("{}/oauth/token/", emu.base_url()),
        "",
        &format!(
            "grant_type=refresh_token&client_id={}&client_secret={}&refresh_token={}",
            app.client_id, app.client_secret, app.refresh_token
        ),
    )
    .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    let scopes: Vec<&str> = strings(scope.ok());
    assert_eq!(refreshed.json["scope"], scopes.join(","));
    emu.shutdown().await;
}

#[tokio::test]
async fn scope_lists_the_callers_scopes_or_all_of_the_portal() {
    let emu = emulator().await;
    let c = client();
    let url = emu.webhook_url();
    let mine = post_json(&c, &url, "scope", &json!({})).await;
    assert_eq!(strings(mine.ok()), ["crm", "user"], "basic is never listed");
    let all = post_json(&c, &url, "scope", &json!({"full": true})).await;
    let all = strings(all.ok());
    assert!(all.len() > 2 && strings(mine.ok()).iter().all(|s| all.contains(s)));
    // Form data: the string "false" is true for PHP, "0" is false (the docs' warning).
    let form_false = post_form(&c, &url, "scope", "full=false").await;
    assert_eq!(strings(form_false.ok()), all);
    let form_zero = post_form(&c, &url, "scope", "full=0").await;
    assert_eq!(form_zero.ok(), mine.ok());
    emu.shutdown().await;
}

#[tokio::test]
async fn methods_and_method_get_answer_from_what_is_served() {
    let emu = emulator().await;
    let c = client();
    let url = emu.webhook_url();
    let listed = post_json(&c, &url, "methods", &json!({})).await;
    let listed: Vec<String> = strings(listed.ok())
        .into_iter()
        .map(str::to_owned)
        .collect();
    for m in [
        "batch",
        "server.time",
        "user.current",
        "crm.deal.list",
        "crm.status.entity.items",
        "crm.category.add",
    ] {
        assert!(
            listed.iter().any(|l| l == m),
            "{m} is not listed: {listed:?}"
        );
    }
    let full = post_json(&c, &url, "methods", &json!({"full": true})).await;
    assert_eq!(
        strings(full.ok()),
        listed,
        "the webhook holds every served scope"
    );

    // Every listed method exists (no 404) and method.get agrees; nothing else is served.
    for m in &listed {
        let answer = post_json(&c, &url, m, &json!({})).await;
        assert_ne!(
            answer.status, 404,
            "{m} is listed but not served: {}",
            answer.text
        );
        let check = post_json(&c, &url, "method.get", &json!({"name": m})).await;
        assert_eq!(
            *check.ok(),
            json!({"isExisting": true, "isAvailable": true}),
            "{m}"
        );
    }
    let missing = post_json(&c, &url, "crm.deal.lst", &json!({})).await;
    missing.assert_error(404, "ERROR_METHOD_NOT_FOUND", "Method not found!");
    let none = json!({"isExisting": false, "isAvailable": false});
    for body in [
        json!({"name": "crm.deal.lst"}),
        json!({"name": "CRM.Deal.List"}),
        json!({"NAME": "crm.deal.list"}),
        json!({"name": ""}),
        json!({}),
    ] {
        let check = post_json(&c, &url, "method.get", &body).await;
        assert_eq!(*check.ok(), none, "{body}");
    }

    // scope: "" is the basic methods, "crm" the CRM ones, an unknown code nothing.
    let basic = post_json(&c, &url, "methods", &json!({"scope": ""})).await;
    let basic = strings(basic.ok());
    assert!(basic.contains(&"batch") && basic.contains(&"method.get"));
    assert!(
        !basic
            .iter()
            .any(|m| m.starts_with("crm.") || *m == "user.current")
    );
    let crm = post_json(&c, &url, "methods", &json!({"scope": "crm", "full": true})).await;
    let crm = strings(crm.ok());
    assert!(!crm.is_empty() && crm.iter().all(|m| m.starts_with("crm.")));
    assert_eq!(
        crm.len(),
        listed.iter().filter(|m| m.starts_with("crm.")).count()
    );
    let user = post_json(&c, &url, "methods", &json!({"scope": "user_basic"})).await;
    assert_eq!(strings(user.ok()), ["user.current"]);
    let unknown = post_json(&c, &url, "methods", &json!({"scope": "telephony"})).await;
    assert_eq!(*unknown.ok(), json!([]));
    emu.shutdown().await;
}

#[tokio::test]
async fn an_english_portal_names_its_own_things_in_english() {
    let emu = Emulator::start(Config::default().with_lang(Lang::En))
        .await
        .unwrap();
    let c = client();
    let hook = post_json(&c, &emu.webhook_url(), "app.info", &json!({})).await;
    assert!(hook.ok()["LICENSE"].as_str().unwrap().starts_with("en_"));
    let base = format!("{}/rest/", emu.base_url());
    let auth = json!({"auth": emu.oauth().access_token});
    let app = post_json(&c, &base, "app.info", &auth).await;
    assert_eq!(app.ok()["LANGUAGE_ID"], "en");
    let types = post_json(
        &c,
        &emu.webhook_url(),
        "crm.status.entity.types",
        &json!({}),
    )
    .await;
    let names: Vec<&str> = types
        .ok()
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["NAME"].as_str().unwrap())
        .collect();
    // Pipeline names are the portal's data and stay as they are.
    assert_eq!(names[..3], ["Sources", "Industry", "Deal type"]);
    assert!(
        names.iter().any(|n| n.ends_with(" deal stages")),
        "{names:?}"
    );
    assert!(names.contains(&"Invoice stages"), "{names:?}");
    emu.shutdown().await;
}
