//! Leads, contacts, companies and quotes on their legacy methods (`crm.lead.*`, ...): the same
//! envelopes, defaults, filters, paging and errors as deals, each entity's own field list and
//! user fields, and the entity-specific "not found" messages of the docs.

use crate::common::*;
use bitrix_emulator::Config;
use serde_json::{Value, json};

async fn start() -> Session {
    Session::start(Config::default()).await
}

#[tokio::test]
async fn every_legacy_entity_has_its_documented_fields() {
    let s = start().await;
    for (entity, codes) in [
        (
            "lead",
            &["TITLE", "STATUS_ID", "HAS_PHONE", "PHONE", "CONTACT_IDS"][..],
        ),
        (
            "contact",
            &["NAME", "LAST_NAME", "TYPE_ID", "COMPANY_IDS", "EMAIL"][..],
        ),
        (
            "company",
            &["TITLE", "COMPANY_TYPE", "REVENUE", "IS_MY_COMPANY", "WEB"][..],
        ),
        (
            "quote",
            &["TITLE", "QUOTE_NUMBER", "STATUS_ID", "DEAL_ID"][..],
        ),
    ] {
        let fields = s.call(&format!("crm.{entity}.fields"), json!({})).await;
        let f = fields.ok();
        assert_eq!(f["ID"]["type"], "integer", "{entity}");
        assert_eq!(f["ID"]["isReadOnly"], true, "{entity}");
        for code in codes {
            assert!(f.get(*code).is_some(), "crm.{entity}.fields lacks {code}");
        }
    }
    let lead = s.call("crm.lead.fields", json!({})).await;
    assert_eq!(lead.ok()["STATUS_ID"]["statusType"], "STATUS");
    assert_eq!(lead.ok()["PHONE"]["type"], "crm_multifield");
    assert_eq!(lead.ok()["PHONE"]["isMultiple"], true);
    let company = s.call("crm.company.fields", json!({})).await;
    assert_eq!(company.ok()["TITLE"]["isRequired"], true);
}

#[tokio::test]
async fn leads_round_trip_with_defaults_filters_and_paging() {
    let s = start().await;
    let mut ids = Vec::new();
    for i in 0..55 {
        let add = s.call("crm.lead.add",
            json!({"fields": {"NAME": format!("Имя {i}"), "OPPORTUNITY": 100 * i, "CURRENCY_ID": "USD"}}),
        )
        .await;
        ids.push(add.ok().as_u64().expect("crm.lead.add answers the id"));
    }
    assert_eq!(ids[0], 1);
    let got = s.call("crm.lead.get", json!({"id": ids[3]})).await;
    let lead = got.ok();
    assert_eq!(lead["ID"], "4");
    assert_eq!(lead["NAME"], "Имя 3");
    assert_eq!(
        lead["TITLE"], "Лид #4",
        "a lead without a title gets the default one"
    );
    assert_eq!(lead["OPPORTUNITY"], "300.00");
    assert_eq!(lead["CURRENCY_ID"], "USD");
    assert_eq!(lead["OPENED"], "Y");
    assert_eq!(lead["ASSIGNED_BY_ID"], "1");
    assert!(looks_like_datetime(lead["DATE_CREATE"].as_str().unwrap()));

    let page = s.call("crm.lead.list",
        json!({"filter": {">OPPORTUNITY": 1000}, "select": ["ID", "NAME"], "order": {"ID": "DESC"}}),
    )
    .await;
    let rows = page.ok().as_array().unwrap();
    assert_eq!(rows.len(), 44);
    assert_eq!(rows[0], json!({"ID": "55", "NAME": "Имя 54"}));
    assert_eq!(page.json["total"], 44);

    let first = s.call("crm.lead.list", json!({})).await;
    assert_eq!(first.ok().as_array().unwrap().len(), 50);
    assert_eq!(first.json["next"], 50);
    assert_eq!(first.json["total"], 55);

    let upd = s
        .call(
            "crm.lead.update",
            json!({"id": 4, "fields": {"TITLE": "Новый лид", "ID": 99}}),
        )
        .await;
    assert_eq!(upd.ok(), &json!(true));
    let got = s.call("crm.lead.get", json!({"id": 4})).await;
    assert_eq!(got.ok()["TITLE"], "Новый лид");
    let del = s.call("crm.lead.delete", json!({"id": 4})).await;
    assert_eq!(del.ok(), &json!(true));
    s.call("crm.lead.get", json!({"id": 4}))
        .await
        .assert_error(400, "", "Not found");
    s.call("crm.lead.get", json!({}))
        .await
        .assert_error(400, "", "ID is not defined or invalid.");
    // Leads and deals are separate tables.
    s.call("crm.deal.get", json!({"id": 1}))
        .await
        .assert_error(400, "", "Not found");
}

