//! `crm.category.*` and `crm.status.*`: the documented shapes and errors, and one store: a new
//! pipeline or stage is what `crm.category.list`, `crm.status.list` and the deals' `CATEGORY_ID`
//! / `STAGE_ID` rules see next.

use crate::common::*;
use bitrix_emulator::{Config, Emulator};
use serde_json::{Value, json};

/// The seed documentation's portal (no required user field), a client and the webhook.
async fn portal() -> (Emulator, reqwest::Client, String) {
    let emu = Emulator::start(Config::default().with_seed_portal())
        .await
        .expect("the emulator starts");
    let url = emu.webhook_url();
    (emu, client(), url)
}

fn find<'a>(rows: &'a Value, key: &str, want: &Value) -> Option<&'a Value> {
    rows.as_array()?.iter().find(|r| r[key] == *want)
}

#[tokio::test]
async fn a_new_pipeline_is_usable_at_once_and_leaves_cleanly() {
    let (emu, c, url) = portal().await;

    let fields = post_json(&c, &url, "crm.category.fields", &json!({"entityTypeId": 2})).await;
    let d = |ty: &str, req: bool, ro: bool, upper: &str| {
        json!({"type": ty, "isRequired": req, "isReadOnly": ro, "isImmutable": false,
            "isMultiple": false, "isDynamic": false, "title": upper, "upperName": upper})
    };
    let doc = json!({"fields": {
        "id": d("integer", false, true, "ID"),
        "name": d("string", false, false, "NAME"),
        "sort": d("integer", false, false, "SORT"),
        "entityTypeId": d("integer", true, true, "ENTITY_TYPE_ID"),
        "isDefault": d("boolean", false, true, "IS_DEFAULT"),
        "originId": d("string", false, false, "ORIGIN_ID"),
        "originatorId": d("string", false, false, "ORIGINATOR_ID"),
    }});
    assert_eq!(*fields.ok(), doc);

    // add: {"category": {...}} with numbers for id, sort and entityTypeId.
    let added = post_json(
        &c,
        &url,
        "crm.category.add",
        &json!({"entityTypeId": 2, "fields": {"name": "Опт", "sort": 50, "isDefault": "Y"}}),
    )
    .await;
    let doc_category = json!({"category": {"id": 1, "name": "New funnel #1", "sort": 200,
        "entityTypeId": 2, "isDefault": "N", "originId": "", "originatorId": ""}});
    assert_same_shape(&doc_category, added.ok(), "crm.category.add", &[]);
    let cat = added.ok()["category"].clone();
    let id = cat["id"].as_u64().expect("a number");
    assert!(id > 2, "after the demo pipelines 0, 1, 2");
    assert_eq!(cat["name"], "Опт");
    assert_eq!(cat["sort"], 50);
    assert_eq!(cat["isDefault"], "N", "isDefault cannot be set on deals");
    let got = post_json(
        &c,
        &url,
        "crm.category.get",
        &json!({"entityTypeId": 2, "id": id}),
    )
    .await;
    assert_eq!(*got.ok(), json!({ "category": cat }));
    let list = post_json(&c, &url, "crm.category.list", &json!({"entityTypeId": 2})).await;
    assert_eq!(list.json["total"], 4);
    // The documented list: the default pipeline without originId / originatorId.
    let general = find(&list.ok()["categories"], "id", &json!(0)).unwrap();
    let doc_general = json!({"id": 0, "name": "General", "sort": 300, "entityTypeId": 2,
        "isDefault": "Y"});
    assert_same_shape(&doc_general, general, "crm.category.list", &[]);
    assert_eq!(find(&list.ok()["categories"], "id", &json!(id)), Some(&cat));

    // Its stages exist, with the pipeline prefix, in every view.
    let entity = format!("DEAL_STAGE_{id}");
    let stages = post_json(
        &c,
        &url,
        "crm.status.list",
        &json!({"filter": {"ENTITY_ID": entity}}),
    )
    .await;
    let first = stages.ok()[0]["STATUS_ID"].clone();
    assert_eq!(first, format!("C{id}:NEW"));
    assert_eq!(stages.json["total"], 8);
    let items = post_json(
        &c,
        &url,
        "crm.status.entity.items",
        &json!({"entityId": entity}),
    )
    .await;
    assert_eq!(items.ok()[0]["STATUS_ID"], first);
    let types = post_json(&c, &url, "crm.status.entity.types", &json!({})).await;
    let t = find(types.ok(), "ID", &json!(entity)).expect("the new pipeline's stages");
    assert_eq!(t["PREFIX"], format!("C{id}"));
    assert_eq!(t["NAME"], "Стадии сделки Опт");
    assert_eq!(t["SEMANTIC_INFO"]["START_FIELD"], first);

    // Deals: the pipeline is accepted, its first stage is the default.
    let deal = add_deal(&c, &url, json!({"TITLE": "опт", "CATEGORY_ID": id})).await;
    let d = emu.deal(deal).unwrap();
    assert_eq!(d["CATEGORY_ID"], id.to_string());
    assert_eq!(d["STAGE_ID"], first);

    // update answers the changed category; list sees the change.
    let upd = post_json(
        &c,
        &url,
        "crm.category.update",
        &json!({"entityTypeId": 2, "id": id, "fields": {"name": "Оптовые", "sort": -5}}),
    )
    .await;
    assert_eq!(upd.ok()["category"]["name"], "Оптовые");
    assert_eq!(upd.ok()["category"]["sort"], 0, "a negative sort is 0");
    let list = post_json(&c, &url, "crm.category.list", &json!({"entityTypeId": 2})).await;
    let listed = find(&list.ok()["categories"], "id", &json!(id)).unwrap();
    assert_eq!(listed["name"], "Оптовые");

    // delete: refused while deals are in it, then null; the pipeline and its stages are gone.
    let refused = post_json(
        &c,
        &url,
        "crm.category.delete",
        &json!({"entityTypeId": 2, "id": id}),
    )
    .await;
    refused.assert_error(400, "0", "Deals related to the funnel Оптовые found");
    post_json(&c, &url, "crm.deal.delete", &json!({"id": deal}))
        .await
        .ok();
    let deleted = post_json(
        &c,
        &url,
        "crm.category.delete",
        &json!({"entityTypeId": 2, "id": id}),
    )
    .await;
    assert_eq!(*deleted.ok(), Value::Null);
    let list = post_json(&c, &url, "crm.category.list", &json!({"entityTypeId": 2})).await;
    assert_eq!(list.json["total"], 3);
    let stages = post_json(
        &c,
        &url,
        "crm.status.list",
        &json!({"filter": {"ENTITY_ID": entity}}),
    )
    .await;
    assert_eq!(stages.json["total"], 0);
    let deal = add_deal(&c, &url, json!({"CATEGORY_ID": id})).await;
    assert_eq!(
        emu.deal(deal).unwrap()["CATEGORY_ID"],
        "0",
        "an unknown pipeline"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn category_errors_are_documented() {
    let (emu, c, url) = portal().await;
    let call = |method: &'static str, body: Value| {
        let (c, url) = (c.clone(), url.clone());
        async move { post_json(&c, &url, method, &body).await }
    };
    call("crm.category.get", json!({"id": 1}))
        .await
        .assert_error(
            400,
            "INVALID_ARG_VALUE",
            "Required parameter \"entityTypeId\" is missing",
        );
    let lead = call(
        "crm.category.add",
        json!({"entityTypeId": 1, "fields": {"name": "x"}}),
    )
    .await;
    assert_eq!(
        lead.json["error"], "ENTITY_TYPE_NOT_SUPPORTED",
        "{}",
        lead.text
    );
    call("crm.category.get", json!({"entityTypeId": 2, "id": 999}))
        .await
        .assert_error(400, "NOT_FOUND", "Element not found");
    call("crm.category.get", json!({"entityTypeId": 2}))
        .await
        .assert_error(
            400,
            "INVALID_ARG_VALUE",
            "Required parameter \"id\" is missing",
        );
    for fields in [json!({"sort": 10}), json!({"name": "   "})] {
        call(
            "crm.category.add",
            json!({"entityTypeId": 2, "fields": fields}),
        )
        .await
        .assert_error(400, "0", "Field 'NAME' is required");
    }
    call(
        "crm.category.update",
        json!({"entityTypeId": 2, "id": 999, "fields": {"name": "x"}}),
    )
    .await
    .assert_error(400, "NOT_FOUND", "Element not found");
    call("crm.category.delete", json!({"entityTypeId": 2, "id": 0}))
        .await
        .assert_error(400, "0", "Default deal category cannot be deleted");
    emu.shutdown().await;
}

#[tokio::test]
async fn statuses_add_get_update_delete_as_documented() {
    let (emu, c, url) = portal().await;

    let fields = post_json(&c, &url, "crm.status.fields", &json!({})).await;
    let f = fields.ok();
    let keys: Vec<&String> = f.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "ID",
            "ENTITY_ID",
            "STATUS_ID",
            "SORT",
            "NAME",
            "NAME_INIT",
            "SYSTEM",
            "CATEGORY_ID",
            "COLOR",
            "SEMANTICS",
            "EXTRA"
        ]
    );
    assert_eq!(
        f["STATUS_ID"],
        json!({"type": "string", "isRequired": true, "isReadOnly": false, "isImmutable": true,
            "isMultiple": false, "isDynamic": false, "title": "Status"})
    );
    assert_eq!(f["EXTRA"]["type"], "crm_status_extra");

    // The docs' example (a stage of pipeline 1, sort 70) lands after this portal's WON (40).
    let example = json!({"fields": {"ENTITY_ID": "DEAL_STAGE_1", "STATUS_ID": "DECISION",
        "NAME": "Decision making", "SORT": 70, "COLOR": "#FFA900"}});
    post_json(&c, &url, "crm.status.add", &example).await.assert_error(
        400,
        "",
        "Cannot create more stages after the final stage because the final successful stage already exists. Try using sort order values less than that of the final stage.",
    );
    let mut before_won = example.clone();
    before_won["fields"]["SORT"] = json!(35);
    let added = post_json(&c, &url, "crm.status.add", &before_won).await;
    let id = added.ok().as_u64().expect("an integer id");
    let got = post_json(&c, &url, "crm.status.get", &json!({"id": id})).await;
    let doc = json!({"ID": "733", "ENTITY_ID": "DYNAMIC_1038_STAGE_37",
        "STATUS_ID": "DT1038_37:SUCCESS", "NAME": "Success", "NAME_INIT": "Success",
        "SORT": "40", "SYSTEM": "Y", "CATEGORY_ID": "37", "COLOR": "#00ff00", "SEMANTICS": "S"});
    let s = got.ok();
    // The documented keys in their order (a deal stage adds EXTRA, as in crm.status.list),
    // ids and sorts as numeric strings.
    assert_eq!(s["ID"], id.to_string());
    assert_eq!(
        s["STATUS_ID"], "C1:DECISION",
        "the pipeline prefix is added"
    );
    assert_eq!(s["SORT"], "35");
    assert_eq!(s["SYSTEM"], "N");
    assert_eq!(s["NAME_INIT"], "");
    assert_eq!(s["CATEGORY_ID"], "1");
    assert_eq!(s["COLOR"], "#FFA900");
    assert_eq!(s["SEMANTICS"], Value::Null, "in progress");
    assert_eq!(s["EXTRA"]["SEMANTICS"], "process");
    let keys: Vec<&String> = s.as_object().unwrap().keys().collect();
    let doc_keys: Vec<&String> = doc.as_object().unwrap().keys().collect();
    assert_eq!(keys[..doc_keys.len()], doc_keys[..]);

    // The stage sorts between EXECUTING (30) and WON (40) everywhere; deals may move to it.
    let items = post_json(
        &c,
        &url,
        "crm.status.entity.items",
        &json!({"entityId": "DEAL_STAGE_1"}),
    )
    .await;
    let codes: Vec<&str> = items
        .ok()
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["STATUS_ID"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "C1:NEW",
            "C1:PREPARATION",
            "C1:EXECUTING",
            "C1:DECISION",
            "C1:WON",
            "C1:LOSE"
        ]
    );
    let deal = add_deal(&c, &url, json!({"CATEGORY_ID": 1})).await;
    post_json(
        &c,
        &url,
        "crm.deal.update",
        &json!({"id": deal, "fields": {"STAGE_ID": "C1:DECISION"}}),
    )
    .await
    .ok();
    assert_eq!(emu.deal(deal).unwrap()["STAGE_ID"], "C1:DECISION");
    let already = json!({"fields": {"ENTITY_ID": "DEAL_STAGE_1", "STATUS_ID": "C1:DECISION", "NAME": "again", "SORT": 36}});
    post_json(&c, &url, "crm.status.add", &already)
        .await
        .assert_error(400, "ERROR_CORE", "The specified status ID already exists.");

    // update: NAME and SORT; the list sees both.
    let upd = post_json(
        &c,
        &url,
        "crm.status.update",
        &json!({"id": id, "fields": {"NAME": "Решение", "SORT": 25, "STATUS_ID": "IGNORED"}}),
    )
    .await;
    assert_eq!(*upd.ok(), true);
    let listed = post_json(
        &c,
        &url,
        "crm.status.list",
        &json!({"filter": {"ENTITY_ID": "DEAL_STAGE_1"}}),
    )
    .await;
    let rows = listed.ok();
    assert_eq!(rows[2]["STATUS_ID"], "C1:DECISION");
    assert_eq!(rows[2]["NAME"], "Решение");
    assert_eq!(rows[2]["SORT"], "25");

    // delete: not while a deal is in the stage; a system stage only when FORCED.
    let busy = post_json(&c, &url, "crm.status.delete", &json!({"id": id})).await;
    busy.assert_error(400, "", "There are active items in this status.");
    post_json(&c, &url, "crm.deal.delete", &json!({"id": deal}))
        .await
        .ok();
    let deleted = post_json(&c, &url, "crm.status.delete", &json!({"id": id})).await;
    assert_eq!(*deleted.ok(), true);
    post_json(&c, &url, "crm.status.get", &json!({"id": id}))
        .await
        .assert_error(400, "", "Status is not found.");
    let new_stage = find(rows, "STATUS_ID", &json!("C1:NEW")).unwrap()["ID"].clone();
    post_json(&c, &url, "crm.status.delete", &json!({"id": new_stage}))
        .await
        .assert_error(
            400,
            "",
            "CRM System Status can be deleted only if parameter FORCED is specified and equal to \"Y\".",
        );
    let forced = post_json(
        &c,
        &url,
        "crm.status.delete",
        &json!({"id": new_stage, "params": {"FORCED": "Y"}}),
    )
    .await;
    assert_eq!(*forced.ok(), true);
    emu.shutdown().await;
}

