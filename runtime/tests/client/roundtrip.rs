//! Every field type of the demo portal, written through the generated `NewDeal` /
//! `DealPatch` and read back through the generated `Deal`, over HTTP against the emulator.

use bitrix_runtime::bitrix_entity;
use bitrix_runtime::types::{
    Address, CategoryId, CompanyId, ContactId, CrmLink, CurrencyId, DateTime, DealId, Decimal,
    FileUpload, FixedOffset, IblockElementId, IblockSectionId, ItemId, LeadId, LocationId, Money,
    NaiveDate, StatusId, UserId,
};
use bitrix_runtime::{Client, Plan, RetryPolicy};
use std::time::Duration;

#[bitrix_entity(schema = "../schemas/demo/deal.json")]
pub struct Deal;

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn datetime(s: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(s).unwrap()
}

fn money(amount: &str, currency: &str) -> Money {
    Money::new(dec(amount), CurrencyId::from(currency))
}

async fn setup() -> (bitrix_emulator::Emulator, Client) {
    let emu = bitrix_emulator::Emulator::start(bitrix_emulator::Config::default())
        .await
        .unwrap();
    let client = Client::builder()
        .webhook(emu.webhook_url())
        .plan(Plan::Unlimited)
        .retry(RetryPolicy::default().with_base_delay(Duration::from_millis(5)))
        .build()
        .unwrap();
    (emu, client)
}

