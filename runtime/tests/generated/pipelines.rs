//! The pipeline, stage and dictionary enums of the demo portal (`schemas/demo`, which records
//! them): decoding every stage id into its pipeline's variant, fallbacks that keep the text,
//! the create payload taking the pipeline from the stage, the patch's stage guard, and the
//! standard traits still reading the ids.

use bitrix_runtime::pipeline::{Category, Stage, StageGuard, StageSemantics};
use bitrix_runtime::types::{CategoryId, CurrencyId, EnumValue, StatusId};
use bitrix_runtime::{StandardDeal, UpdatePayload, bitrix_entity};
use serde_json::json;

use crate::demo::{
    Deal, DealCategory, DealCurrency, DealPatch, DealSource, DealStage, DealStageDilery,
    DealStageObshchaya, DealType, NewDeal,
};

#[bitrix_entity(schema = "../schemas/demo/dynamic_1220.json")]
/// The demo portal's smart process 1220.
pub struct Shipment;

#[test]
fn every_stage_id_decodes_into_its_pipelines_variant() {
    for (code, expected) in [
        ("NEW", DealStage::Obshchaya(DealStageObshchaya::New)),
        ("WON", DealStage::Obshchaya(DealStageObshchaya::Won)),
        ("C1:NEW", DealStage::Dilery(DealStageDilery::New)),
        // A stage added to a known pipeline later: that pipeline's fallback.
        (
            "C1:UC_NEW1",
            DealStage::Dilery(DealStageDilery::Other(StatusId::from("C1:UC_NEW1"))),
        ),
        // A pipeline added later: the fallback over all pipelines.
        ("C9:NEW", DealStage::Other(StatusId::from("C9:NEW"))),
    ] {
        let deal: Deal = serde_json::from_value(json!({ "STAGE_ID": code })).unwrap();
        assert_eq!(deal.stage_id.as_ref(), Some(&expected), "{code}");
        assert_eq!(DealStage::from_code(code), expected, "{code}");
        // Nothing lost: the text goes back as it came.
        assert_eq!(serde_json::to_value(&deal).unwrap()["STAGE_ID"], code);
        assert_eq!(expected.as_str(), code);
        assert_eq!(expected.status_id().as_str(), code);
    }
    assert_eq!(
        Stage::category_id(&DealStage::from_code("C9:NEW")),
        CategoryId(9)
    );
    assert_eq!(Stage::category_id(&DealStageDilery::New), CategoryId(1));
    assert_eq!(
        Stage::category_id(&DealStage::from_code("NEW")),
        CategoryId(0)
    );
}

#[test]
fn stages_carry_their_names_and_semantics() {
    let won = DealStage::from("WON");
    assert!(won.is_won() && !won.is_lost() && !won.is_open());
    assert_eq!(won.semantics(), Some(StageSemantics::Success));
    assert!(DealStage::from("C1:LOSE").is_lost());
    assert!(DealStageObshchaya::Preparation.is_open());
    assert_eq!(DealStageObshchaya::New.name(), Some("Новая"));
    assert_eq!(DealStageObshchaya::New.to_string(), "Новая");
    let unknown = DealStage::from("C1:UC_X");
    assert_eq!((unknown.semantics(), unknown.name()), (None, None));
    assert_eq!(unknown.to_string(), "C1:UC_X");
    assert_eq!(DealStageObshchaya::ALL.len(), 8);
    assert_eq!(DealStageObshchaya::ALL[0].as_str(), "NEW");
}

#[test]
fn categories_decode_with_a_fallback_and_name_their_pipeline() {
    for (wire, expected) in [
        (json!("1"), DealCategory::Dilery),
        (json!(0), DealCategory::Obshchaya),
        (json!(77), DealCategory::Other(CategoryId(77))),
    ] {
        let deal: Deal = serde_json::from_value(json!({ "CATEGORY_ID": wire })).unwrap();
        assert_eq!(deal.category_id, Some(expected), "{wire}");
        let back = serde_json::to_value(&deal).unwrap()["CATEGORY_ID"].clone();
        assert_eq!(
            back.to_string().trim_matches('"'),
            wire.to_string().trim_matches('"')
        );
    }
    assert_eq!(DealCategory::Dilery.name(), Some("Дилеры"));
    assert_eq!(Category::id(&DealCategory::Tendery), CategoryId(2));
    assert_eq!(DealCategory::from_id(CategoryId(2)), DealCategory::Tendery);
    assert_eq!(DealCategory::Other(CategoryId(77)).to_string(), "77");
}

#[test]
fn dictionaries_and_currencies_decode_with_a_fallback() {
    let deal: Deal = serde_json::from_value(json!({
        "TYPE_ID": "SALE", "SOURCE_ID": "CALL", "CURRENCY_ID": "RUB"
    }))
    .unwrap();
    assert_eq!(deal.type_id, Some(DealType::Sale));
    assert_eq!(deal.source_id, Some(DealSource::Call));
    assert_eq!(deal.currency_id, Some(DealCurrency::Rub));
    assert_eq!(DealSource::Call.name(), Some("Звонок"));
    let odd: Deal = serde_json::from_value(json!({
        "TYPE_ID": "UC_42", "SOURCE_ID": 7, "CURRENCY_ID": "XAU"
    }))
    .unwrap();
    assert_eq!(odd.type_id, Some(DealType::Other(StatusId::from("UC_42"))));
    assert_eq!(odd.source_id, Some(DealSource::Other(StatusId::from("7"))));
    assert_eq!(
        odd.currency_id,
        Some(DealCurrency::Other(CurrencyId::from("XAU")))
    );
    let back = serde_json::to_value(&odd).unwrap();
    assert_eq!(
        (&back["TYPE_ID"], &back["SOURCE_ID"], &back["CURRENCY_ID"]),
        (&json!("UC_42"), &json!("7"), &json!("XAU"))
    );
    assert_eq!(EnumValue::id(&DealCurrency::Usd), "USD");
    assert_eq!(DealCurrency::Usd.currency_id(), &CurrencyId::from("USD"));
}

