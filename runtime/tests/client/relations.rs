//! Relations: moving a record between pipelines, the stage guard of updates (direct and in
//! batches), contact bindings and product rows. Their exact wire shapes against a recording
//! fake portal, and whole flows against the emulator.

use std::collections::BTreeMap;
use std::str::FromStr;

use bitrix_emulator::{Config, Emulator};
use bitrix_runtime::__private::{self as __p, PutExt as _, TakeExt as _, codec, types};
use bitrix_runtime::pipeline::{Stage, StageGuard, StageSemantics};
use bitrix_runtime::types::{
    CategoryId, ContactId, DealId, Decimal, ItemId, LeadId, ProductId, ProductRowId, StatusId,
};
use bitrix_runtime::{
    Api, Client, ContactBinding, CreatePayload, Discount, DiscountType, Entity, EntityField, Error,
    Field, FieldMeta, Patch, Plan, ProductRowFields, UpdatePayload,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::common::fast_retry;
use crate::faults::script_client;
use crate::items::entities::{Lead, Spa};
use crate::items::{batch_of, commands, decoded, portal, requests};

entity! {
    Deal, NewDeal, DealPatch, DealField, types::DealId,
    "deal", "crm.deal", 2, [],
    {
        fn stage_guard(&self) -> Option<StageGuard> {
            self.stage_id.as_set().map(|s| {
                let stage = DealStage::from_code(s.as_str());
                StageGuard { stage: stage.code().to_owned(), category: stage.category_id() }
            })
        }
    }
    ID id "ID" "id" "integer" __p::READ_ONLY => codec::Id<types::DealId>, codec::Id<types::DealId>;
    TITLE title "TITLE" "title" "string" 0 => codec::Text, codec::Text;
    CATEGORY_ID category_id "CATEGORY_ID" "categoryId" "crm_category" 0 => codec::Id<types::CategoryId>, codec::Id<types::CategoryId>;
    STAGE_ID stage_id "STAGE_ID" "stageId" "crm_status" 0 => codec::Status, codec::Status;
    UF_CRM_1721244590123 channel "UF_CRM_1721244590123" "ufCrm_1721244590123" "enumeration" __p::DYNAMIC => codec::Integer, codec::Integer;
}

entity! {
    Contact, NewContact, ContactPatch, ContactField, types::ContactId,
    "contact", "crm.contact", 3, [],
    ID id "ID" "id" "integer" __p::READ_ONLY => codec::Id<types::ContactId>, codec::Id<types::ContactId>;
    NAME name "NAME" "name" "string" 0 => codec::Text, codec::Text;
}

entity! {
    Project, NewProject, ProjectPatch, ProjectField, types::ItemId,
    "dynamic_1220", "crm.item", 1220, [const API: Api = Api::Item; const HAS_LEGACY: bool = false;],
    ID id "ID" "id" "integer" __p::READ_ONLY => codec::Id<types::ItemId>, codec::Id<types::ItemId>;
    TITLE title "TITLE" "title" "string" 0 => codec::Text, codec::Text;
    OPENED opened "OPENED" "opened" "char" 0 => codec::YesNo, codec::YesNo;
}

/// Deal stages of two pipelines, written by hand in the shape of the generated enums.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum DealStage {
    New,
    C1New,
    C1Won,
    Other(String),
}

impl Stage for DealStage {
    type Entity = Deal;
    fn category_id(&self) -> CategoryId {
        match self {
            DealStage::New => CategoryId(0),
            DealStage::C1New | DealStage::C1Won => CategoryId(1),
            DealStage::Other(code) => CategoryId(
                code.strip_prefix('C')
                    .and_then(|rest| rest.split_once(':'))
                    .and_then(|(n, _)| n.parse().ok())
                    .unwrap_or(0),
            ),
        }
    }
    fn code(&self) -> &str {
        match self {
            DealStage::New => "NEW",
            DealStage::C1New => "C1:NEW",
            DealStage::C1Won => "C1:WON",
            DealStage::Other(code) => code,
        }
    }
    fn from_code(code: &str) -> Self {
        match code {
            "NEW" => DealStage::New,
            "C1:NEW" => DealStage::C1New,
            "C1:WON" => DealStage::C1Won,
            other => DealStage::Other(other.to_owned()),
        }
    }
    fn semantics(&self) -> Option<StageSemantics> {
        match self {
            DealStage::New | DealStage::C1New => Some(StageSemantics::Process),
            DealStage::C1Won => Some(StageSemantics::Success),
            DealStage::Other(_) => None,
        }
    }
    fn name(&self) -> Option<&'static str> {
        None
    }
}

