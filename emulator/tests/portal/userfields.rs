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
        .assert_error(400, "", "Not found");
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
