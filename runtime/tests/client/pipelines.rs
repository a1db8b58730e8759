//! Issue 11 end to end with the generated demo deal (`schemas/demo/deal.json`, which records the
//! portal's pipelines): a deal created in a chosen pipeline at a typed stage, refused a stage of
//! another pipeline, moved to another pipeline, given contacts and product rows, and read back
//! with all of it typed, on the emulator.

use std::str::FromStr;

use bitrix_runtime::pipeline::Stage;
use bitrix_runtime::types::{CategoryId, Decimal};
use bitrix_runtime::{Api, ContactBinding, Error, Projection};
use bitrix_runtime::{Discount, ProductRowFields};

use crate::common::{
    Deal, DealCategory, DealChannel, DealPatch, DealStage, DealStageDilery, DealStageTendery,
    NewDeal, client, emulator,
};
use crate::entities::NewContact;

/// The stage and pipeline of a deal, and nothing else.
#[derive(Debug, Projection)]
#[bitrix(entity = Deal)]
struct Placement {
    id: bitrix_runtime::types::DealId,
    category_id: Option<DealCategory>,
    stage_id: Option<DealStage>,
    opportunity: Option<Decimal>,
}

#[tokio::test]
async fn a_deal_is_placed_moved_given_contacts_and_rows_and_read_back_typed() -> Result<(), Error> {
    let emu = emulator(0).await;
    let client = client(&emu);

    // Created in the pipeline "Дилеры" at a typed stage: the builder sets both fields.
    let new = NewDeal::builder()
        .title("Поставка дилеру")
        .channel(DealChannel::Site)
        .stage(DealStageDilery::Preparation)
        .build();
    let id = client.add(&new).await?;
    let deal = client.get::<Deal>(id).await?;
    assert_eq!(deal.category_id, Some(DealCategory::Dilery));
    assert_eq!(
        deal.stage_id,
        Some(DealStage::Dilery(DealStageDilery::Preparation))
    );
    assert!(deal.stage_id.as_ref().unwrap().is_open());

    // A stage of another pipeline is refused before anything is sent, on either route.
    for api in [Api::Legacy, Api::Item] {
        let e = client
            .with_api(api)
            .update(id, &DealPatch::new().stage_id(DealStageTendery::Won))
            .await
            .unwrap_err();
        assert!(matches!(e, Error::WrongPipeline { .. }), "{e}");
        assert!(e.to_string().contains("move_to_stage"), "{e}");
    }
    // A stage of its own pipeline goes through.
    client
        .update(id, &DealPatch::new().stage_id(DealStageDilery::Executing))
        .await?;

    // Moved to "Тендеры": one typed call (crm.item.update with categoryId and stageId).
    client
        .move_to_stage(id, DealStageTendery::Executing)
        .await?;
    let placed = client.get::<Placement>(id).await?;
    assert_eq!(placed.id, id);
    assert_eq!(placed.category_id, Some(DealCategory::Tendery));
    assert_eq!(
        placed.stage_id,
        Some(DealStage::Tendery(DealStageTendery::Executing))
    );
    assert_eq!(
        placed.stage_id.as_ref().unwrap().category_id(),
        CategoryId(2)
    );

    // Contacts, typed bindings of generated contacts.
    let mut contacts = Vec::new();
    for name in ["Анна", "Борис"] {
        let contact = NewContact::builder()
            .name(name)
            .second_name("Ивановна")
            .last_name("Петрова")
            .build();
        contacts.push(client.add(&contact).await?);
    }
    let bindings = client.contacts::<Deal>(id);
    bindings
        .replace_all(&[
            ContactBinding::new(contacts[1]).primary(),
            ContactBinding::new(contacts[0]),
        ])
        .await?;
    let read = bindings.get().await?;
    assert_eq!(
        read.iter()
            .map(|b| (b.contact_id, b.is_primary))
            .collect::<Vec<_>>(),
        [(contacts[1], true), (contacts[0], false)]
    );
    let deal = client.with_api(Api::Item).get::<Deal>(id).await?;
    let mut ids = deal.contact_ids.clone().unwrap_or_default();
    ids.sort();
    assert_eq!(ids, contacts);

    // Product rows: the deal's amount follows its rows.
    let rows = client.product_rows::<Deal>(id);
    let stored = rows
        .replace_all(&[
            ProductRowFields::new()
                .name("Станок")
                .price(Decimal::from_str("1000.50").unwrap())
                .quantity(Decimal::from(2)),
            ProductRowFields::new()
                .name("Наладка")
                .price(Decimal::from(500))
                .discount(Discount::Monetary(Decimal::from(50))),
        ])
        .await?;
    assert_eq!(stored.len(), 2);
    let listed = rows.list().await?;
    assert_eq!(
        listed
            .iter()
            .map(|r| r.product_name.as_deref())
            .collect::<Vec<_>>(),
        [Some("Станок"), Some("Наладка")]
    );
    let placed = client.get::<Placement>(id).await?;
    assert_eq!(placed.opportunity, Some(Decimal::from(2501)));

    emu.shutdown().await;
    Ok(())
}