fn to_stage(stage: DealStage) -> DealPatch {
    DealPatch {
        stage_id: Patch::Set(StatusId(stage.code().to_owned())),
        ..DealPatch::default()
    }
}

fn methods(seen: &[(String, Value)]) -> Vec<&str> {
    seen.iter().map(|(m, _)| m.as_str()).collect()
}

fn not_found(method: &str) -> Value {
    json!({"error": "ERROR_METHOD_NOT_FOUND", "error_description": method})
}

#[tokio::test]
async fn an_update_to_a_stage_of_another_pipeline_is_refused_before_sending() {
    // Deal 7 is in the default pipeline, deal 8 in pipeline 1.
    let (script, seen) = portal(|method, body| {
        let id = body["filter"]["=ID"]
            .as_u64()
            .or(body["filter"]["=id"].as_u64());
        let category = if id == Some(8) { 1 } else { 0 };
        match method {
            "crm.deal.list" => json!({"result": [{"ID": id.map(|i| i.to_string()), "CATEGORY_ID": category.to_string()}]}),
            "crm.item.list" => json!({"result": {"items": [{"id": id, "categoryId": category}]}}),
            "crm.deal.update" => json!({"result": true}),
            "crm.item.update" => json!({"result": {"item": {"id": id}}}),
            _ => not_found(method),
        }
    })
    .await;
    let client = script_client(&script, fast_retry());
    let e = client
        .update(DealId(7), &to_stage(DealStage::C1Won))
        .await
        .unwrap_err();
    let Error::WrongPipeline {
        entity,
        id,
        stage,
        stage_category,
        record_category,
    } = &e
    else {
        panic!("expected WrongPipeline, got {e}");
    };
    assert_eq!(
        (
            *entity,
            *id,
            stage.as_str(),
            *stage_category,
            *record_category
        ),
        ("deal", 7, "C1:WON", CategoryId(1), CategoryId(0))
    );
    let text = e.to_string();
    assert!(
        text.contains("move_to_stage") && text.contains("pipeline 0"),
        "{text}"
    );
    let sent = requests(&seen);
    assert_eq!(methods(&sent), ["crm.deal.list"], "only the read was sent");
    assert_eq!(
        sent[0].1,
        json!({"filter": {"=ID": 7}, "select": ["ID", "CATEGORY_ID"]})
    );

    // The record's own pipeline: read, then update.
    client
        .update(DealId(8), &to_stage(DealStage::C1Won))
        .await
        .unwrap();
    // A patch without a stage sends no read.
    let title = DealPatch {
        title: Patch::Set("x".into()),
        ..DealPatch::default()
    };
    client.update(DealId(7), &title).await.unwrap();
    // The item route reads with crm.item.list.
    let item = client.with_api(Api::Item);
    let e = item
        .update(DealId(7), &to_stage(DealStage::C1New))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::WrongPipeline { id: 7, .. }), "{e}");
    let sent = requests(&seen);
    assert_eq!(
        methods(&sent),
        [
            "crm.deal.list",
            "crm.deal.list",
            "crm.deal.update",
            "crm.deal.update",
            "crm.item.list"
        ]
    );
    assert_eq!(
        sent[4].1,
        json!({"entityTypeId": 2, "filter": {"=id": 7}, "select": ["id", "categoryId"]})
    );
    assert_eq!(sent[2].1["fields"], json!({"STAGE_ID": "C1:WON"}));
}