#[tokio::test]
#[allow(deprecated)] // CONTACT_ID is deprecated on the portal, and checked here on purpose
async fn every_field_type_reads_back_what_was_written() {
    let (emu, client) = setup().await;
    let address = Address {
        text: "Москва, Тверская ул., 1 | подъезд 2".into(),
        lat: Some(55.757),
        lng: Some(37.615),
        location_id: Some(577),
    };
    let new = NewDeal::builder()
        .title("Полный набор полей & <теги> \"кавычки\"\n")
        .type_id(StatusId::from("COMPLEX"))
        .stage(DealStage::from("EXECUTING"))
        .is_recurring(true)
        .is_return_customer(false)
        .is_repeated_approach(true)
        .probability(75)
        .currency_id(CurrencyId::from("EUR"))
        .opportunity(dec("1234567.89"))
        .is_manual_opportunity(true)
        .tax_value(dec("205761.32"))
        .company_id(CompanyId(11))
        .contact_ids(vec![ContactId(21), ContactId(22)])
        .begindate(date("2024-08-30"))
        .closedate(date("2024-12-31"))
        .opened(false)
        .comments("[B]Комментарий[/B]\nвторая строка")
        .assigned_by_id(UserId(5))
        .source_id(StatusId::from("PARTNER"))
        .source_description("Пришёл с выставки")
        .additional_info("доп. информация")
        .location_id(LocationId::from("84"))
        .originator_id("1c")
        .origin_id("order-42")
        .utm_source("newsletter")
        .utm_medium("email")
        .utm_campaign("autumn")
        .utm_content("banner")
        .utm_term("crm")
        .parent_id_1220(ItemId(6))
        .parent_id_153(ItemId(7))
        .uf_crm_1721244482250("Здравствуйте!")
        .uf_crm_1721244500101(vec![
            "+7 900 000-00-01".to_owned(),
            "+7 900 000-00-02".into(),
        ])
        .uf_crm_1721244512345(12)
        .uf_crm_1721244512346(vec![1001, 1002, 1003])
        .uf_crm_1721244523456(dec("7.5"))
        .uf_crm_1721244523457(vec![dec("10.25"), dec("0.5")])
        .uf_crm_1721244534567(true)
        .uf_crm_1721244545678(date("2024-09-15"))
        .uf_crm_1721244545679(vec![date("2024-10-01"), date("2024-11-01")])
        .uf_crm_1721244556789(datetime("2024-09-20T14:30:00+03:00"))
        .uf_crm_1721244556790(vec![
            datetime("2024-09-21T09:00:00+03:00"),
            datetime("2024-09-22T18:15:00+03:00"),
        ])
        .uf_crm_1721244567890(money("300000.50", "RUB"))
        .uf_crm_1721244567891(vec![money("1000", "USD"), money("2500.75", "EUR")])
        .uf_crm_1721244578901("https://example.com/client?id=1&lang=ru")
        .uf_crm_1721244578902(vec![
            "https://example.com/a".to_owned(),
            "https://example.com/b".into(),
        ])
        .uf_crm_1721244589012(address.clone())
        .uf_crm_1721244589013(vec![Address::new("Казань, Баумана 5"), address.clone()])
        .uf_crm_1721244601234(vec![
            DealUfCrm1721244601234::Dostavka,
            DealUfCrm1721244601234::ObucheniePersonala,
        ])
        .uf_crm_1721244612345(FileUpload::new("contract.pdf", b"%PDF-1.4 test".to_vec()))
        .uf_crm_1721244612346(vec![
            FileUpload::new("scan1.png", vec![1u8, 2, 3]),
            FileUpload::new("scan2.png", vec![4u8, 5, 6]),
        ])
        .uf_crm_1721244634567(UserId(7))
        .uf_crm_1721244634568(vec![UserId(1), UserId(9)])
        .uf_crm_1721244656789(StatusId::from("IT"))
        .uf_crm_1721244656790(vec![StatusId::from("CALL"), StatusId::from("WEB")])
        .uf_crm_1721244667890(IblockElementId(501))
        .uf_crm_1721244667891(vec![IblockElementId(502), IblockElementId(503)])
        .uf_crm_1721244678901(IblockSectionId(61))
        .uf_crm_1721244678902(vec![IblockSectionId(62), IblockSectionId(63)])
        .uf_crm_1721244689012(CrmLink::Bare(3))
        .uf_crm_1721244689013(vec![
            CrmLink::Company(CompanyId(3)),
            CrmLink::Lead(LeadId(4)),
            CrmLink::Item {
                entity_type_id: 1220,
                id: ItemId(6),
            },
        ])
        // resourcebooking: a type the generator does not know, kept as raw JSON.
        .uf_crm_1721244701234(vec![serde_json::json!(
            "resource|3|20.09.2024 10:00:00|3600"
        )])
        .uf_crm_1721244590123(DealUfCrm1721244590123::Rekomendatsiya)
        .build();

    let id = client.add(&new).await.unwrap();
    let got: Deal = client.get::<Deal>(id).await.unwrap();
    // The same row through list (which selects user fields explicitly).
    let listed = client
        .list::<Deal>()
        .filter(Deal::ID.eq(id))
        .all()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);

    for deal in [&got, &listed[0]] {
        assert_eq!(deal.id, Some(id));
        assert_eq!(deal.title, new.title);
        assert_eq!(deal.type_id, new.type_id);
        assert_eq!(deal.category_id, Some(DealCategory::from_id(CategoryId(0))));
        assert_eq!(deal.stage_id, new.stage_id);
        assert_eq!(deal.is_recurring, Some(true));
        assert_eq!(deal.is_return_customer, Some(false));
        assert_eq!(deal.is_repeated_approach, Some(true));
        assert_eq!(deal.probability, Some(75));
        assert_eq!(deal.currency_id, new.currency_id);
        assert_eq!(deal.opportunity, new.opportunity);
        assert_eq!(deal.is_manual_opportunity, Some(true));
        assert_eq!(deal.tax_value, new.tax_value);
        assert_eq!(deal.company_id, new.company_id);
        assert_eq!(
            deal.contact_id,
            Some(ContactId(21)),
            "the first of CONTACT_IDS"
        );
        assert_eq!(deal.contact_ids, None, "CONTACT_IDS is never returned");
        assert_eq!(deal.begindate, new.begindate);
        assert_eq!(deal.closedate, new.closedate);
        assert_eq!(deal.opened, Some(false));
        assert_eq!(deal.comments, new.comments);
        assert_eq!(deal.assigned_by_id, new.assigned_by_id);
        assert_eq!(deal.source_id, new.source_id);
        assert_eq!(deal.source_description, new.source_description);
        assert_eq!(deal.additional_info, new.additional_info);
        assert_eq!(deal.location_id, new.location_id);
        assert_eq!(deal.originator_id, new.originator_id);
        assert_eq!(deal.origin_id, new.origin_id);
        assert_eq!(deal.utm_source, new.utm_source);
        assert_eq!(deal.utm_medium, new.utm_medium);
        assert_eq!(deal.utm_campaign, new.utm_campaign);
        assert_eq!(deal.utm_content, new.utm_content);
        assert_eq!(deal.utm_term, new.utm_term);
        assert_eq!(deal.parent_id_1220, new.parent_id_1220);
        assert_eq!(deal.parent_id_153, new.parent_id_153);
        assert_eq!(deal.uf_crm_1721244482250, new.uf_crm_1721244482250);
        assert_eq!(deal.uf_crm_1721244500101, new.uf_crm_1721244500101);
        assert_eq!(deal.uf_crm_1721244512345, new.uf_crm_1721244512345);
        assert_eq!(deal.uf_crm_1721244512346, new.uf_crm_1721244512346);
        assert_eq!(deal.uf_crm_1721244523456, new.uf_crm_1721244523456);
        assert_eq!(deal.uf_crm_1721244523457, new.uf_crm_1721244523457);
        assert_eq!(deal.uf_crm_1721244534567, Some(true));
        assert_eq!(deal.uf_crm_1721244545678, new.uf_crm_1721244545678);
        assert_eq!(deal.uf_crm_1721244545679, new.uf_crm_1721244545679);
        assert_eq!(deal.uf_crm_1721244556789, new.uf_crm_1721244556789);
        assert_eq!(deal.uf_crm_1721244556790, new.uf_crm_1721244556790);
        assert_eq!(deal.uf_crm_1721244567890, new.uf_crm_1721244567890);
        assert_eq!(deal.uf_crm_1721244567891, new.uf_crm_1721244567891);
        assert_eq!(deal.uf_crm_1721244578901, new.uf_crm_1721244578901);
        assert_eq!(deal.uf_crm_1721244578902, new.uf_crm_1721244578902);
        assert_eq!(deal.uf_crm_1721244589012, new.uf_crm_1721244589012);
        assert_eq!(deal.uf_crm_1721244589013, new.uf_crm_1721244589013);
        assert_eq!(
            deal.uf_crm_1721244590123,
            Some(new.uf_crm_1721244590123.clone())
        );
        assert_eq!(deal.uf_crm_1721244601234, new.uf_crm_1721244601234);
        assert_eq!(deal.uf_crm_1721244634567, new.uf_crm_1721244634567);
        assert_eq!(deal.uf_crm_1721244634568, new.uf_crm_1721244634568);
        assert_eq!(deal.uf_crm_1721244656789, new.uf_crm_1721244656789);
        assert_eq!(deal.uf_crm_1721244656790, new.uf_crm_1721244656790);
        assert_eq!(deal.uf_crm_1721244667890, new.uf_crm_1721244667890);
        assert_eq!(deal.uf_crm_1721244667891, new.uf_crm_1721244667891);
        assert_eq!(deal.uf_crm_1721244678901, new.uf_crm_1721244678901);
        assert_eq!(deal.uf_crm_1721244678902, new.uf_crm_1721244678902);
        assert_eq!(deal.uf_crm_1721244689012, new.uf_crm_1721244689012);
        assert_eq!(deal.uf_crm_1721244689013, new.uf_crm_1721244689013);
        assert_eq!(deal.uf_crm_1721244701234, new.uf_crm_1721244701234);
        // Uploaded files come back as stored files with their URLs.
        let file = deal
            .uf_crm_1721244612345
            .as_ref()
            .expect("the contract file");
        assert!(file.id.0 > 0);
        assert!(file.download_url.is_some());
        let scans = deal.uf_crm_1721244612346.as_ref().expect("the scans");
        assert_eq!(scans.len(), 2);
        assert_ne!(scans[0].id, scans[1].id);
        assert!(
            deal.extra.is_empty(),
            "every field is typed: {:?}",
            deal.extra
        );
    }
    // Read-only fields were filled by the portal.
    assert_eq!(got.created_by_id, Some(UserId(1)));
    assert!(got.date_create.is_some());
    emu.shutdown().await;
}

