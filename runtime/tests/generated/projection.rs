//! Projections decoding rows of generated entities: both wire spellings (legacy codes and
//! `crm.item.*` names), renamed fields by their Rust name and by their code, multiple fields
//! read whole, every other key skipped, the errors of a bad or missing value, and one generic
//! row over two portals' deals.

use std::marker::PhantomData;

use bitrix_runtime::projection::Keyed;
use bitrix_runtime::types::{DealId, Decimal, UserId};
use bitrix_runtime::{EntityField, Projection, StandardDeal, bitrix_entity};

#[bitrix_entity(
    schema = "../schemas/demo/deal.json",
    rename(UF_CRM_1721244482250 = "greeting", UF_CRM_1721244634568 = "watchers")
)]
/// The demo portal's deal, two user fields renamed.
pub struct Deal;

#[bitrix_entity(schema = "../schemas/seed/deal.json")]
/// The seed documentation's portal: another portal's deal.
pub struct SeedDeal;

#[derive(Debug, PartialEq, bitrix_runtime::Projection)]
#[bitrix(entity = Deal)]
struct Row {
    id: DealId,
    /// Renamed: by its Rust name.
    greeting: Option<String>,
    /// Renamed: by its code.
    #[bitrix(field = "UF_CRM_1721244634568")]
    watched_by: Option<Vec<UserId>>,
    /// A multiple user field, not renamed: read whole.
    uf_crm_1721244500101: Option<Vec<String>>,
    #[bitrix(field = "STAGE_ID")]
    stage: Option<DealStage>,
    opportunity: Option<Decimal>,
    #[bitrix(skip)]
    local: u32,
}

#[derive(Debug, PartialEq, bitrix_runtime::Projection)]
#[bitrix(entity = D)]
struct AnyDeal<D: StandardDeal> {
    id: Option<DealId>,
    title: Option<String>,
    opportunity: Option<Decimal>,
    _portal: PhantomData<D>,
}

fn decode<P: Projection>(json: &str) -> Result<Keyed<P>, serde_json::Error> {
    serde_json::from_str(json)
}

#[test]
fn a_legacy_row_decodes_only_the_projections_fields() {
    let keyed = decode::<Row>(
        r#"{"ID": "41", "TITLE": "skipped", "UF_CRM_1721244482250": "Привет",
            "UF_CRM_1721244634568": ["3", 5], "UF_CRM_1721244500101": ["+7 1", "+7 2"],
            "STAGE_ID": "NEW", "OPPORTUNITY": "1000.50", "COMMENTS": {"deep": [1, 2, {"x": null}]},
            "UF_CRM_UNKNOWN": [1, 2, 3]}"#,
    )
    .unwrap();
    assert_eq!(keyed.id, Some(41));
    assert_eq!(
        keyed.row,
        Row {
            id: DealId(41),
            greeting: Some("Привет".into()),
            watched_by: Some(vec![UserId(3), UserId(5)]),
            uf_crm_1721244500101: Some(vec!["+7 1".into(), "+7 2".into()]),
            stage: Some(DealStage::from_code("NEW")),
            opportunity: Some(Decimal::new(100_050, 2)),
            local: 0,
        }
    );
}

#[test]
fn an_item_row_decodes_by_the_item_names() {
    let keyed = decode::<Row>(
        r#"{"id": 7, "title": "x", "ufCrm_1721244482250": "Hi", "ufCrm_1721244634568": [9],
            "stageId": "WON", "opportunity": 999.9, "fm": []}"#,
    )
    .unwrap();
    assert_eq!(keyed.id, Some(7));
    assert_eq!(keyed.row.id, DealId(7));
    assert_eq!(keyed.row.greeting.as_deref(), Some("Hi"));
    assert_eq!(keyed.row.watched_by, Some(vec![UserId(9)]));
    assert_eq!(keyed.row.uf_crm_1721244500101, None);
    assert_eq!(keyed.row.opportunity, Some(Decimal::new(9_999, 1)));
}

#[test]
fn the_select_names_every_field_once_in_order() {
    let codes: Vec<&str> = Row::select()
        .unwrap()
        .into_iter()
        .map(|f| f.code())
        .collect();
    assert_eq!(
        codes,
        [
            "ID",
            "UF_CRM_1721244482250",
            "UF_CRM_1721244634568",
            "UF_CRM_1721244500101",
            "STAGE_ID",
            "OPPORTUNITY"
        ]
    );
}

#[test]
fn bad_and_missing_values_are_errors_naming_the_field() {
    let bad = decode::<Row>(r#"{"ID": "1", "OPPORTUNITY": "abc"}"#).unwrap_err();
    assert!(bad.to_string().contains("OPPORTUNITY"), "{bad}");
    let no_id = decode::<Row>(r#"{"STAGE_ID": "NEW"}"#).unwrap_err();
    assert!(
        no_id.to_string().contains(
            "the field ID is not in the answer, but the projection declares it without `Option`"
        ),
        "{no_id}"
    );
    let empty_id = decode::<Row>(r#"{"ID": ""}"#).unwrap_err();
    assert!(
        empty_id.to_string().contains("the field ID is empty"),
        "{empty_id}"
    );
    let not_a_row = decode::<Row>("[1, 2]").unwrap_err();
    assert!(
        not_a_row.to_string().contains("a deal record"),
        "{not_a_row}"
    );
    // Absent optional fields are `None`.
    let sparse = decode::<Row>(r#"{"ID": 2}"#).unwrap();
    assert_eq!(sparse.row.greeting, None);
    assert_eq!(sparse.row.stage, None);
}

#[test]
fn one_generic_row_reads_two_portals_deals() {
    let json = r#"{"ID": "5", "TITLE": "Поставка", "OPPORTUNITY": "10.00", "STAGE_ID": "NEW"}"#;
    let demo = decode::<AnyDeal<Deal>>(json).unwrap();
    let seed = decode::<AnyDeal<SeedDeal>>(json).unwrap();
    assert_eq!(demo.row.id, Some(DealId(5)));
    assert_eq!(demo.row.title.as_deref(), Some("Поставка"));
    assert_eq!(seed.row.title, demo.row.title);
    assert_eq!(seed.row.opportunity, Some(Decimal::new(1_000, 2)));
    let codes = |fields: Vec<&'static str>| fields;
    assert_eq!(
        codes(
            AnyDeal::<SeedDeal>::select()
                .unwrap()
                .into_iter()
                .map(|f| f.code())
                .collect()
        ),
        ["ID", "TITLE", "OPPORTUNITY"]
    );
}