#[tokio::test]
async fn a_batch_checks_every_stage_guard_in_one_read_batch_first() {
    let (script, seen) = portal(|method, body| {
        let cmds: Vec<(String, String)> = commands(body)
            .into_iter()
            .map(|(k, c)| (k, decoded(&c)))
            .collect();
        if method != "batch" {
            return not_found(method);
        }
        let mut result = serde_json::Map::new();
        for (key, cmd) in &cmds {
            let answer = if cmd.starts_with("crm.deal.list") {
                let category = if cmd.contains("filter[=ID]=8") {
                    "1"
                } else {
                    "0"
                };
                json!([{"ID": "1", "CATEGORY_ID": category}])
            } else if cmd.starts_with("crm.deal.update") || cmd.starts_with("crm.item.update") {
                json!(true)
            } else {
                json!(5)
            };
            result.insert(key.clone(), answer);
        }
        batch_of(Value::Object(result))
    })
    .await;
    let client = script_client(&script, fast_retry());

    let mut batch = client.batch();
    batch.update(DealId(8), &to_stage(DealStage::C1Won));
    batch.add(&NewDeal {
        title: Some("New".into()),
        ..NewDeal::default()
    });
    batch.update(DealId(7), &to_stage(DealStage::C1New));
    let e = batch.send().await.unwrap_err();
    assert!(
        matches!(&e, Error::WrongPipeline { id: 7, stage, .. } if stage == "C1:NEW"),
        "{e}"
    );
    let sent = requests(&seen);
    assert_eq!(methods(&sent), ["batch"], "only the read batch was sent");
    let reads: Vec<String> = commands(&sent[0].1)
        .into_iter()
        .map(|(_, c)| decoded(&c))
        .collect();
    assert_eq!(reads.len(), 2, "{reads:?}");
    assert!(
        reads.iter().all(|c| c.starts_with("crm.deal.list?")),
        "{reads:?}"
    );
    assert!(reads[0].contains("filter[=ID]=8") && reads[0].contains("select[1]=CATEGORY_ID"));

    let mut batch = client.batch();
    let ok = batch.update(DealId(8), &to_stage(DealStage::C1Won));
    let moved = batch.move_to_stage(DealId(7), DealStage::C1New);
    let results = batch.send().await.unwrap();
    results.get(ok).unwrap();
    results.get(moved).unwrap();
    let sent = requests(&seen);
    assert_eq!(methods(&sent), ["batch", "batch", "batch"]);
    let writes: Vec<String> = commands(&sent[2].1)
        .into_iter()
        .map(|(_, c)| decoded(&c))
        .collect();
    assert!(writes[0].starts_with("crm.deal.update?"), "{writes:?}");
    assert!(
        writes[1].starts_with("crm.item.update?")
            && writes[1].contains("entityTypeId=2")
            && writes[1].contains("fields[categoryId]=1")
            && writes[1].contains("fields[stageId]=C1:NEW"),
        "{writes:?}"
    );
}

#[tokio::test]
async fn move_to_stage_goes_through_crm_item_update_on_any_route() {
    let (script, seen) = portal(|method, body| match method {
        "crm.item.update" => json!({"result": {"item": {"id": body["id"], "categoryId": 1}}}),
        _ => not_found(method),
    })
    .await;
    let client = script_client(&script, fast_retry()).with_api(Api::Legacy);
    client
        .move_to_stage(DealId(7), DealStage::C1New)
        .await
        .unwrap();
    client
        .move_to_stage(DealId(9), DealStage::Other("C5:PREPARATION".into()))
        .await
        .unwrap();
    let sent = requests(&seen);
    assert_eq!(methods(&sent), ["crm.item.update", "crm.item.update"]);
    assert_eq!(
        sent[0].1,
        json!({"entityTypeId": 2, "id": 7, "fields": {"categoryId": 1, "stageId": "C1:NEW"}})
    );
    assert_eq!(
        sent[1].1["fields"],
        json!({"categoryId": 5, "stageId": "C5:PREPARATION"})
    );
}

