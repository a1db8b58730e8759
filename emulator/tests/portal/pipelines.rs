//! Pipelines of every entity that has them: `crm.category.*` for smart processes and the
//! smart invoice, their stage directories in `crm.status.*`, the lead and quote statuses'
//! semantics, and the documented pipeline rules of `crm.deal.update` / `crm.item.update`.

use crate::common::*;
use bitrix_emulator::Config;
use serde_json::{Value, json};

async fn start() -> Session {
    Session::start(Config::default()).await
}

fn item(a: &Answer) -> Value {
    a.ok()["item"].clone()
}

/// The `crm.status.entity.types` entry of one directory.
async fn entity_type(s: &Session, id: &str) -> Value {
    let types = s.call("crm.status.entity.types", json!({})).await;
    types
        .ok()
        .as_array()
        .expect("a list")
        .iter()
        .find(|t| t["ID"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("{id} is listed"))
}

/// Calls a method that must fail with HTTP 400 and this error.
async fn fails(s: &Session, method: &str, body: Value, code: &str, description: &str) {
    s.call(method, body)
        .await
        .assert_error(400, code, description);
}

#[tokio::test]
async fn a_smart_process_gets_pipelines_with_their_own_stages() {
    let s = start().await;
    let fields = s
        .call("crm.category.fields", json!({"entityTypeId": 1220}))
        .await;
    let fields = &fields.ok()["fields"];
    assert_eq!(
        fields["isDefault"]["isReadOnly"], false,
        "changeable on SPAs"
    );
    assert_eq!(fields["isSystem"]["upperName"], "IS_SYSTEM");

    // add: the documented {"category": {...}}, numbers for id, sort and entityTypeId.
    let added = s
        .call(
            "crm.category.add",
            json!({"entityTypeId": 1220, "fields": {"name": "Внедрение", "sort": 50}}),
        )
        .await;
    let doc = json!({"category": {"id": 5, "name": "New Default Funnel", "sort": 50,
        "entityTypeId": 1152, "isDefault": "Y"}});
    assert_same_shape(&doc, added.ok(), "crm.category.add", &[]);
    let cat = added.ok()["category"].clone();
    let id = cat["id"].as_u64().unwrap();
    assert!(id > 10, "after the seeded pipelines 5 and 10: {cat}");
    assert_eq!(cat["isDefault"], "N");
    assert_eq!(cat["entityTypeId"], 1220);
    let list = s
        .call("crm.category.list", json!({"entityTypeId": 1220}))
        .await;
    assert_eq!(list.json["total"], 3, "5, the seeded 10 and the new one");
    let got = s
        .call("crm.category.get", json!({"entityTypeId": 1220, "id": id}))
        .await;
    assert_eq!(*got.ok(), json!({ "category": cat }));

    // Its stages: DYNAMIC_1220_STAGE_{id}, ids DT1220_{id}:CODE, in every view.
    let entity = format!("DYNAMIC_1220_STAGE_{id}");
    let ids = s.status_ids(&entity).await;
    assert_eq!(ids[0], format!("DT1220_{id}:NEW"));
    assert_eq!(ids.len(), 5);
    let items = s
        .call("crm.status.entity.items", json!({"entityId": entity}))
        .await;
    assert_eq!(items.ok()[0]["STATUS_ID"], ids[0].as_str());
    let t = entity_type(&s, &entity).await;
    let doc_type = json!({"ID": "DYNAMIC_177_STAGE_9",
        "NAME": "Equipment Procurement (Second pipeline)", "SEMANTIC_INFO": [],
        "PREFIX": "DT177_9", "FIELD_ATTRIBUTE_SCOPE": "category_9", "ENTITY_TYPE_ID": 177,
        "IS_ENABLED": true, "CATEGORY_ID": 9, "CATEGORY_NAME": "Second pipeline",
        "CATEGORY_SORT": 500, "IS_DEFAULT_CATEGORY": false});
    assert_same_shape(&doc_type, &t, "crm.status.entity.types", &[]);
    assert_eq!(t["PREFIX"], format!("DT1220_{id}"));
    assert_eq!(t["CATEGORY_NAME"], "Внедрение");

    // A stage added to it gets the prefix and its place by SORT; update and delete work.
    let stage = s
        .call(
            "crm.status.add",
            json!({"fields": {"ENTITY_ID": entity, "STATUS_ID": "TEST", "NAME": "Тест", "SORT": 15}}),
        )
        .await;
    let stage_id = stage.ok().as_u64().expect("an integer ID");
    let ids = s.status_ids(&entity).await;
    assert_eq!(ids[1], format!("DT1220_{id}:TEST"));
    let row = s.call("crm.status.get", json!({"id": stage_id})).await;
    assert_eq!(row.ok()["CATEGORY_ID"], id.to_string());
    assert_eq!(row.ok()["ENTITY_ID"], entity.as_str());
    assert_eq!(row.ok()["SYSTEM"], "N");
    let upd = s
        .call(
            "crm.status.update",
            json!({"id": stage_id, "fields": {"NAME": "Проверка", "SORT": 35}}),
        )
        .await;
    assert_eq!(*upd.ok(), json!(true));
    let ids = s.status_ids(&entity).await;
    assert_eq!(
        ids[3],
        format!("DT1220_{id}:TEST"),
        "moved by SORT: {ids:?}"
    );

    // A record moved there by crm.item.update with categoryId and a stage of it.
    let added = s
        .call(
            "crm.item.add",
            json!({"entityTypeId": 1220, "fields": {"title": "Проект"}}),
        )
        .await;
    let record = item(&added);
    assert_eq!(
        record["categoryId"], 5,
        "new items go to the default pipeline"
    );
    let moved = s
        .call(
            "crm.item.update",
            json!({"entityTypeId": 1220, "id": record["id"],
                "fields": {"categoryId": id, "stageId": format!("DT1220_{id}:TEST")}}),
        )
        .await;
    assert_eq!(item(&moved)["categoryId"], id);
    assert_eq!(item(&moved)["stageId"], format!("DT1220_{id}:TEST"));
    // A stage of the other pipeline without a categoryId is ignored.
    let ignored = s
        .call(
            "crm.item.update",
            json!({"entityTypeId": 1220, "id": record["id"],
                "fields": {"stageId": "DT1220_5:CLIENT"}}),
        )
        .await;
    assert_eq!(item(&ignored)["stageId"], format!("DT1220_{id}:TEST"));
    assert_eq!(item(&ignored)["categoryId"], id);

    // A stage or pipeline holding records cannot go.
    fails(
        &s,
        "crm.status.delete",
        json!({"id": stage_id}),
        "",
        "There are active items in this status.",
    )
    .await;
    fails(
        &s,
        "crm.category.delete",
        json!({"entityTypeId": 1220, "id": id}),
        "BX_ERROR",
        "Elements related to the funnel found",
    )
    .await;
    // Back to the first pipeline (a foreign stage means its first stage).
    let back = s
        .call(
            "crm.item.update",
            json!({"entityTypeId": 1220, "id": record["id"],
                "fields": {"categoryId": 5, "stageId": format!("DT1220_{id}:NEW")}}),
        )
        .await;
    assert_eq!(item(&back)["categoryId"], 5);
    assert_eq!(item(&back)["stageId"], "DT1220_5:NEW");
    let del = s.call("crm.status.delete", json!({"id": stage_id})).await;
    assert_eq!(*del.ok(), json!(true));
    assert_eq!(s.status_ids(&entity).await.len(), 5);

    // The default pipeline can move, but not be deleted.
    let upd = s
        .call(
            "crm.category.update",
            json!({"entityTypeId": 1220, "id": id, "fields": {"name": "Основная", "isDefault": "Y"}}),
        )
        .await;
    assert_eq!(upd.ok()["category"]["isDefault"], "Y");
    assert_eq!(upd.ok()["category"]["name"], "Основная");
    let old = s
        .call("crm.category.get", json!({"entityTypeId": 1220, "id": 5}))
        .await;
    assert_eq!(old.ok()["category"]["isDefault"], "N");
    let fresh = s
        .call(
            "crm.item.add",
            json!({"entityTypeId": 1220, "fields": {"title": "Второй"}}),
        )
        .await;
    assert_eq!(item(&fresh)["categoryId"], id, "the new default pipeline");
    for (method, body, code, description) in [
        (
            "crm.category.delete",
            json!({"entityTypeId": 1220, "id": id}),
            "BX_ERROR",
            "This funnel is the default funnel",
        ),
        (
            "crm.category.get",
            json!({"entityTypeId": 1220, "id": 9999}),
            "NOT_FOUND",
            "Element not found",
        ),
        (
            "crm.category.list",
            json!({"entityTypeId": 4242}),
            "NOT_FOUND",
            "Smart process not found",
        ),
        // Pipeline 5 still holds the first record.
        (
            "crm.category.delete",
            json!({"entityTypeId": 1220, "id": 5}),
            "BX_ERROR",
            "Elements related to the funnel found",
        ),
    ] {
        fails(&s, method, body, code, description).await;
    }

    // An empty non-default pipeline goes with its stages.
    let empty = s
        .call(
            "crm.category.add",
            json!({"entityTypeId": 1220, "fields": {"name": "Пустая"}}),
        )
        .await;
    let empty = empty.ok()["category"]["id"].as_u64().unwrap();
    let del = s
        .call(
            "crm.category.delete",
            json!({"entityTypeId": 1220, "id": empty}),
        )
        .await;
    assert_eq!(*del.ok(), Value::Null, "the documented result: null");
    assert!(
        s.status_ids(&format!("DYNAMIC_1220_STAGE_{empty}"))
            .await
            .is_empty()
    );
    let list = s
        .call("crm.category.list", json!({"entityTypeId": 1220}))
        .await;
    assert_eq!(list.json["total"], 3, "5, the seeded 10 and the new one");
}

#[tokio::test]
async fn the_demo_projects_have_two_pipelines() {
    let s = start().await;
    let list = s
        .call("crm.category.list", json!({"entityTypeId": 1220}))
        .await;
    let cats = list.ok()["categories"].as_array().unwrap().clone();
    let names: Vec<(&Value, &Value, &Value)> = cats
        .iter()
        .map(|c| (&c["id"], &c["name"], &c["isDefault"]))
        .collect();
    assert_eq!(
        names,
        [
            (&json!(5), &json!("Общая"), &json!("Y")),
            (&json!(10), &json!("Внутренние"), &json!("N")),
        ]
    );
    let ids = s.status_ids("DYNAMIC_1220_STAGE_10").await;
    assert_eq!(ids[0], "DT1220_10:NEW");
    let added = s
        .call(
            "crm.item.add",
            json!({"entityTypeId": 1220, "fields": {"categoryId": 10, "stageId": "DT1220_10:CLIENT"}}),
        )
        .await;
    assert_eq!(item(&added)["stageId"], "DT1220_10:CLIENT");
}

#[tokio::test]
async fn the_smart_invoice_gets_pipelines_too() {
    let s = start().await;
    let added = s
        .call(
            "crm.category.add",
            json!({"entityTypeId": 31, "fields": {"name": "Экспорт"}}),
        )
        .await;
    let cat = &added.ok()["category"];
    let id = cat["id"].as_u64().unwrap();
    assert_eq!(cat["sort"], 500, "the documented default sort");
    let ids = s.status_ids(&format!("SMART_INVOICE_STAGE_{id}")).await;
    assert_eq!(ids[0], format!("DT31_{id}:N"));
    let inv = s
        .call(
            "crm.item.add",
            json!({"entityTypeId": 31, "fields": {"categoryId": id}}),
        )
        .await;
    assert_eq!(item(&inv)["stageId"], format!("DT31_{id}:N"));
    let t = entity_type(&s, &format!("SMART_INVOICE_STAGE_{id}")).await;
    let doc = json!({"ID": "SMART_INVOICE_STAGE_5", "NAME": "Invoice stages",
        "SEMANTIC_INFO": [], "PREFIX": "DT31_5", "FIELD_ATTRIBUTE_SCOPE": "category_5",
        "ENTITY_TYPE_ID": 31, "IS_ENABLED": true, "CATEGORY_ID": 5});
    assert_same_shape(&doc, &t, "entity.types", &[]);
}

#[tokio::test]
async fn lead_and_quote_statuses_carry_semantics() {
    let s = start().await;
    let rows = s
        .call(
            "crm.status.list",
            json!({"filter": {"ENTITY_ID": "STATUS"}}),
        )
        .await;
    let rows = rows.ok().as_array().unwrap().clone();
    let by = |code: &str| {
        rows.iter()
            .find(|r| r["STATUS_ID"] == code)
            .unwrap()
            .clone()
    };
    assert_eq!(by("CONVERTED")["SEMANTICS"], "S");
    assert_eq!(by("CONVERTED")["EXTRA"]["SEMANTICS"], "success");
    assert_eq!(by("JUNK")["EXTRA"]["SEMANTICS"], "failure");
    assert_eq!(by("NEW")["SEMANTICS"], Value::Null);
    assert_eq!(by("NEW")["EXTRA"]["SEMANTICS"], "process");
    assert!(by("NEW")["EXTRA"]["COLOR"].is_string());
    let lead = entity_type(&s, "STATUS").await;
    let doc = json!({"ID": "STATUS", "NAME": "Lead stages", "SEMANTIC_INFO": {
        "START_FIELD": "NEW", "FINAL_SUCCESS_FIELD": "CONVERTED",
        "FINAL_UNSUCCESS_FIELD": "JUNK", "FINAL_SORT": 0}, "ENTITY_TYPE_ID": 1});
    assert_same_shape(&doc, &lead, "entity.types STATUS", &[]);
    assert_eq!(lead["SEMANTIC_INFO"], doc["SEMANTIC_INFO"]);
    let quote = entity_type(&s, "QUOTE_STATUS").await;
    assert_eq!(quote["SEMANTIC_INFO"]["FINAL_SUCCESS_FIELD"], "APPROVED");
    assert_eq!(quote["ENTITY_TYPE_ID"], 7);
    // Plain lists have no EXTRA.
    let source = s
        .call(
            "crm.status.list",
            json!({"filter": {"ENTITY_ID": "SOURCE"}}),
        )
        .await;
    assert!(source.ok()[0].get("EXTRA").is_none());
}

#[tokio::test]
async fn a_deal_changes_pipeline_only_through_crm_item_update() {
    let s = Session::start(Config::default().with_seed_portal()).await;
    let id = s
        .add(
            "crm.deal.add",
            json!({"TITLE": "A", "CATEGORY_ID": 1, "STAGE_ID": "C1:PREPARATION"}),
        )
        .await;
    // The legacy update: CATEGORY_ID is immutable, a stage of another pipeline is ignored,
    // the rest of the fields still apply.
    let upd = s
        .call(
            "crm.deal.update",
            json!({"id": id, "fields": {"CATEGORY_ID": 2, "STAGE_ID": "C2:EXECUTING", "TITLE": "B"}}),
        )
        .await;
    assert_eq!(*upd.ok(), json!(true));
    let d = s.call("crm.deal.get", json!({"id": id})).await;
    assert_eq!(d.ok()["CATEGORY_ID"], "1");
    assert_eq!(d.ok()["STAGE_ID"], "C1:PREPARATION");
    assert_eq!(d.ok()["TITLE"], "B");
    let item_update = |fields: Value| {
        let s = &s;
        async move {
            let a = s
                .call(
                    "crm.item.update",
                    json!({"entityTypeId": 2, "id": id, "fields": fields}),
                )
                .await;
            item(&a)
        }
    };
    // crm.item.update without categoryId: the same rule.
    let same = item_update(json!({"stageId": "WON"})).await;
    assert_eq!(same["stageId"], "C1:PREPARATION");
    // With categoryId and a stage of that pipeline, the deal moves.
    let moved = item_update(json!({"categoryId": 2, "stageId": "C2:EXECUTING"})).await;
    assert_eq!(moved["categoryId"], 2);
    assert_eq!(moved["stageId"], "C2:EXECUTING");
    // Without a stage of the target pipeline (missing or foreign), its first stage.
    let first = item_update(json!({"categoryId": 0, "stageId": "C1:NEW"})).await;
    assert_eq!(first["categoryId"], 0);
    assert_eq!(first["stageId"], "NEW");
    let bare = item_update(json!({"categoryId": 1})).await;
    assert_eq!(bare["stageId"], "C1:NEW");
    // An unknown pipeline leaves the deal where it is.
    let unknown = item_update(json!({"categoryId": 77})).await;
    assert_eq!(unknown["categoryId"], 1);
}
