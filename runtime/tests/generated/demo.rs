//! The generated demo `Deal` (through the `#[bitrix_entity]` macro): decoding the seed
//! documentation's responses, encoding payloads, enums, metadata and typed filters.

#![allow(deprecated)] // CONTACT_ID is deprecated on the portal; the tests read it on purpose.

use std::str::FromStr;

use bitrix_runtime::types::{
    CategoryId, CompanyId, ContactId, DealId, Decimal, EnumValue, FileUpload, Money, SmartItemId,
    StatusId, UserId,
};
use bitrix_runtime::{
    Entity, EntityField, Filter, Patch, StandardDeal, UpdatePayload, bitrix_entity,
};
use chrono::NaiveDate;
use serde_json::{Value, json};

#[bitrix_entity(
    schema = "../schemas/demo/deal.json",
    rename(
        UF_CRM_1721244482250 = "greeting",
        UF_CRM_1721244590123 = "sales_channel",
        UF_CRM_1721244590123[3476] = "Website",
        UF_CRM_1721244601234 = "interests",
        UF_CRM_1721244567890 = "budget",
        UF_CRM_1721244612346 = "scans",
        UF_CRM_1721244534567 = "contract_signed",
    )
)]
/// The demo portal's deal.
pub struct Deal;

fn result_of(text: &str) -> Value {
    let mut v: Value = serde_json::from_str(text).unwrap();
    v["result"].take()
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

#[test]
fn seed_get_example_decodes_to_the_right_values() {
    let deal: Deal =
        serde_json::from_value(result_of(include_str!("../data/seed_get.json"))).unwrap();
    assert_eq!(deal.id, Some(DealId(410)));
    assert_eq!(deal.title.as_deref(), Some("Новая сделка #1"));
    assert_eq!(deal.type_id, Some(DealType::Complex));
    assert_eq!(
        deal.stage_id,
        Some(DealStage::Obshchaya(DealStageObshchaya::Preparation))
    );
    assert_eq!(deal.probability, Some(99));
    assert_eq!(deal.currency_id, Some(DealCurrency::Eur));
    assert_eq!(deal.opportunity, Some(dec("1000000.00")));
    assert_eq!(deal.opportunity.unwrap().to_string(), "1000000.00");
    assert_eq!(deal.is_manual_opportunity, Some(true));
    assert_eq!(deal.tax_value, Some(dec("0.00")));
    assert_eq!(deal.lead_id, None);
    assert_eq!(deal.company_id, Some(CompanyId(9)));
    assert_eq!(deal.contact_id, Some(ContactId(84)));
    assert_eq!(deal.quote_id, None);
    assert_eq!(deal.begindate, NaiveDate::from_ymd_opt(2024, 8, 30));
    assert_eq!(deal.closedate, NaiveDate::from_ymd_opt(2024, 9, 9));
    assert_eq!(deal.assigned_by_id, Some(UserId(1)));
    let created = deal.date_create.unwrap();
    assert_eq!(created.to_rfc3339(), "2024-08-30T14:29:00+02:00");
    assert_eq!(deal.opened, Some(true));
    assert_eq!(deal.closed, Some(false));
    assert_eq!(deal.comments.as_deref(), Some("[B]Пример комментария[/B]"));
    assert_eq!(deal.location_id, None);
    assert_eq!(deal.category_id, Some(DealCategory::Obshchaya));
    assert_eq!(deal.stage_semantic_id.as_deref(), Some("P"));
    assert_eq!(deal.is_new, Some(false));
    assert_eq!(deal.originator_id, None);
    assert_eq!(deal.utm_source.as_deref(), Some("google"));
    assert_eq!(deal.utm_campaign, None);
    assert_eq!(deal.parent_id_1220, Some(SmartItemId(22)));
    assert_eq!(deal.greeting.as_deref(), Some("Привет мир!"));
    assert!(
        deal.extra.is_empty(),
        "every seed field is in the demo snapshot: {:?}",
        deal.extra
    );
    assert_eq!(deal.id(), Some(DealId(410)));
}

#[test]
fn seed_list_example_decodes_every_row() {
    let rows: Vec<Deal> =
        serde_json::from_value(result_of(include_str!("../data/seed_list.json"))).unwrap();
    let ids: Vec<u64> = rows.iter().map(|d| d.id.unwrap().0).collect();
    assert_eq!(ids, [37, 38, 39, 40, 41, 42]);
    assert_eq!(rows[0].opportunity, Some(dec("19999.99")));
    assert_eq!(rows[0].title.as_deref(), Some("[А] Сделка"));
    assert_eq!(rows[1].assigned_by_id, Some(UserId(6)));
    assert_eq!(rows[2].category_id, Some(DealCategory::Dilery));
    assert_eq!(rows[2].stage_id, Some(DealStageDilery::New.into()));
    // Fields that were not selected stay None.
    assert!(
        rows.iter()
            .all(|d| d.comments.is_none() && d.greeting.is_none())
    );
}

#[test]
fn user_field_values_decode_in_every_portal_form() {
    let deal: Deal = serde_json::from_value(json!({
        "UF_CRM_1721244590123": "3476",
        "UF_CRM_1721244601234": ["81", 85, "99999"],
        "UF_CRM_1721244567890": "300.50|RUB",
        "UF_CRM_1721244534567": "1",
        "UF_CRM_1721244612346": [{"id": 37375, "showUrl": "/show?id=1", "downloadUrl": "/dl?id=1"}],
        "UF_CRM_1721244500101": [],
        "UF_CRM_1721244512345": "",
        "UF_CRM_1721244545678": "2024-08-30T02:00:00+02:00",
        "UF_CRM_NEW_ON_PORTAL": {"any": "thing"}
    }))
    .unwrap();
    assert_eq!(deal.sales_channel, Some(DealSalesChannel::Website));
    assert_eq!(
        deal.interests,
        Some(vec![
            DealInterests::Dostavka,
            DealInterests::ServisnoeObsluzhivanie,
            DealInterests::Other("99999".into()),
        ])
    );
    assert_eq!(deal.budget, Some(Money::new(dec("300.50"), "RUB")));
    assert_eq!(deal.contract_signed, Some(true));
    assert_eq!(deal.scans.as_ref().map(Vec::len), Some(1));
    assert_eq!(deal.uf_crm_1721244500101, Some(vec![]));
    assert_eq!(deal.uf_crm_1721244512345, None);
    assert_eq!(
        deal.uf_crm_1721244545678,
        NaiveDate::from_ymd_opt(2024, 8, 30)
    );
    assert_eq!(deal.extra["UF_CRM_NEW_ON_PORTAL"], json!({"any": "thing"}));
}

#[test]
fn read_model_serializes_back_to_an_equal_value() {
    let deal: Deal =
        serde_json::from_value(result_of(include_str!("../data/seed_get.json"))).unwrap();
    let mut with_extra = deal.clone();
    with_extra.extra.insert("UF_CRM_LATER".into(), json!("x"));
    for d in [deal, with_extra] {
        let text = serde_json::to_string(&d).unwrap();
        let back: Deal = serde_json::from_str(&text).unwrap();
        assert_eq!(back, d);
    }
}

#[test]
fn decode_errors_name_the_field_code_and_the_raw_value() {
    let err = serde_json::from_value::<Deal>(json!({"ID": "1", "OPPORTUNITY": "a lot"}))
        .unwrap_err()
        .to_string();
    assert!(err.contains("OPPORTUNITY"), "{err}");
    assert!(err.contains("a lot"), "{err}");
    let err = serde_json::from_str::<Deal>("[1]").unwrap_err().to_string();
    assert!(err.contains("deal record"), "{err}");
}

#[test]
fn create_payload_sends_the_wire_forms_and_only_given_fields() {
    let new = NewDeal::builder()
        .title("Поставка")
        .stage(DealStageDilery::New)
        .opportunity(dec("1000000.00"))
        .currency_id("EUR")
        .contact_ids(vec![ContactId(84), ContactId(83)])
        .begindate(NaiveDate::from_ymd_opt(2024, 8, 30).unwrap())
        .is_recurring(false)
        .budget(Money::new(dec("300.50"), "RUB"))
        .contract_signed(true)
        .scans(vec![FileUpload::new("a.txt", b"hi".to_vec())])
        .interests(vec![DealInterests::Montazh])
        .sales_channel(DealSalesChannel::Website)
        .build();
    let json = serde_json::to_value(&new).unwrap();
    assert_eq!(
        json,
        json!({
            "TITLE": "Поставка",
            "CATEGORY_ID": 1,
            "STAGE_ID": "C1:NEW",
            "IS_RECURRING": "N",
            "CURRENCY_ID": "EUR",
            "OPPORTUNITY": "1000000.00",
            "CONTACT_IDS": [84, 83],
            "BEGINDATE": "2024-08-30",
            "UF_CRM_1721244534567": 1,
            "UF_CRM_1721244567890": "300.50|RUB",
            "UF_CRM_1721244590123": "3476",
            "UF_CRM_1721244601234": ["83"],
            "UF_CRM_1721244612346": [{"fileData": ["a.txt", "aGk="]}],
        })
    );
    assert_eq!(new.sales_channel, DealSalesChannel::Website);
}

#[test]
fn update_payload_sends_only_touched_fields_and_clears_with_empty_values() {
    let patch = DealPatch::new()
        .title("Renamed")
        .clear_comments()
        .clear_interests();
    assert!(!patch.is_empty());
    assert_eq!(patch.cleared_fields(), ["COMMENTS", "UF_CRM_1721244601234"]);
    assert_eq!(
        serde_json::to_value(&patch).unwrap(),
        json!({"TITLE": "Renamed", "COMMENTS": "", "UF_CRM_1721244601234": []})
    );
    let untouched = DealPatch::new();
    assert!(untouched.is_empty());
    assert_eq!(serde_json::to_value(&untouched).unwrap(), json!({}));
    let by_field = DealPatch {
        stage_id: Patch::Set("WON".into()),
        ..DealPatch::default()
    };
    assert_eq!(
        serde_json::to_value(&by_field).unwrap(),
        json!({"STAGE_ID": "WON"})
    );
}

#[test]
fn enumeration_items_become_variants_with_a_fallback() {
    assert_eq!(DealSalesChannel::from_id("3476"), DealSalesChannel::Website);
    assert_eq!(
        DealSalesChannel::from_id("3478"),
        DealSalesChannel::KholodnyyZvonok
    );
    assert_eq!(
        DealSalesChannel::from_id("3492"),
        DealSalesChannel::VystavkaInnoprom
    );
    assert_eq!(
        DealSalesChannel::from_id("1"),
        DealSalesChannel::Other("1".into())
    );
    assert_eq!(DealSalesChannel::Other("1".into()).id(), "1");
    assert_eq!(
        DealSalesChannel::KholodnyyZvonok.label(),
        Some("Холодный звонок")
    );
    assert_eq!(
        DealSalesChannel::VystavkaInnoprom.to_string(),
        "Выставка \"Иннопром\""
    );
    assert_eq!(DealSalesChannel::ALL.len(), 4);
}

#[test]
fn field_enum_carries_the_snapshot_metadata() {
    let category = DealField::CategoryId.meta();
    assert!(category.immutable && !category.read_only);
    assert_eq!(category.title, "Воронка");
    let channel = DealField::SalesChannel.meta();
    assert_eq!(channel.code, "UF_CRM_1721244590123");
    assert_eq!(channel.rust_name, "sales_channel");
    assert!(channel.required && channel.dynamic);
    assert_eq!(channel.display_name(), "Канал продаж");
    assert!(DealField::ContactId.meta().deprecated);
    assert_eq!(
        DealField::from_code("UF_CRM_1721244482250"),
        Some(DealField::Greeting)
    );
    assert_eq!(DealField::from_code("uf_crm_1721244482250"), None);
    assert_eq!(DealField::Greeting.to_string(), "UF_CRM_1721244482250");
    assert_eq!(DealField::from(Deal::TITLE), DealField::Title);
    assert_eq!(DealField::ALL.first(), Some(&DealField::Id));
}

#[test]
fn typed_filters_build_the_documented_prefixes() {
    let filter: Filter<Deal> = Deal::TITLE
        .like("%а")
        .and(Deal::CATEGORY_ID.eq(CategoryId(1)))
        .and(Deal::STAGE_ID.eq("C1:NEW"))
        .and(Deal::OPPORTUNITY.gt(dec("10000")))
        .and(Deal::OPPORTUNITY.le(dec("20000")))
        .and(Deal::IS_MANUAL_OPPORTUNITY.eq(true))
        .and(Deal::ASSIGNED_BY_ID.one_of([UserId(1), UserId(6)]))
        .and(Deal::CONTRACT_SIGNED.eq(true))
        .and(Deal::SALES_CHANNEL.ne(DealSalesChannel::Website));
    let json = Value::Object(filter.to_json());
    assert_eq!(
        json,
        json!({
            "=%TITLE": "%а",
            "=CATEGORY_ID": 1,
            "=STAGE_ID": "C1:NEW",
            ">OPPORTUNITY": "10000",
            "<=OPPORTUNITY": "20000",
            "=IS_MANUAL_OPPORTUNITY": "Y",
            "@ASSIGNED_BY_ID": [1, 6],
            "=UF_CRM_1721244534567": 1,
            "!=UF_CRM_1721244590123": "3476",
        })
    );
}

/// Library code that works with any portal's deal.
fn describe<D: StandardDeal>(deal: &D) -> String {
    format!(
        "{} #{} {} {}",
        deal.title().unwrap_or("?"),
        deal.deal_id().map(|id| id.0).unwrap_or(0),
        deal.stage_id().map(StatusId::as_str).unwrap_or("-"),
        deal.opportunity()
            .map(|o| o.to_string())
            .unwrap_or_default()
    )
}

#[test]
fn the_standard_deal_trait_reads_any_portal() {
    let deal: Deal =
        serde_json::from_value(result_of(include_str!("../data/seed_get.json"))).unwrap();
    assert_eq!(
        describe(&deal),
        "Новая сделка #1 #410 PREPARATION 1000000.00"
    );
    assert_eq!(deal.close_date(), NaiveDate::from_ymd_opt(2024, 9, 9));
    assert_eq!(<Deal as Entity>::NAME, "deal");
}

/// Library code that filters any portal's deals.
fn big_won<D: StandardDeal>() -> Filter<D> {
    D::STAGE_ID
        .eq("WON")
        .and(D::OPPORTUNITY.ge(dec("10000")))
        .and(D::CLOSED.eq(true))
}

#[test]
fn the_standard_deal_trait_filters_any_portal() {
    let json = Value::Object(big_won::<Deal>().to_json());
    assert_eq!(
        json,
        json!({"=STAGE_ID": "WON", ">=OPPORTUNITY": "10000", "=CLOSED": "Y"})
    );
    assert_eq!(<Deal as StandardDeal>::TITLE.field(), DealField::Title);
}

/// The README's "Code for any portal" snippet, compiled (it runs in the library-author example).
#[allow(dead_code)]
async fn open_pipeline_total<D: StandardDeal>(
    client: &bitrix_runtime::Client,
) -> Result<Decimal, bitrix_runtime::Error> {
    use futures::TryStreamExt;
    let mut deals = client
        .list::<D>()
        .filter(D::CLOSED.eq(false).and(D::CURRENCY_ID.eq("RUB")))
        .select([D::OPPORTUNITY.field()])
        .stream();
    let mut total = Decimal::ZERO;
    while let Some(deal) = deals.try_next().await? {
        total += deal.opportunity().unwrap_or_default();
    }
    Ok(total)
}