#[tokio::test]
async fn contacts_are_typed_bindings_on_every_owner() {
    let (script, seen) = portal(|method, body| match method {
        "crm.deal.contact.items.get" => json!({"result": [
            {"CONTACT_ID": 55, "SORT": 100, "ROLE_ID": 0, "IS_PRIMARY": "Y"},
            {"CONTACT_ID": "54", "SORT": "200", "ROLE_ID": 0, "IS_PRIMARY": "N"}
        ]}),
        "crm.lead.contact.items.get" => json!({"result": []}),
        "crm.deal.contact.items.set" | "crm.deal.contact.items.delete" => json!({"result": true}),
        "crm.deal.contact.add" => json!({"result": body["fields"]["CONTACT_ID"] != json!(55)}),
        "crm.deal.contact.delete" => json!({"result": false}),
        "crm.item.get" => {
            json!({"result": {"item": {"id": 3, "contactId": 12, "contactIds": [11, 12]}}})
        }
        "crm.item.update" => json!({"result": {"item": {"id": 3}}}),
        _ => not_found(method),
    })
    .await;
    // The deal's methods are used whatever the client's API setting.
    let client = script_client(&script, fast_retry()).with_api(Api::Item);
    let deal = client.contacts::<Deal>(DealId(1875));
    assert_eq!(
        deal.get().await.unwrap(),
        [
            ContactBinding::new(ContactId(55)).primary().sort(100),
            ContactBinding::new(ContactId(54)).sort(200)
        ]
    );
    deal.replace_all(&[
        ContactBinding::new(ContactId(55)).primary().sort(100),
        ContactBinding::new(ContactId(56)),
    ])
    .await
    .unwrap();
    assert!(!deal.add(ContactBinding::new(ContactId(55))).await.unwrap());
    assert!(
        deal.add(ContactBinding::new(ContactId(57)).sort(5))
            .await
            .unwrap()
    );
    assert!(!deal.remove(ContactId(99)).await.unwrap());
    deal.clear().await.unwrap();
    assert!(
        client
            .contacts::<Lead>(LeadId(4))
            .get()
            .await
            .unwrap()
            .is_empty()
    );

    // A smart process: contactIds on crm.item, the primary one is contactId.
    let spa = client.contacts::<Spa>(ItemId(3));
    assert_eq!(
        spa.get().await.unwrap(),
        [
            ContactBinding::new(ContactId(11)),
            ContactBinding::new(ContactId(12)).primary()
        ]
    );
    spa.replace_all(&[
        ContactBinding::new(ContactId(11)),
        ContactBinding::new(ContactId(12)).primary(),
    ])
    .await
    .unwrap();
    let before = requests(&seen).len();
    let e = spa
        .add(ContactBinding::new(ContactId(1)))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("replace_all"), "{e}");
    let e = client
        .contacts::<Contact>(ContactId(1))
        .get()
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidRequest { .. }), "{e}");
    assert_eq!(requests(&seen).len(), before, "refusals send nothing");

    let sent = requests(&seen);
    assert_eq!(
        methods(&sent),
        [
            "crm.deal.contact.items.get",
            "crm.deal.contact.items.set",
            "crm.deal.contact.add",
            "crm.deal.contact.add",
            "crm.deal.contact.delete",
            "crm.deal.contact.items.delete",
            "crm.lead.contact.items.get",
            "crm.item.get",
            "crm.item.update"
        ]
    );
    assert_eq!(sent[0].1, json!({"id": 1875}));
    assert_eq!(
        sent[1].1,
        json!({"id": 1875, "items": [
            {"CONTACT_ID": 55, "IS_PRIMARY": "Y", "SORT": 100},
            {"CONTACT_ID": 56, "IS_PRIMARY": "N"}
        ]})
    );
    assert_eq!(
        sent[3].1,
        json!({"id": 1875, "fields": {"CONTACT_ID": 57, "IS_PRIMARY": "N", "SORT": 5}})
    );
    assert_eq!(sent[4].1, json!({"id": 1875, "fields": {"CONTACT_ID": 99}}));
    assert_eq!(sent[7].1, json!({"entityTypeId": 1030, "id": 3}));
    assert_eq!(
        sent[8].1,
        json!({"entityTypeId": 1030, "id": 3, "fields": {"contactIds": [12, 11]}})
    );
}

/// A product row as `crm.item.productrow.*` answers it (numbers).
fn item_row(id: u64, owner: &str, owner_id: u64) -> Value {
    json!({"id": id, "ownerId": owner_id, "ownerType": owner, "productId": 9621,
           "productName": "iphone 14", "price": 90000.1, "priceAccount": 90000.1,
           "priceExclusive": 81818.18, "priceNetto": 90909.09, "priceBrutto": 100000,
           "quantity": 3, "discountTypeId": 2, "discountRate": 10, "discountSum": 9090.91,
           "taxRate": 10, "taxIncluded": "Y", "customized": "Y", "measureCode": 796,
           "measureName": "pcs", "sort": 20, "xmlId": "sale_basket_8147", "type": 4})
}