#[tokio::test]
async fn missing_records_answer_each_entitys_documented_message() {
    let s = start().await;
    for (method, code, message) in [
        ("crm.contact.update", "", "Contact is not found"),
        ("crm.contact.delete", "ERROR_CORE", "Element not found"),
        ("crm.company.update", "", "Company is not found"),
        ("crm.company.delete", "", "Company is not found"),
        ("crm.quote.update", "", "Quote is not found"),
        ("crm.quote.delete", "ERROR_CORE", "Element not found"),
        ("crm.lead.update", "", "Not found"),
        ("crm.company.get", "", "Not found"),
    ] {
        s.call(method, json!({"id": 777, "fields": {"TITLE": "x"}}))
            .await
            .assert_error(400, code, message);
    }
}

#[tokio::test]
async fn required_fields_and_default_titles_per_entity() {
    let s = start().await;
    // A company needs its TITLE (isRequired in crm.company.fields).
    s.call("crm.company.add", json!({"fields": {"REVENUE": 5}}))
        .await
        .assert_error(400, "", "Поле \"Company Name\" обязательно для заполнения.");
    let id = s.call("crm.company.add",
        json!({"fields": {"TITLE": "ООО Ромашка", "REVENUE": "1500000.5", "IS_MY_COMPANY": "Y"}}),
    )
    .await
    .ok()
    .as_u64()
    .unwrap();
    let co = s.call("crm.company.get", json!({"id": id})).await;
    assert_eq!(co.ok()["REVENUE"], "1500000.50");
    assert_eq!(co.ok()["IS_MY_COMPANY"], "Y");
    assert_eq!(co.ok()["CURRENCY_ID"], "RUB");
    let q = s
        .call("crm.quote.add", json!({"fields": {"TITLE": "КП"}}))
        .await;
    let qid = q.ok().as_u64().unwrap();
    let quote = s.call("crm.quote.get", json!({"id": qid})).await;
    assert_eq!(quote.ok()["TITLE"], "КП");
    assert_eq!(quote.ok()["OPENED"], "Y");
    // A contact: the docs' crm.contact.fields mark NAME, SECOND_NAME and LAST_NAME required.
    let contact = s.call("crm.contact.add",
        json!({"fields": {"NAME": "John", "SECOND_NAME": "Doe", "LAST_NAME": "Smith", "COMPANY_ID": id, "EXPORT": "N"}}),
    )
    .await;
    let cid = contact.ok().as_u64().unwrap();
    let got = s.call("crm.contact.get", json!({"id": cid})).await;
    assert_eq!(got.ok()["COMPANY_ID"], id.to_string());
    assert_eq!(got.ok()["EXPORT"], "N");
    assert!(got.ok().get("TITLE").is_none());
}

