//! Seeding every entity: counts, links between the records (contacts and deals to the seeded
//! companies, smart-process items to deals), multifields filled, determinism from the seed,
//! and a refused start for a type the portal does not have.

use crate::common::*;
use bitrix_emulator::{Config, Emulator};
use serde_json::{Value, json};

fn config(seed: u64) -> Config {
    Config::default()
        .with_seed(seed)
        .with_deals(40)
        .with_companies(5)
        .with_contacts(20)
        .with_leads(10)
        .with_quotes(3)
        .with_records(1220, 4)
        .with_records(31, 2)
}

async fn total(s: &Session, method: &str, body: Value) -> u64 {
    let a = s.call(method, body).await;
    a.ok();
    a.json["total"].as_u64().expect("a total")
}

#[tokio::test]
async fn every_entity_is_seeded_and_linked() {
    let s = Session::start(config(7)).await;
    assert_eq!(s.emu.record_count(3), 20);
    assert_eq!(s.emu.record_count(999), 0);
    assert_eq!(s.emu.record(4, 1).unwrap()["ID"], "1");
    assert!(
        s.emu.record(1220, 4).unwrap()["STAGE_ID"]
            .as_str()
            .unwrap()
            .starts_with("DT1220_5:")
    );
    assert!(s.emu.record(3, 21).is_none());
    assert_eq!(total(&s, "crm.deal.list", json!({})).await, 40);
    assert_eq!(total(&s, "crm.company.list", json!({})).await, 5);
    assert_eq!(total(&s, "crm.contact.list", json!({})).await, 20);
    assert_eq!(total(&s, "crm.lead.list", json!({})).await, 10);
    assert_eq!(total(&s, "crm.quote.list", json!({})).await, 3);
    assert_eq!(
        total(&s, "crm.item.list", json!({"entityTypeId": 1220})).await,
        4
    );
    assert_eq!(
        total(&s, "crm.item.list", json!({"entityTypeId": 31})).await,
        2
    );
    let in_companies = |v: &Value| {
        let id: u64 = v.as_str().unwrap().parse().unwrap();
        (1..=5).contains(&id)
    };
    let contacts = s
        .call(
            "crm.contact.list",
            json!({"select": ["ID", "COMPANY_ID", "PHONE", "EMAIL", "HAS_PHONE"]}),
        )
        .await;
    for c in contacts.ok().as_array().unwrap() {
        assert!(in_companies(&c["COMPANY_ID"]), "{c}");
        assert_eq!(c["PHONE"][0]["TYPE_ID"], "PHONE", "{c}");
        assert!(
            c["EMAIL"][0]["VALUE"].as_str().unwrap().contains('@'),
            "{c}"
        );
        assert_eq!(c["HAS_PHONE"], "Y");
    }
    let deals = s
        .call(
            "crm.deal.list",
            json!({"select": ["ID", "COMPANY_ID", "CONTACT_ID"]}),
        )
        .await;
    for d in deals.ok().as_array().unwrap() {
        assert!(in_companies(&d["COMPANY_ID"]), "{d}");
        if let Some(c) = d["CONTACT_ID"].as_str() {
            assert!((1..=20).contains(&c.parse::<u64>().unwrap()), "{d}");
        }
    }
    let items = s
        .call(
            "crm.item.list",
            json!({"entityTypeId": 1220, "select": ["id", "parentId2", "stageId"]}),
        )
        .await;
    for i in items.ok()["items"].as_array().unwrap() {
        assert!((1..=40).contains(&i["parentId2"].as_u64().unwrap()), "{i}");
        assert_eq!(i["stageId"], "DT1220_5:NEW");
    }
}

#[tokio::test]
async fn seeding_is_deterministic() {
    let a = Session::start(config(11)).await;
    let b = Session::start(config(11)).await;
    let c = Session::start(config(12)).await;
    let pick = |r: &Value| {
        json!([
            r["NAME"],
            r["LAST_NAME"],
            r["COMPANY_ID"],
            r["PHONE"],
            r["EMAIL"]
        ])
    };
    let mut differs = false;
    for id in 1..=20 {
        let x = pick(a.call("crm.contact.get", json!({"id": id})).await.ok());
        let y = pick(b.call("crm.contact.get", json!({"id": id})).await.ok());
        let z = pick(c.call("crm.contact.get", json!({"id": id})).await.ok());
        assert_eq!(x, y, "contact {id}");
        differs |= x != z;
    }
    assert!(differs, "another seed gives other contacts");
}

#[tokio::test]
async fn an_unknown_type_is_refused() {
    let err = Emulator::start(Config::default().with_records(999, 3))
        .await
        .expect_err("the start fails");
    assert!(
        err.to_string().contains("cannot seed entity type 999"),
        "{err}"
    );
}

#[tokio::test]
async fn other_entities_take_their_own_field_lists() {
    let lead_fields = json!({"result": {
        "ID": {"type": "integer", "isRequired": false, "isReadOnly": true, "isImmutable": false, "isMultiple": false, "isDynamic": false, "title": "ID"},
        "TITLE": {"type": "string", "isRequired": true, "isReadOnly": false, "isImmutable": false, "isMultiple": false, "isDynamic": false, "title": "Название"},
        "UF_CRM_SCORE": {"type": "integer", "isRequired": false, "isReadOnly": false, "isImmutable": false, "isMultiple": false, "isDynamic": true, "title": "UF_CRM_SCORE", "formLabel": "Балл"}
    }});
    let smart = json!({"result": {"fields": {
        "id": {"type": "integer", "isRequired": false, "isReadOnly": true, "isImmutable": false, "isMultiple": false, "isDynamic": false, "title": "ID", "upperName": "ID"},
        "title": {"type": "string", "isRequired": false, "isReadOnly": false, "isImmutable": false, "isMultiple": false, "isDynamic": false, "title": "Name", "upperName": "TITLE"},
        "ufCrm9_1": {"type": "string", "isRequired": false, "isReadOnly": false, "isImmutable": false, "isMultiple": false, "isDynamic": true, "title": "Код", "upperName": "UF_CRM_9_1"}
    }}});
    let s = Session::start(
        Config::default()
            .with_entity_fields(1, lead_fields)
            .with_entity_fields(2000, smart)
            .with_leads(3)
            .with_records(2000, 2),
    )
    .await;
    let f = s.call("crm.lead.fields", json!({})).await;
    let keys: Vec<&String> = f.ok().as_object().unwrap().keys().collect();
    assert_eq!(keys, ["ID", "TITLE", "UF_CRM_SCORE"]);
    let lead = s.emu.record(1, 1).unwrap();
    assert!(
        lead["TITLE"].as_str().is_some_and(|t| !t.is_empty()),
        "{lead}"
    );
    let added = s
        .call(
            "crm.item.add",
            json!({"entityTypeId": 2000, "fields": {"title": "x", "ufCrm9_1": "A-1"}}),
        )
        .await;
    assert_eq!(added.ok()["item"]["ufCrm9_1"], "A-1");
    assert_eq!(added.ok()["item"]["id"], 3);
    let types = s.call("crm.type.list", json!({})).await;
    assert!(
        types.ok()["types"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["entityTypeId"] == 2000)
    );
    let seeded = s
        .call("crm.item.get", json!({"entityTypeId": 2000, "id": 1}))
        .await;
    assert_eq!(seeded.ok()["item"]["title"], "Smart process #1");
    let err = Emulator::start(Config::default().with_entity_fields(5, json!({})))
        .await
        .expect_err("the old invoice is not served");
    assert!(err.to_string().contains("entity type 5"), "{err}");
}