#[tokio::test]
async fn product_rows_take_the_owner_from_the_entity_and_the_route_from_the_client() {
    let (script, seen) = portal(|method, body| match method {
        "crm.deal.productrows.get" => json!({"result": [{
            "ID": "5", "OWNER_ID": "7", "OWNER_TYPE": "D", "PRODUCT_ID": 450,
            "PRODUCT_NAME": "Product #2", "PRICE": 899.1, "PRICE_ACCOUNT": "899.10",
            "QUANTITY": 1, "DISCOUNT_TYPE_ID": 2, "DISCOUNT_RATE": 10, "DISCOUNT_SUM": 99.9,
            "TAX_RATE": null, "TAX_INCLUDED": "Y", "MEASURE_CODE": 796, "SORT": 10
        }]}),
        "crm.deal.productrows.set" | "crm.lead.productrows.set" => json!({"result": true}),
        "crm.lead.productrows.get" => json!({"result": []}),
        "crm.item.productrow.list" => {
            let start = body["start"].as_u64().unwrap_or(0);
            let n = if start == 0 { 50 } else { 3 };
            let owner = body["filter"]["=ownerType"].as_str().unwrap_or("");
            let rows: Vec<Value> = (0..n).map(|i| item_row(start + i + 1, owner, 7)).collect();
            json!({"result": {"productRows": rows}, "total": 53})
        }
        "crm.item.productrow.add" | "crm.item.productrow.get" | "crm.item.productrow.update" => {
            json!({"result": {"productRow": item_row(17649, "D", 7)}})
        }
        "crm.item.productrow.set" => json!({"result": {"productRows": [item_row(1, "T406", 3)]}}),
        "crm.item.productrow.delete" => json!({"result": null}),
        "crm.item.productrow.fields" => {
            json!({"result": {"fields": {"price": {"type": "double"}}}})
        }
        _ => not_found(method),
    })
    .await;
    let client = script_client(&script, fast_retry());
    let row = ProductRowFields::new()
        .product(ProductId(450))
        .price(Decimal::from_str("899.10").unwrap())
        .quantity(Decimal::from(2))
        .discount(Discount::Monetary(Decimal::from_str("99.9").unwrap()))
        .tax(Decimal::from(20), false)
        .measure_code(796);

    // The legacy route (the deal's default): crm.deal.productrows.get/set.
    let deal = client.product_rows::<Deal>(DealId(7));
    let rows = deal.list().await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].id, Some(ProductRowId(5)));
    assert_eq!(
        rows[0].price_account.map(|d| d.to_string()).as_deref(),
        Some("899.10")
    );
    assert_eq!(rows[0].discount_type, Some(DiscountType::Percentage));
    assert_eq!(
        deal.replace_all(std::slice::from_ref(&row)).await.unwrap(),
        rows
    );
    assert!(
        client
            .product_rows::<Lead>(LeadId(4))
            .replace_all(&[])
            .await
            .unwrap()
            .is_empty()
    );

    // The item route: crm.item.productrow.*, owner type D, all pages.
    let item = client.with_api(Api::Item);
    let deal = item.product_rows::<Deal>(DealId(7));
    let rows = deal.list().await.unwrap();
    assert_eq!(rows.len(), 53);
    assert_eq!(rows[52].id, Some(ProductRowId(53)));
    assert_eq!(rows[0].price, Some(Decimal::from_str("90000.1").unwrap()));
    assert_eq!(
        rows[0].price_exclusive,
        Some(Decimal::from_str("81818.18").unwrap())
    );
    assert_eq!(rows[0].tax_included, Some(true));
    let added = deal.add(&row).await.unwrap();
    assert_eq!(added.id, Some(ProductRowId(17649)));
    // A smart process (1030 = 0x406) replaces on crm.item.productrow.set on any route.
    let spa_rows = client
        .product_rows::<Spa>(ItemId(3))
        .replace_all(std::slice::from_ref(&row))
        .await
        .unwrap();
    assert_eq!(spa_rows[0].owner_type.as_deref(), Some("T406"));
    let one = client.product_row(ProductRowId(17649)).await.unwrap();
    assert_eq!(one.measure_name.as_deref(), Some("pcs"));
    client
        .update_product_row(ProductRowId(17649), &ProductRowFields::new().sort(30))
        .await
        .unwrap();
    client
        .delete_product_row(ProductRowId(17649))
        .await
        .unwrap();
    assert!(
        client
            .product_row_fields()
            .await
            .unwrap()
            .contains_key("price")
    );
    let before = requests(&seen).len();
    let e = client
        .product_rows::<Contact>(ContactId(1))
        .list()
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no product rows"), "{e}");
    assert_eq!(requests(&seen).len(), before, "refusals send nothing");

    let sent = requests(&seen);
    assert_eq!(
        methods(&sent),
        [
            "crm.deal.productrows.get",
            "crm.deal.productrows.set",
            "crm.deal.productrows.get",
            "crm.lead.productrows.set",
            "crm.lead.productrows.get",
            "crm.item.productrow.list",
            "crm.item.productrow.list",
            "crm.item.productrow.add",
            "crm.item.productrow.set",
            "crm.item.productrow.get",
            "crm.item.productrow.update",
            "crm.item.productrow.delete",
            "crm.item.productrow.fields"
        ]
    );
    assert_eq!(sent[0].1, json!({"id": 7}));
    assert_eq!(
        sent[1].1,
        json!({"id": 7, "rows": [{"PRODUCT_ID": 450, "PRICE": "899.10", "QUANTITY": "2",
            "DISCOUNT_TYPE_ID": 1, "DISCOUNT_SUM": "99.9", "TAX_RATE": "20",
            "TAX_INCLUDED": "N", "MEASURE_CODE": 796}]})
    );
    assert_eq!(sent[3].1, json!({"id": 4, "rows": []}));
    assert_eq!(
        sent[5].1,
        json!({"filter": {"=ownerType": "D", "=ownerId": 7}, "start": 0})
    );
    assert_eq!(sent[6].1["start"], json!(50));
    assert_eq!(
        sent[7].1,
        json!({"fields": {"ownerType": "D", "ownerId": 7, "productId": 450, "price": "899.10",
            "quantity": "2", "discountTypeId": 1, "discountSum": "99.9", "taxRate": "20",
            "taxIncluded": "N", "measureCode": 796}})
    );
    assert_eq!(sent[8].1["ownerType"], json!("T406"));
    assert_eq!(sent[8].1["ownerId"], json!(3));
    assert_eq!(sent[8].1["productRows"][0]["productId"], json!(450));
    assert_eq!(sent[9].1, json!({"id": 17649}));
    assert_eq!(sent[10].1, json!({"id": 17649, "fields": {"sort": 30}}));
}