#[tokio::test]
async fn patches_set_and_clear_every_kind_of_field() {
    let (emu, client) = setup().await;
    let new = NewDeal::builder()
        .title("to be patched")
        .comments("will be cleared")
        .opportunity(dec("10"))
        .uf_crm_1721244512346(vec![1, 2])
        .uf_crm_1721244567890(money("5", "RUB"))
        .uf_crm_1721244545678(date("2024-01-02"))
        .uf_crm_1721244590123(DealUfCrm1721244590123::Sayt)
        .build();
    let id: DealId = client.add(&new).await.unwrap();

    let patch = DealPatch::new()
        .title("patched")
        .clear_comments()
        .opportunity(dec("99.99"))
        .clear_uf_crm_1721244512346()
        .clear_uf_crm_1721244567890()
        .clear_uf_crm_1721244545678()
        .uf_crm_1721244590123(DealUfCrm1721244590123::KholodnyyZvonok);
    client.update(id, &patch).await.unwrap();
    let deal: Deal = client.get::<Deal>(id).await.unwrap();
    assert_eq!(deal.title.as_deref(), Some("patched"));
    assert_eq!(deal.comments, None);
    assert_eq!(deal.opportunity, Some(dec("99.99")));
    assert_eq!(deal.uf_crm_1721244512346, Some(vec![]));
    assert_eq!(deal.uf_crm_1721244567890, None);
    assert_eq!(deal.uf_crm_1721244545678, None);
    assert_eq!(
        deal.uf_crm_1721244590123,
        Some(DealUfCrm1721244590123::KholodnyyZvonok)
    );

    // The typed batch carries the same patch (without the multiple-field clear, which a batch
    // cannot express).
    let mut batch = client.batch();
    let h = batch.update(
        id,
        &DealPatch::new().title("from a batch").clear_opportunity(),
    );
    batch.send().await.unwrap().get(h).unwrap();
    let deal: Deal = client.get::<Deal>(id).await.unwrap();
    assert_eq!(deal.title.as_deref(), Some("from a batch"));
    assert_eq!(deal.opportunity, Some(Decimal::ZERO));
    emu.shutdown().await;
}