#[tokio::test]
async fn status_errors_and_directories_are_documented() {
    let (emu, c, url) = portal().await;
    let add = |fields: Value| {
        let (c, url) = (c.clone(), url.clone());
        async move { post_json(&c, &url, "crm.status.add", &json!({ "fields": fields })).await }
    };
    add(json!({"NAME": "x"})).await.assert_error(
        400,
        "",
        "The field ENTITY_ID is required.\nThe field STATUS_ID is required.",
    );
    add(json!({"ENTITY_ID": "SOURCE", "NAME": "x"}))
        .await
        .assert_error(400, "", "The field STATUS_ID is required.");
    add(json!({"ENTITY_ID": "NO_SUCH", "STATUS_ID": "X", "NAME": "x"}))
        .await
        .assert_error(400, "", "Specified entity type is not supported.");
    add(json!({"ENTITY_ID": "SOURCE", "STATUS_ID": "X"}))
        .await
        .assert_error(400, "", "The field Title is required.");
    post_json(&c, &url, "crm.status.add", &json!({"fields": "x"}))
        .await
        .assert_error(400, "", "Parameter 'fields' must be array.");
    for body in [json!({}), json!({"id": 0}), json!({"id": "abc"})] {
        post_json(&c, &url, "crm.status.update", &body)
            .await
            .assert_error(400, "", "Invalid identifier.");
    }

    // A new source: an integer id, SORT 10 by default, the same row in list and get.
    let added = add(json!({"ENTITY_ID": "SOURCE", "STATUS_ID": "SDK_TEST", "NAME": "SDK"})).await;
    let id = added.ok().as_u64().unwrap();
    let got = post_json(&c, &url, "crm.status.get", &json!({"ID": id})).await;
    let listed = post_json(
        &c,
        &url,
        "crm.status.list",
        &json!({"filter": {"ENTITY_ID": "SOURCE", "STATUS_ID": "SDK_TEST"}}),
    )
    .await;
    assert_eq!(listed.ok()[0], *got.ok());
    assert_eq!(got.ok()["SORT"], "10");
    assert_eq!(got.ok()["CATEGORY_ID"], Value::Null);
    let deal = add_deal(&c, &url, json!({"SOURCE_ID": "SDK_TEST"})).await;
    assert_eq!(emu.deal(deal).unwrap()["SOURCE_ID"], "SDK_TEST");

    // entity.types: the documented entries' shapes, the lists and every pipeline.
    let types = post_json(&c, &url, "crm.status.entity.types", &json!({})).await;
    let types = types.ok();
    let doc_default = json!({"ID": "DEAL_STAGE", "NAME": "General deal stages",
        "SEMANTIC_INFO": {"START_FIELD": "NEW", "FINAL_SUCCESS_FIELD": "WON",
            "FINAL_UNSUCCESS_FIELD": "LOSE", "FINAL_SORT": 0},
        "FIELD_ATTRIBUTE_SCOPE": "", "ENTITY_TYPE_ID": 2, "CATEGORY_ID": 0});
    let got_default = find(types, "ID", &json!("DEAL_STAGE")).unwrap();
    assert_same_shape(&doc_default, got_default, "DEAL_STAGE", &[]);
    assert_eq!(got_default["SEMANTIC_INFO"], doc_default["SEMANTIC_INFO"]);
    let doc_pipeline = json!({"ID": "DEAL_STAGE_1", "NAME": "Newest deal stages",
        "PARENT_ID": "DEAL_STAGE",
        "SEMANTIC_INFO": {"START_FIELD": "C1:NEW", "FINAL_SUCCESS_FIELD": "C1:WON",
            "FINAL_UNSUCCESS_FIELD": "C1:LOSE", "FINAL_SORT": 0},
        "PREFIX": "C1", "FIELD_ATTRIBUTE_SCOPE": "category_1", "ENTITY_TYPE_ID": 2,
        "CATEGORY_ID": "1"});
    let got_pipeline = find(types, "ID", &json!("DEAL_STAGE_1")).unwrap();
    assert_same_shape(&doc_pipeline, got_pipeline, "DEAL_STAGE_1", &[]);
    assert_eq!(got_pipeline["SEMANTIC_INFO"], doc_pipeline["SEMANTIC_INFO"]);
    assert_eq!(
        *find(types, "ID", &json!("SOURCE")).unwrap(),
        json!({"ID": "SOURCE", "NAME": "Источники"})
    );
    let ids: Vec<&str> = types
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["ID"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "SOURCE",
            "INDUSTRY",
            "DEAL_TYPE",
            "STATUS",
            "QUOTE_STATUS",
            "CONTACT_TYPE",
            "COMPANY_TYPE",
            "EMPLOYEES",
            "HONORIFIC",
            "DEAL_STAGE_1",
            "DEAL_STAGE_2",
            "DEAL_STAGE",
            "SMART_INVOICE_STAGE_3",
            "DYNAMIC_1220_STAGE_5",
            "DYNAMIC_1220_STAGE_10"
        ]
    );

    // entity.items: NAME, SORT (a number), STATUS_ID, sorted by SORT; the default pipeline
    // only for DEAL_STAGE.
    let items = post_json(
        &c,
        &url,
        "crm.status.entity.items",
        &json!({"entityId": "DEAL_STAGE"}),
    )
    .await;
    let doc_item = json!([{"NAME": "New", "SORT": 10, "STATUS_ID": "NEW"}]);
    assert_same_shape(&doc_item, items.ok(), "crm.status.entity.items", &[]);
    let items = items.ok().as_array().unwrap();
    assert_eq!(items.len(), 8);
    assert!(
        items
            .windows(2)
            .all(|w| w[0]["SORT"].as_u64() <= w[1]["SORT"].as_u64())
    );
    // crm.status.list: the documented row of the default pipeline (CATEGORY_ID null).
    let stages = post_json(
        &c,
        &url,
        "crm.status.list",
        &json!({"filter": {"ENTITY_ID": "DEAL_STAGE"}}),
    )
    .await;
    let doc_row = json!([{"ID": "101", "ENTITY_ID": "DEAL_STAGE", "STATUS_ID": "NEW",
        "NAME": "New", "NAME_INIT": "New", "SORT": "10", "SYSTEM": "Y", "CATEGORY_ID": null,
        "COLOR": "#39A8EF", "SEMANTICS": null,
        "EXTRA": {"SEMANTICS": "process", "COLOR": "#39A8EF"}}]);
    let first = json!([stages.ok()[0].clone()]);
    assert_same_shape(&doc_row, &first, "crm.status.list", &[]);
    for body in [json!({}), json!({"entityId": "NO_SUCH"})] {
        post_json(&c, &url, "crm.status.entity.items", &body)
            .await
            .assert_error(400, "", "The parameter entityId is not defined or invalid.");
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn pipelines_and_stages_are_made_inside_a_batch() {
    let (emu, c, url) = portal().await;
    let answer = post_json(
        &c,
        &url,
        "batch",
        &json!({"halt": 1, "cmd": {
            "cat": "crm.category.add?entityTypeId=2&fields[name]=Batch&fields[sort]=700",
            "stage": "crm.status.add?fields[ENTITY_ID]=DEAL_STAGE_$result[cat][category][id]&fields[STATUS_ID]=CHECK&fields[NAME]=Check&fields[SORT]=15",
            "deal": "crm.deal.add?fields[CATEGORY_ID]=$result[cat][category][id]&fields[STAGE_ID]=C$result[cat][category][id]:CHECK",
            "get": "crm.status.get?id=$result[stage]",
        }}),
    )
    .await;
    let r = answer.ok();
    assert_eq!(r["result_error"], json!([]), "{r}");
    let cat = r["result"]["cat"]["category"]["id"].as_u64().unwrap();
    assert_eq!(r["result"]["get"]["STATUS_ID"], format!("C{cat}:CHECK"));
    let deal = r["result"]["deal"].as_u64().unwrap();
    assert_eq!(emu.deal(deal).unwrap()["STAGE_ID"], format!("C{cat}:CHECK"));
    emu.shutdown().await;
}