/// A client of the emulator with short retry waits.
async fn emulator() -> (Emulator, Client) {
    let emu = Emulator::start(Config::default()).await.unwrap();
    let client = Client::builder()
        .webhook(emu.webhook_url())
        .plan(Plan::Enterprise)
        .retry(fast_retry())
        .build()
        .unwrap();
    (emu, client)
}

async fn new_contact(client: &Client, name: &str) -> ContactId {
    let id = client
        .call(
            "crm.contact.add",
            json!({"fields": {"NAME": name, "SECOND_NAME": "Тестовый", "LAST_NAME": "Контакт"}}),
        )
        .await
        .unwrap();
    ContactId(id.as_u64().or_else(|| id.as_str()?.parse().ok()).unwrap())
}

/// A deal of the default pipeline at a typed stage.
fn new_deal() -> NewDeal {
    NewDeal {
        title: Some("Поставка".into()),
        category_id: Some(DealStage::New.category_id()),
        stage_id: Some(StatusId(DealStage::New.code().into())),
        channel: Some(3476), // the demo portal's required "Канал продаж": Site
        ..NewDeal::default()
    }
}

/// A deal created in a pipeline at a typed stage is refused a stage of another pipeline
/// (and stays where it is), moved, and then takes a stage of its new pipeline.
#[tokio::test]
async fn a_deal_moves_between_pipelines_on_the_emulator() {
    let (emu, client) = emulator().await;
    let deal_id = client.add(&new_deal()).await.unwrap();

    // A stage of pipeline 1 on a deal of pipeline 0: refused, the deal unchanged.
    let e = client
        .update(deal_id, &to_stage(DealStage::C1Won))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::WrongPipeline { .. }), "{e}");
    let mut batch = client.batch();
    batch.update(deal_id, &to_stage(DealStage::C1Won));
    let e = batch.send().await.unwrap_err();
    assert!(matches!(e, Error::WrongPipeline { .. }), "{e}");
    let deal: Deal = client.get(deal_id).await.unwrap();
    assert_eq!(deal.stage_id.as_ref().map(|s| s.as_str()), Some("NEW"));

    // Moved, then a stage of its new pipeline goes through, on both routes.
    client
        .move_to_stage(deal_id, DealStage::C1New)
        .await
        .unwrap();
    let deal: Deal = client.get(deal_id).await.unwrap();
    assert_eq!(deal.category_id, Some(CategoryId(1)));
    assert_eq!(
        DealStage::from_code(deal.stage_id.as_ref().unwrap().as_str()),
        DealStage::C1New
    );
    let mut batch = client.batch();
    let to_preparation = batch.update(
        deal_id,
        &to_stage(DealStage::Other("C1:PREPARATION".into())),
    );
    batch.send().await.unwrap().get(to_preparation).unwrap();
    client
        .with_api(Api::Item)
        .update(deal_id, &to_stage(DealStage::C1Won))
        .await
        .unwrap();
    let deal: Deal = client.get(deal_id).await.unwrap();
    assert!(DealStage::from_code(deal.stage_id.as_ref().unwrap().as_str()).is_won());

    emu.shutdown().await;
}