#[test]
fn the_create_payload_takes_the_pipeline_from_the_stage() {
    let new = NewDeal::builder()
        .title("x")
        .stage(DealStageDilery::New)
        .sales_channel(crate::demo::DealSalesChannel::Website)
        .build();
    assert_eq!(new.category_id, Some(DealCategory::Dilery));
    let json = serde_json::to_value(&new).unwrap();
    assert_eq!(
        (&json["CATEGORY_ID"], &json["STAGE_ID"]),
        (&json!(1), &json!("C1:NEW"))
    );
    // A stage of the all-pipelines enum works too, and an unknown pipeline keeps its id.
    let new = NewDeal::builder()
        .stage(DealStage::from("C9:NEW"))
        .sales_channel(crate::demo::DealSalesChannel::Website)
        .build();
    let json = serde_json::to_value(&new).unwrap();
    assert_eq!(
        (&json["CATEGORY_ID"], &json["STAGE_ID"]),
        (&json!(9), &json!("C9:NEW"))
    );
}

#[test]
fn a_patch_that_sets_a_stage_carries_its_guard() {
    assert_eq!(DealPatch::new().title("x").stage_guard(), None);
    assert_eq!(DealPatch::new().clear_stage_id().stage_guard(), None);
    let patch = DealPatch::new().stage_id(DealStageDilery::Won);
    assert_eq!(
        patch.stage_guard(),
        Some(StageGuard {
            stage: "C1:WON".into(),
            category: CategoryId(1)
        })
    );
    assert_eq!(
        serde_json::to_value(&patch).unwrap(),
        json!({"STAGE_ID": "C1:WON"})
    );
}

#[test]
fn the_standard_deal_trait_still_reads_the_ids() {
    let deal: Deal = serde_json::from_value(
        json!({"STAGE_ID": "C1:NEW", "CATEGORY_ID": "1", "CURRENCY_ID": "EUR", "TYPE_ID": "SALE"}),
    )
    .unwrap();
    assert_eq!(deal.stage_id().map(StatusId::as_str), Some("C1:NEW"));
    assert_eq!(StandardDeal::category_id(&deal), Some(CategoryId(1)));
    assert_eq!(
        StandardDeal::currency_id(&deal),
        Some(&CurrencyId::from("EUR"))
    );
    assert_eq!(StandardDeal::type_id(&deal), Some(&StatusId::from("SALE")));
}

#[test]
fn smart_process_stages_carry_their_pipeline_in_the_prefix() {
    let item: Shipment =
        serde_json::from_value(json!({"stageId": "DT1220_5:PREPARATION", "categoryId": 5}))
            .unwrap();
    let stage = item.stage_id.clone().unwrap();
    assert_eq!(stage.as_str(), "DT1220_5:PREPARATION");
    assert_eq!(Stage::category_id(&stage), CategoryId(5));
    assert!(stage.name().is_some());
    assert!(!matches!(stage, ShipmentStage::Other(_)));
    assert_eq!(item.category_id.map(|c| c.id()), Some(CategoryId(5)));
    let unknown = ShipmentStage::from("DT1220_8:NEW");
    assert_eq!(
        unknown,
        ShipmentStage::Other(StatusId::from("DT1220_8:NEW"))
    );
    assert_eq!(Stage::category_id(&unknown), CategoryId(8));
}

/// Pipelines and stages renamed through the macro's `rename(...)` (the names file's `items`
/// alike); the per-pipeline enum is named after the renamed pipeline.
mod renamed {
    use bitrix_runtime::bitrix_entity;
    use bitrix_runtime::pipeline::Stage;
    use bitrix_runtime::types::CategoryId;

    #[bitrix_entity(
        schema = "../schemas/demo/deal.json",
        rename(CATEGORY_ID[1] = "Dealers", STAGE_ID["C1:NEW"] = "Fresh", SOURCE_ID["CALL"] = "Phone")
    )]
    /// The demo deal with readable pipeline names.
    pub struct RenamedDeal;

    #[test]
    fn renamed_pipelines_and_stages_keep_their_codes() {
        assert_eq!(RenamedDealCategory::Dealers.id(), CategoryId(1));
        assert_eq!(RenamedDealStageDealers::Fresh.as_str(), "C1:NEW");
        assert_eq!(
            RenamedDealStage::from_code("C1:NEW"),
            RenamedDealStage::Dealers(RenamedDealStageDealers::Fresh)
        );
        assert_eq!(
            Stage::category_id(&RenamedDealStageDealers::Fresh),
            CategoryId(1)
        );
        assert_eq!(RenamedDealSource::Phone.as_str(), "CALL");
    }
}
