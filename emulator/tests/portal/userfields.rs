//! `crm.deal.userfield.*`: a new user field shows up in `crm.deal.fields` with a real
//! descriptor and can hold values; updates and deletes reach the descriptors.

use crate::common::*;
use bitrix_emulator::{Config, Emulator};
use serde_json::{Value, json};

#[tokio::test]
async fn add_get_list_update_delete() {
    let emu = Emulator::start(Config::default().with_seed_portal().with_deals(3))
        .await
        .unwrap();
    let c = client();
    let url = emu.webhook_url();
    let added = post_json(
        &c,
        &url,
        "crm.deal.userfield.add",
        &json!({"fields": {
            "FIELD_NAME": "PRIORITY",
            "USER_TYPE_ID": "enumeration",
            "MULTIPLE": "N",
            "MANDATORY": "N",
            "EDIT_FORM_LABEL": {"ru": "Приоритет", "en": "Priority"},
            "LIST_COLUMN_LABEL": "Приор.",
            "LIST": [{"VALUE": "Высокий", "DEF": "N"}, {"VALUE": "Низкий", "DEF": "Y"}],
            "SETTINGS": {"DISPLAY": "UI"},
        }}),
    )
    .await;
    let uf_id = added.ok().as_u64().expect("the new field's id");

    let fields = post_json(&c, &url, "crm.deal.fields", &json!({})).await;
    let d = &fields.ok()["UF_CRM_PRIORITY"];
    assert_eq!(d["type"], "enumeration");
    assert_eq!(d["isDynamic"], true);
    assert_eq!(d["isMultiple"], false);
    assert_eq!(d["title"], "UF_CRM_PRIORITY");
    assert_eq!(d["formLabel"], "Приоритет");
    assert_eq!(d["listLabel"], "Приор.");
    assert_eq!(d["filterLabel"], "UF_CRM_PRIORITY");
    assert_eq!(d["settings"]["DISPLAY"], "UI");
    assert_eq!(
        d["settings"]["LIST_HEIGHT"], 1,
        "defaults of the type are filled in"
    );
    let items = d["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let high: u64 = items[0]["ID"].as_str().unwrap().parse().unwrap();
    let low: u64 = items[1]["ID"].as_str().unwrap().parse().unwrap();
    assert_eq!(items[0]["VALUE"], "Высокий");
    assert!(low > high);

    // Existing deals have no value; a new deal gets the DEF item; values are written and read.
    assert_eq!(emu.deal(1).unwrap()["UF_CRM_PRIORITY"], Value::Null);
    let id = add_deal(&c, &url, json!({"TITLE": "p"})).await;
    assert_eq!(emu.deal(id).unwrap()["UF_CRM_PRIORITY"], low.to_string());
    post_json(
        &c,
        &url,
        "crm.deal.update",
        &json!({"id": id, "fields": {"UF_CRM_PRIORITY": high}}),
    )
    .await
    .ok();
    let listed = post_json(
        &c,
        &url,
        "crm.deal.list",
        &json!({"filter": {"UF_CRM_PRIORITY": high}, "select": ["UF_*"]}),
    )
    .await;
    assert_eq!(listed.ok()[0]["ID"], id.to_string());
    assert_eq!(listed.ok()[0]["UF_CRM_PRIORITY"], high.to_string());

    let one = post_json(&c, &url, "crm.deal.userfield.get", &json!({"id": uf_id})).await;
    let one = one.ok();
    assert_eq!(one["FIELD_NAME"], "UF_CRM_PRIORITY");
    assert_eq!(one["ENTITY_ID"], "CRM_DEAL");
    assert_eq!(one["USER_TYPE_ID"], "enumeration");
    assert_eq!(one["LIST"][1]["DEF"], "Y");
    let all = post_json(
        &c,
        &url,
        "crm.deal.userfield.list",
        &json!({"filter": {"USER_TYPE_ID": "enumeration"}}),
    )
    .await;
    assert_eq!(all.ok().as_array().unwrap().len(), 1);
    let all = post_json(&c, &url, "crm.deal.userfield.list", &json!({})).await;
    assert_eq!(
        all.ok().as_array().unwrap().len(),
        2,
        "the seed portal's own field too"
    );

    // Update: a new item with a fresh id, one deleted, a new label, mandatory.
    post_json(
        &c,
        &url,
        "crm.deal.userfield.update",
        &json!({"id": uf_id, "fields": {
            "MANDATORY": "Y",
            "EDIT_FORM_LABEL": "Срочность",
            "LIST": [{"ID": low, "DEL": "Y"}, {"VALUE": "Средний"}],
        }}),
    )
    .await
    .ok();
    let d = emu.fields()["UF_CRM_PRIORITY"].clone();
    assert_eq!(d["isRequired"], true);
    assert_eq!(d["formLabel"], "Срочность");
    let values: Vec<&str> = d["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["VALUE"].as_str().unwrap())
        .collect();
    assert_eq!(values, ["Высокий", "Средний"]);
    let err = post_json(
        &c,
        &url,
        "crm.deal.add",
        &json!({"fields": {"TITLE": "needs priority"}}),
    )
    .await;
    assert_eq!(err.status, 400);
    assert!(
        err.json["error_description"]
            .as_str()
            .unwrap()
            .contains("Срочность"),
        "{}",
        err.text
    );

    // Errors: duplicate name, missing name, unknown type.
    let dup = post_json(
        &c,
        &url,
        "crm.deal.userfield.add",
        &json!({"fields": {"FIELD_NAME": "UF_CRM_PRIORITY", "USER_TYPE_ID": "string"}}),
    )
    .await;
    assert_eq!(
        (dup.status, dup.json["error"].as_str()),
        (400, Some("ERROR_CORE"))
    );
    let none = post_json(
        &c,
        &url,
        "crm.deal.userfield.add",
        &json!({"fields": {"USER_TYPE_ID": "string"}}),
    )
    .await;
    assert_eq!(none.status, 400);
    let bad = post_json(
        &c,
        &url,
        "crm.deal.userfield.add",
        &json!({"fields": {"FIELD_NAME": "X", "USER_TYPE_ID": "blob"}}),
    )
    .await;
    assert_eq!(bad.status, 400);

    // Delete: gone from the descriptors and from the deals; its values never come back.
    post_json(&c, &url, "crm.deal.userfield.delete", &json!({"id": uf_id}))
        .await
        .ok();
    assert!(emu.fields().get("UF_CRM_PRIORITY").is_none());
    assert!(emu.deal(id).unwrap().get("UF_CRM_PRIORITY").is_none());
    post_json(&c, &url, "crm.deal.userfield.get", &json!({"id": uf_id}))
        .await
        .assert_error(
            400,
            "ERROR_NOT_FOUND",
            &format!("The entity with ID '{uf_id}' is not found"),
        );
    post_json(
        &c,
        &url,
        "crm.deal.userfield.add",
        &json!({"fields": {"FIELD_NAME": "PRIORITY", "USER_TYPE_ID": "string", "LABEL": "Новое"}}),
    )
    .await
    .ok();
    assert_eq!(emu.deal(id).unwrap()["UF_CRM_PRIORITY"], Value::Null);
    assert_eq!(emu.fields()["UF_CRM_PRIORITY"]["listLabel"], "Новое");
    emu.shutdown().await;
}

/// The languages of a label in the documented `crm.deal.userfield.get` answer.
const DOC_LANGUAGES: [&str; 21] = [
    "ar", "br", "de", "en", "fr", "hi", "id", "in", "it", "ja", "kz", "la", "ms", "pl", "ru", "sc",
    "tc", "th", "tr", "ua", "vn",
];

fn per_language(text: &str) -> Value {
    Value::Object(
        DOC_LANGUAGES
            .iter()
            .map(|l| ((*l).to_owned(), json!(text)))
            .collect(),
    )
}

#[tokio::test]
async fn get_and_update_answer_as_documented() {
    let emu = Emulator::start(Config::default().with_seed_portal())
        .await
        .unwrap();
    let c = client();
    let url = emu.webhook_url();
    let id = post_json(
        &c,
        &url,
        "crm.deal.userfield.add",
        &json!({"fields": {"FIELD_NAME": "HELLO_WORLD", "USER_TYPE_ID": "string",
            "MULTIPLE": "Y", "SORT": 2000, "EDIT_FORM_LABEL": "Привет",
            "SETTINGS": {"DEFAULT_VALUE": "Hello, World!"}}}),
    )
    .await
    .ok()
    .as_u64()
    .unwrap();

    // The documented answer of a multiple string field: labels and messages per language.
    let label = per_language("Hello, World! Edit (changed)");
    let doc = json!({
        "ID": "6997", "ENTITY_ID": "CRM_DEAL", "FIELD_NAME": "UF_CRM_HELLO_WORLD",
        "USER_TYPE_ID": "string", "XML_ID": null, "SORT": "2000", "MULTIPLE": "Y",
        "MANDATORY": "N", "SHOW_FILTER": "N", "SHOW_IN_LIST": "Y", "EDIT_IN_LIST": "N",
        "IS_SEARCHABLE": "N",
        "SETTINGS": {"SIZE": 20, "ROWS": 10, "REGEXP": "", "MIN_LENGTH": 0, "MAX_LENGTH": 0,
            "DEFAULT_VALUE": "Hello, World! Default value (changed)"},
        "EDIT_FORM_LABEL": label, "LIST_COLUMN_LABEL": label, "LIST_FILTER_LABEL": label,
        "ERROR_MESSAGE": label, "HELP_MESSAGE": label
    });
    let get = |body: Value| {
        let (c, url) = (c.clone(), url.clone());
        async move { post_json(&c, &url, "crm.deal.userfield.get", &body).await }
    };
    let got = get(json!({"id": id})).await;
    assert_same_shape(&doc, got.ok(), "crm.deal.userfield.get", &[]);
    assert_eq!(got.ok()["EDIT_FORM_LABEL"], per_language("Привет"));
    assert_eq!(got.ok()["ERROR_MESSAGE"], per_language(""));
    assert_eq!(got.ok()["SETTINGS"]["DEFAULT_VALUE"], "Hello, World!");

    // update: messages too, SETTINGS merged, a SORT of 0 ignored, unknown keys dropped.
    let updated = post_json(
        &c,
        &url,
        "crm.deal.userfield.update",
        &json!({"id": id, "fields": {"ERROR_MESSAGE": "Ошибка", "HELP_MESSAGE": "Подсказка",
            "SORT": 0, "SHOW_FILTER": "Y", "SETTINGS": {"ROWS": 10}, "NO_SUCH": "x"}}),
    )
    .await;
    assert_eq!(*updated.ok(), true);
    let got = get(json!({"ID": id})).await;
    let f = got.ok();
    assert_eq!(f["ERROR_MESSAGE"], per_language("Ошибка"));
    assert_eq!(f["HELP_MESSAGE"], per_language("Подсказка"));
    assert_eq!(f["SORT"], "2000");
    assert_eq!(f["SHOW_FILTER"], "Y");
    assert_eq!(f["SETTINGS"]["ROWS"], 10);
    assert_eq!(f["SETTINGS"]["DEFAULT_VALUE"], "Hello, World!");

    // list: labels only with filter[LANG], then as text.
    let list = |filter: Value| {
        let (c, url) = (c.clone(), url.clone());
        async move {
            let all = post_json(
                &c,
                &url,
                "crm.deal.userfield.list",
                &json!({ "filter": filter }),
            )
            .await;
            all.ok()
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["FIELD_NAME"] == "UF_CRM_HELLO_WORLD")
                .cloned()
                .expect("listed")
        }
    };
    let plain = list(json!({})).await;
    assert!(plain.get("EDIT_FORM_LABEL").is_none(), "{plain}");
    let ru = list(json!({"LANG": "ru"})).await;
    assert_eq!(ru["EDIT_FORM_LABEL"], "Привет");
    assert_eq!(ru["HELP_MESSAGE"], "Подсказка");

    // Errors as documented.
    for method in [
        "crm.deal.userfield.get",
        "crm.deal.userfield.update",
        "crm.deal.userfield.delete",
    ] {
        post_json(&c, &url, method, &json!({"fields": {}}))
            .await
            .assert_error(400, "", "ID is not defined or invalid.");
        post_json(&c, &url, method, &json!({"id": 99_999, "fields": {}}))
            .await
            .assert_error(
                400,
                "ERROR_NOT_FOUND",
                "The entity with ID '99999' is not found",
            );
    }
    post_json(
        &c,
        &url,
        "crm.deal.userfield.update",
        &json!({"id": id, "fields": "x"}),
    )
    .await
    .assert_error(400, "", "Parameter 'fields' must be array.");
    emu.shutdown().await;
}