/// The README's contacts and product rows on a deal of the emulator, read back typed on both
/// routes.
#[tokio::test]
async fn a_deal_gets_contacts_and_product_rows_on_the_emulator() {
    let (emu, client) = emulator().await;
    let deal_id = client.add(&new_deal()).await.unwrap();

    // Contacts.
    let (anna, boris, vera) = (
        new_contact(&client, "Анна").await,
        new_contact(&client, "Борис").await,
        new_contact(&client, "Вера").await,
    );
    let contacts = client.contacts::<Deal>(deal_id);
    contacts
        .replace_all(&[
            ContactBinding::new(anna).primary(),
            ContactBinding::new(boris).sort(20),
        ])
        .await
        .unwrap();
    assert!(contacts.add(ContactBinding::new(vera)).await.unwrap());
    assert!(!contacts.add(ContactBinding::new(vera)).await.unwrap());
    let bindings = contacts.get().await.unwrap();
    assert_eq!(
        bindings.iter().map(|b| b.contact_id).collect::<Vec<_>>(),
        [anna, boris, vera]
    );
    assert_eq!(
        bindings.iter().map(|b| b.is_primary).collect::<Vec<_>>(),
        [true, false, false]
    );
    assert_eq!(bindings[1].sort, Some(20));
    assert!(contacts.remove(anna).await.unwrap());
    assert!(!contacts.remove(anna).await.unwrap());
    let bindings = contacts.get().await.unwrap();
    assert_eq!(bindings.len(), 2);
    assert_eq!(
        bindings.iter().filter(|b| b.is_primary).count(),
        1,
        "{bindings:?}"
    );

    // Product rows, on the item route and read back on the legacy one.
    let rows = client.with_api(Api::Item).product_rows::<Deal>(deal_id);
    let stored = rows
        .replace_all(&[
            ProductRowFields::new()
                .name("Станок")
                .price(Decimal::from_str("80000.10").unwrap())
                .quantity(Decimal::from(2))
                .discount(Discount::Percentage(Decimal::from(10)))
                .tax(Decimal::from(20), true),
            ProductRowFields::new()
                .name("Наладка")
                .price(Decimal::from(500))
                .discount(Discount::Monetary(Decimal::from(50))),
        ])
        .await
        .unwrap();
    assert_eq!(stored.len(), 2);
    assert!(stored.iter().all(|r| r.id.is_some()));
    assert_eq!(stored[0].price, Some(Decimal::from_str("80000.1").unwrap()));
    assert_eq!(stored[0].quantity, Some(Decimal::from(2)));
    assert_eq!(stored[0].discount_type, Some(DiscountType::Percentage));
    assert_eq!(stored[1].discount_type, Some(DiscountType::Monetary));
    assert_eq!(stored[0].tax_included, Some(true));
    let delivery = rows
        .add(
            &ProductRowFields::new()
                .name("Доставка")
                .price(Decimal::from(700)),
        )
        .await
        .unwrap();
    let delivery_id = delivery.id.unwrap();
    client
        .update_product_row(
            delivery_id,
            &ProductRowFields::new().quantity(Decimal::from(3)),
        )
        .await
        .unwrap();
    let read = client.product_row(delivery_id).await.unwrap();
    assert_eq!(read.quantity, Some(Decimal::from(3)));
    assert_eq!(read.product_name.as_deref(), Some("Доставка"));
    assert_eq!(read.owner_type.as_deref(), Some("D"));
    let all = rows.list().await.unwrap();
    assert_eq!(all.len(), 3);
    let legacy = client.with_api(Api::Legacy).product_rows::<Deal>(deal_id);
    let legacy_rows = legacy.list().await.unwrap();
    assert_eq!(
        legacy_rows.iter().map(|r| r.id).collect::<Vec<_>>(),
        all.iter().map(|r| r.id).collect::<Vec<_>>()
    );
    assert_eq!(legacy_rows[0].price, all[0].price);
    client.delete_product_row(delivery_id).await.unwrap();
    assert_eq!(rows.list().await.unwrap().len(), 2);
    // The legacy replace_all answers `true`; the rows are read back.
    let replaced = legacy
        .replace_all(&[ProductRowFields::new().name("Одна").price(Decimal::from(1))])
        .await
        .unwrap();
    assert_eq!(replaced.len(), 1);
    assert_eq!(replaced[0].product_name.as_deref(), Some("Одна"));
    assert!(rows.replace_all(&[]).await.unwrap().is_empty());
    assert!(rows.list().await.unwrap().is_empty());
    emu.shutdown().await;
}

