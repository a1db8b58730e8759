//! Multifields (`PHONE`, `EMAIL`, `WEB`, `IM`, `LINK`) of leads, contacts and companies: the
//! legacy read form with ids, the documented write rules (lists and `n0` keys add, an `ID`
//! changes, an `ID` with an empty `VALUE` / `DELETE` / no `VALUE` deletes), the `HAS_*`
//! flags, exact-match filters, `select`, and `fm` on `crm.item.*`.

use crate::common::*;
use bitrix_emulator::Config;
use serde_json::{Value, json};

fn values(record: &Value, code: &str) -> Vec<(String, String, String)> {
    record[code]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    assert_eq!(e["TYPE_ID"], code);
                    assert!(e["ID"].as_str().unwrap().parse::<u64>().is_ok(), "{e}");
                    (
                        e["ID"].as_str().unwrap().to_owned(),
                        e["VALUE_TYPE"].as_str().unwrap().to_owned(),
                        e["VALUE"].as_str().unwrap().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn triples(list: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    list.iter()
        .map(|(a, b, c)| ((*a).into(), (*b).into(), (*c).into()))
        .collect()
}

#[tokio::test]
async fn the_documented_contact_example_and_update_rules() {
    let s = Session::start(Config::default()).await;
    // crm-contact-add.md's example (the multifield part).
    let id = s
        .add(
            "crm.contact.add",
            json!({"NAME": "John", "SECOND_NAME": "Doe", "LAST_NAME": "Smith",
                   "PHONE": [{"VALUE": "+1333333555", "VALUE_TYPE": "WORK"}, {"VALUE": "+15599888666", "VALUE_TYPE": "HOME"}],
                   "EMAIL": [{"VALUE": "john.smith@example.mailing", "VALUE_TYPE": "MAILING"}, {"VALUE": "john.smith@example.work", "VALUE_TYPE": "WORK"}]}),
        )
        .await;
    let get = s.call("crm.contact.get", json!({"id": id})).await;
    let c = get.ok();
    assert_eq!(
        values(c, "PHONE"),
        triples(&[("1", "WORK", "+1333333555"), ("2", "HOME", "+15599888666")])
    );
    assert_eq!(
        values(c, "EMAIL"),
        triples(&[
            ("3", "MAILING", "john.smith@example.mailing"),
            ("4", "WORK", "john.smith@example.work")
        ])
    );
    assert!(c.get("WEB").is_none(), "an empty multifield is absent");
    assert_eq!(c["HAS_PHONE"], "Y");
    assert_eq!(c["HAS_EMAIL"], "Y");
    assert_eq!(c["HAS_IMOL"], "N");
    let keys: Vec<&String> = c.as_object().unwrap().keys().collect();
    assert_eq!(
        keys[keys.len() - 2..],
        ["PHONE", "EMAIL"],
        "multifields come last"
    );

    // crm-contact-update.md: change by ID, add a new value, delete (empty VALUE, DELETE=Y,
    // ID alone).
    let upd = s
        .call(
            "crm.contact.update",
            json!({"id": id, "fields": {"PHONE": [
                {"ID": 2, "VALUE": "444444", "VALUE_TYPE": "MOBILE"},
                {"VALUE": "55555", "VALUE_TYPE": "WORK"}
            ]}}),
        )
        .await;
    assert_eq!(upd.ok(), &json!(true));
    let c = s.call("crm.contact.get", json!({"id": id})).await;
    assert_eq!(
        values(c.ok(), "PHONE"),
        triples(&[
            ("1", "WORK", "+1333333555"),
            ("2", "MOBILE", "444444"),
            ("5", "WORK", "55555")
        ])
    );
    s.call(
        "crm.contact.update",
        json!({"id": id, "fields": {
            "PHONE": [{"ID": 1, "DELETE": "Y"}, {"ID": 2, "VALUE": ""}, {"ID": 5}],
            "EMAIL": {"n0": {"VALUE": "third@example.com"}}
        }}),
    )
    .await
    .ok();
    let c = s.call("crm.contact.get", json!({"id": id})).await;
    assert!(c.ok().get("PHONE").is_none());
    assert_eq!(c.ok()["HAS_PHONE"], "N");
    assert_eq!(
        values(c.ok(), "EMAIL").last().unwrap(),
        &(
            "6".to_owned(),
            "WORK".to_owned(),
            "third@example.com".to_owned()
        ),
        "a value without VALUE_TYPE is WORK"
    );
}

#[tokio::test]
async fn filters_select_and_open_lines() {
    let s = Session::start(Config::default()).await;
    let a = s
        .add(
            "crm.lead.add",
            json!({"TITLE": "a", "PHONE": {"n0": {"VALUE": "+15454777777", "VALUE_TYPE": "OTHER"}},
                   "IM": [{"VALUE": "imol|livechat|1|67|21", "VALUE_TYPE": "OPENLINE"}]}),
        )
        .await;
    let b = s
        .add(
            "crm.lead.add",
            json!({"TITLE": "b", "EMAIL": [{"VALUE": "Info@Example.com", "VALUE_TYPE": "WORK"}]}),
        )
        .await;
    let ids = |a: &Answer| -> Vec<String> {
        a.ok()
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["ID"].as_str().unwrap().to_owned())
            .collect()
    };
    let by_phone = s
        .call(
            "crm.lead.list",
            json!({"filter": {"PHONE": "+15454777777"}, "select": ["ID"]}),
        )
        .await;
    assert_eq!(ids(&by_phone), [a.to_string()]);
    let by_email = s
        .call(
            "crm.lead.list",
            json!({"filter": {"EMAIL": "info@example.com"}, "select": ["ID"]}),
        )
        .await;
    assert_eq!(ids(&by_email), [b.to_string()]);
    let star = s
        .call(
            "crm.lead.list",
            json!({"select": ["*"], "filter": {"ID": a}}),
        )
        .await;
    assert!(
        star.ok()[0].get("PHONE").is_none(),
        "`*` has no multiple fields"
    );
    assert_eq!(star.ok()[0]["HAS_IMOL"], "Y");
    let explicit = s
        .call(
            "crm.lead.list",
            json!({"select": ["ID", "PHONE"], "filter": {"ID": a}}),
        )
        .await;
    assert_eq!(
        values(&explicit.ok()[0], "PHONE"),
        triples(&[("1", "OTHER", "+15454777777")])
    );
}

#[tokio::test]
async fn fm_on_crm_item() {
    let s = Session::start(Config::default()).await;
    let added = s
        .call(
            "crm.item.add",
            json!({"entityTypeId": 4, "fields": {"title": "ООО Тест", "fm": [
                {"valueType": "WORK", "value": "+79999999", "typeId": "PHONE"},
                {"valueType": "WORK", "value": "bitrix@bitrix.com", "typeId": "EMAIL"}
            ]}}),
        )
        .await;
    let item = &added.ok()["item"];
    assert_eq!(
        item["fm"],
        json!([
            {"id": 1, "valueType": "WORK", "value": "+79999999", "typeId": "PHONE"},
            {"id": 2, "valueType": "WORK", "value": "bitrix@bitrix.com", "typeId": "EMAIL"}
        ])
    );
    assert_eq!(item["hasPhone"], "Y");
    assert!(item.get("phone").is_none() && item.get("PHONE").is_none());
    let id = item["id"].clone();
    // crm-item-update.md: nN adds, an id changes, an id with an empty value deletes.
    let upd = s
        .call(
            "crm.item.update",
            json!({"entityTypeId": 4, "id": id, "fields": {"fm": {
                "n0": {"typeId": "WEB", "valueType": "WORK", "value": "https://example.com/"},
                "1": {"typeId": "PHONE", "valueType": "MOBILE", "value": "+499990000000"},
                "2": {"typeId": "EMAIL", "value": ""}
            }}}),
        )
        .await;
    assert_eq!(
        upd.ok()["item"]["fm"],
        json!([
            {"id": 1, "valueType": "MOBILE", "value": "+499990000000", "typeId": "PHONE"},
            {"id": 3, "valueType": "WORK", "value": "https://example.com/", "typeId": "WEB"}
        ])
    );
    assert_eq!(upd.ok()["item"]["hasEmail"], "N");
    // The legacy read sees the same values; fm only comes with the full select.
    let legacy = s.call("crm.company.get", json!({"id": id})).await;
    assert_eq!(
        values(legacy.ok(), "PHONE"),
        triples(&[("1", "MOBILE", "+499990000000")])
    );
    // crm.item.fields shows them as one `fm` field (object-fields.md), not PHONE/EMAIL.
    let fields = s.call("crm.item.fields", json!({"entityTypeId": 4})).await;
    let f = &fields.ok()["fields"];
    assert_eq!(f["fm"]["type"], "crm_multifield");
    assert_eq!(f["fm"]["isMultiple"], true);
    assert!(f.get("phone").is_none() && f.get("email").is_none());
    assert_eq!(f["hasPhone"]["upperName"], "HAS_PHONE");
    let narrow = s
        .call(
            "crm.item.list",
            json!({"entityTypeId": 4, "select": ["id", "title"]}),
        )
        .await;
    assert!(narrow.ok()["items"][0].get("fm").is_none());
    let full = s
        .call("crm.item.list", json!({"entityTypeId": 4, "select": ["*"]}))
        .await;
    assert_eq!(full.ok()["items"][0]["fm"].as_array().unwrap().len(), 2);
}
