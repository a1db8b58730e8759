//! The README's snippets, run against the emulator (keep the two in sync).

use std::time::Duration;

use bitrix_emulator::{Config, Emulator};
use bitrix_runtime::types::{DealId, Decimal};
use bitrix_runtime::{Client, Order, Plan, RetryPolicy, bitrix_entity};
use futures::TryStreamExt;

#[bitrix_entity(
    schema = "../schemas/demo/deal.json",
    rename(UF_CRM_1721244590123 = "channel", UF_CRM_1721244590123[3476] = "Site"),
)]
pub struct Deal;

#[tokio::test]
async fn readme_snippets_work() -> Result<(), bitrix_runtime::Error> {
    let emu = Emulator::start(Config {
        deals: 3_000,
        ..Config::default()
    })
    .await
    .unwrap();

    // Connect.
    let _simplest = Client::from_webhook(&emu.webhook_url())?;
    let client = Client::builder()
        .webhook(emu.webhook_url())
        .plan(Plan::Enterprise)
        .retry(RetryPolicy::default().with_base_delay(Duration::from_millis(5)))
        .build()?;

    // CRUD.
    let id: DealId = client
        .add(
            &NewDeal::builder()
                .title("Поставка оборудования")
                .opportunity(Decimal::new(150_000, 0))
                .channel(DealChannel::Site)
                .build(),
        )
        .await?;
    let deal: Deal = client.get::<Deal>(id).await?;
    assert_eq!(deal.title.as_deref(), Some("Поставка оборудования"));
    client
        .update(
            id,
            &DealPatch::new()
                .title("Поставка (изменено)")
                .clear_comments(),
        )
        .await?;
    let live_fields = client.fields::<Deal>().await?;
    assert!(live_fields.contains_key("UF_CRM_1721244590123"));

    // A filtered, typed query.
    let big_deals: Vec<Deal> = client
        .list::<Deal>()
        .filter(
            Deal::OPPORTUNITY
                .gt(Decimal::new(1000, 0))
                .and(Deal::TITLE.contains("Поставка")),
        )
        .order(Deal::OPPORTUNITY, Order::Desc)
        .select([DealField::Title, DealField::Opportunity])
        .all()
        .await?;
    assert!(!big_deals.is_empty());
    assert!(big_deals.iter().any(|d| d.id == Some(id)));
    let how_many = client
        .list::<Deal>()
        .filter(Deal::STAGE_ID.eq("WON"))
        .count()
        .await?;
    assert!(how_many > 0);

    // A streamed export.
    let mut deals = client.list::<Deal>().stream();
    let mut exported = 0;
    while let Some(deal) = deals.try_next().await? {
        assert!(deal.id.is_some());
        exported += 1;
    }
    assert_eq!(exported, 3_001);

    // The same export in parallel parts: every deal once, in no particular order.
    let mut deals = client.list::<Deal>().stream_parallel(8);
    let mut ids = std::collections::BTreeSet::new();
    while let Some(deal) = deals.try_next().await? {
        assert!(ids.insert(deal.id.expect("an id")), "a deal arrived twice");
    }
    assert_eq!(ids.len(), 3_001);

    // A batch.
    let new_deal = NewDeal::builder()
        .title("из пакета")
        .channel(DealChannel::Site)
        .build();
    let mut batch = client.batch();
    let created = batch.add(&new_deal);
    let read = batch.get::<Deal>(id);
    let moved = batch.update(id, &DealPatch::new().stage_id("WON"));
    let results = batch.halt(true).send().await?;
    let new_id = results.get(created)?;
    let deal = results.get(read)?;
    results.get(moved)?;
    assert!(new_id > id);
    assert_eq!(deal.title.as_deref(), Some("Поставка (изменено)"));

    // The untyped escape hatch: the README's user field.
    let field = client
        .call(
            "crm.deal.userfield.add",
            serde_json::json!({"fields": {
                "FIELD_NAME": "CONTRACT_NO",
                "USER_TYPE_ID": "string",
                "EDIT_FORM_LABEL": "Номер договора",
                "MANDATORY": "N",
                "MULTIPLE": "N",
            }}),
        )
        .await?;
    assert!(
        field
            .as_u64()
            .or_else(|| field.as_str()?.parse().ok())
            .is_some(),
        "{field}"
    );
    let fields = client
        .call("crm.deal.fields", serde_json::json!({}))
        .await?;
    assert!(fields.get("UF_CRM_CONTRACT_NO").is_some());

    client.delete::<Deal>(id).await?;
    emu.shutdown().await;
    Ok(())
}