/// A new item of the demo smart process "Проекты".
async fn new_project(client: &Client) -> ItemId {
    client
        .add(&NewProject {
            title: Some("Проект".into()),
            opened: Some(true),
            ..NewProject::default()
        })
        .await
        .unwrap()
}

/// A smart process's contacts are its `contactIds`: written all at once, read back with the
/// primary one (`contactId`) marked.
#[tokio::test]
async fn a_smart_process_item_gets_contacts_on_the_emulator() {
    let (emu, client) = emulator().await;
    let id = new_project(&client).await;
    let (anna, boris) = (
        new_contact(&client, "Анна").await,
        new_contact(&client, "Борис").await,
    );
    let contacts = client.contacts::<Project>(id);
    contacts
        .replace_all(&[
            ContactBinding::new(anna),
            ContactBinding::new(boris).primary(),
        ])
        .await
        .unwrap();
    let bindings = contacts.get().await.unwrap();
    assert_eq!(
        bindings,
        [
            ContactBinding::new(boris).primary(),
            ContactBinding::new(anna)
        ]
    );
    let e = contacts.remove(anna).await.unwrap_err();
    assert!(e.to_string().contains("replace_all"), "{e}");
    contacts.clear().await.unwrap();
    assert!(contacts.get().await.unwrap().is_empty());
    emu.shutdown().await;
}

/// A stage of a smart process's pipeline created at run time.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ProjectStage {
    category: CategoryId,
    code: String,
}

impl Stage for ProjectStage {
    type Entity = Project;
    fn category_id(&self) -> CategoryId {
        self.category
    }
    fn code(&self) -> &str {
        &self.code
    }
    fn from_code(code: &str) -> Self {
        // `DT1220_5:NEW`: the pipeline is the number after the underscore.
        let category = code
            .split_once('_')
            .and_then(|(_, rest)| rest.split_once(':'))
            .and_then(|(n, _)| n.parse().ok())
            .unwrap_or(0);
        ProjectStage {
            category: CategoryId(category),
            code: code.to_owned(),
        }
    }
    fn semantics(&self) -> Option<StageSemantics> {
        None
    }
    fn name(&self) -> Option<&'static str> {
        None
    }
}

/// `move_to_stage` is the same typed call for a smart process: the item lands in the new
/// pipeline at the given stage.
#[tokio::test]
async fn a_smart_process_item_moves_between_pipelines_on_the_emulator() {
    let (emu, client) = emulator().await;
    let id = new_project(&client).await;
    let created = client
        .call(
            "crm.category.add",
            json!({"entityTypeId": 1220, "fields": {"name": "Второй этап"}}),
        )
        .await
        .unwrap();
    let category = created["category"]["id"].as_u64().unwrap();
    let stage = ProjectStage::from_code(&format!("DT1220_{category}:NEW"));
    assert_eq!(stage.category_id(), CategoryId(category));
    client.move_to_stage(id, stage.clone()).await.unwrap();
    let item = client
        .call("crm.item.get", json!({"entityTypeId": 1220, "id": id.0}))
        .await
        .unwrap();
    assert_eq!(item["item"]["categoryId"], json!(category), "{item}");
    assert_eq!(item["item"]["stageId"], json!(stage.code()), "{item}");
    emu.shutdown().await;
}