#[tokio::test]
async fn user_fields_per_entity() {
    let s = start().await;
    let added = s
        .call(
            "crm.contact.userfield.add",
            json!({"fields": {"FIELD_NAME": "HOBBY", "USER_TYPE_ID": "string", "LABEL": "Хобби"}}),
        )
        .await;
    let uf = added.ok().as_u64().unwrap();
    let got = s.call("crm.contact.userfield.get", json!({"id": uf})).await;
    assert_eq!(got.ok()["ENTITY_ID"], "CRM_CONTACT");
    assert_eq!(got.ok()["FIELD_NAME"], "UF_CRM_HOBBY");
    let contact_fields = s.call("crm.contact.fields", json!({})).await;
    assert_eq!(contact_fields.ok()["UF_CRM_HOBBY"]["formLabel"], "Хобби");
    // Only the contact has it.
    let lead_fields = s.call("crm.lead.fields", json!({})).await;
    assert!(lead_fields.ok().get("UF_CRM_HOBBY").is_none());
    assert!(lead_fields.ok().get("UF_CRM_1720019876534").is_some());
    let list = s.call("crm.lead.userfield.list", json!({})).await;
    let names: Vec<&str> = list
        .ok()
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["FIELD_NAME"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["UF_CRM_1720019876534", "UF_CRM_1720019880111"]);
    assert!(
        list.ok()
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["ENTITY_ID"] == "CRM_LEAD")
    );
    let id = s.call("crm.contact.add",
        json!({"fields": {"NAME": "A", "SECOND_NAME": "B", "LAST_NAME": "C", "UF_CRM_HOBBY": "шахматы"}}),
    )
    .await
    .ok()
    .as_u64()
    .unwrap();
    let rows = s
        .call(
            "crm.contact.list",
            json!({"filter": {"UF_CRM_HOBBY": "шахматы"}, "select": ["ID", "UF_*"]}),
        )
        .await;
    let rows = rows.ok().as_array().unwrap().clone();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["ID"], id.to_string());
    assert_eq!(rows[0]["UF_CRM_HOBBY"], "шахматы");
    let del = s
        .call("crm.contact.userfield.delete", json!({"id": uf}))
        .await;
    assert_eq!(del.ok(), &json!(true));
    s.call("crm.contact.userfield.get", json!({"id": uf}))
        .await
        .assert_error(
            400,
            "ERROR_NOT_FOUND",
            &format!("The entity with ID '{uf}' is not found"),
        );
}

#[tokio::test]
async fn item_only_types_have_no_legacy_methods_and_batch_reaches_the_new_ones() {
    let s = start().await;
    for method in [
        "crm.smart_invoice.list",
        "crm.dynamic.list",
        "crm.deal.recurring.list",
    ] {
        s.call(method, json!({})).await.assert_error(
            404,
            "ERROR_METHOD_NOT_FOUND",
            "Method not found!",
        );
    }
    let b = s
        .call(
            "batch",
            json!({"halt": 0, "cmd": {
                "lead": "crm.lead.add?fields[TITLE]=Из пакета",
                "read": "crm.lead.get?id=$result[lead]",
                "item": "crm.item.get?entityTypeId=1&id=$result[lead]",
                "companies": "crm.company.list?select[]=ID",
            }}),
        )
        .await;
    let r = &b.ok()["result"];
    assert_eq!(r["read"]["TITLE"], "Из пакета");
    assert_eq!(r["item"]["item"]["title"], "Из пакета");
    assert_eq!(r["item"]["item"]["id"], r["lead"]);
    assert_eq!(r["companies"], json!([]));
    let methods = s.call("methods", json!({})).await;
    let list: Vec<Value> = methods.ok().as_array().unwrap().clone();
    for m in [
        "crm.lead.add",
        "crm.quote.userfield.list",
        "crm.item.list",
        "crm.type.add",
    ] {
        assert!(list.contains(&json!(m)), "methods lacks {m}");
    }
}

#[tokio::test]
async fn directories_of_the_other_entities_give_the_first_item_by_default() {
    let s = start().await;
    let lead = s.add("crm.lead.add", json!({"TITLE": "x"})).await;
    let contact = s
        .add(
            "crm.contact.add",
            json!({"NAME": "a", "SECOND_NAME": "b", "LAST_NAME": "c"}),
        )
        .await;
    let company = s.add("crm.company.add", json!({"TITLE": "x"})).await;
    let quote = s.add("crm.quote.add", json!({"TITLE": "x"})).await;
    for (method, id, code, want) in [
        ("crm.lead.get", lead, "STATUS_ID", "NEW"),
        ("crm.contact.get", contact, "TYPE_ID", "CLIENT"),
        ("crm.company.get", company, "COMPANY_TYPE", "CUSTOMER"),
        ("crm.quote.get", quote, "STATUS_ID", "DRAFT"),
    ] {
        let got = s.call(method, json!({"id": id})).await;
        assert_eq!(got.ok()[code], want, "{method}");
    }
    let ids = s.status_ids("STATUS").await;
    assert_eq!(ids, ["NEW", "IN_PROCESS", "PROCESSED", "JUNK", "CONVERTED"]);
}
