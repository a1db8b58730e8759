//! Every CRM entity of one portal in one crate: deals, leads, contacts, companies and two smart
//! processes of the demo portal (`schemas/demo/`, written by `bitrix-codegen snapshot --all`
//! from the emulator), with typed CRUD, multifields, batch and export against the emulator on
//! both APIs (`crm.<entity>.*` and `crm.item.*`).

use bitrix_runtime::types::{
    CompanyId, ContactId, Decimal, EmailType, LeadId, MultifieldOps, PhoneType, SmartItemId,
};
use bitrix_runtime::{Api, Client, Entity, StandardCompany, StandardContact, bitrix_entity};
use futures::TryStreamExt;

use crate::common::{Deal, DealPatch, client, emulator, titled};

/// The demo portal's leads (`crm.lead.fields`).
#[bitrix_entity(schema = "../schemas/demo/lead.json")]
pub struct Lead;

/// The demo portal's contacts.
#[bitrix_entity(schema = "../schemas/demo/contact.json")]
pub struct Contact;

/// The demo portal's companies.
#[bitrix_entity(schema = "../schemas/demo/company.json")]
pub struct Company;

/// The smart process "Проекты" (`crm.item.fields {entityTypeId: 1220}`), renamed from its
/// transliterated default `Proekty`.
#[bitrix_entity(schema = "../schemas/demo/dynamic_1220.json")]
pub struct Project;

/// The smart process "Договоры" (153).
#[bitrix_entity(schema = "../schemas/demo/dynamic_153.json")]
pub struct Contract;

// `COMPANY_ID` of contacts is deprecated by the portal (`COMPANY_IDS` replaces it), and used
// here on purpose: it is what `StandardContact::company_id` reads.
#[allow(deprecated)]
fn new_contact(name: &str, company: CompanyId) -> NewContact {
    NewContact::builder()
        .name(name)
        .second_name("Петрович")
        .last_name("Иванов")
        .company_id(company)
        .phone(MultifieldOps::new().add(PhoneType::Work, "+7 495 000-00-01"))
        .email([(EmailType::Work, "ivan@example.com")])
        .build()
}

/// Both routes of a client: legacy by default, `crm.item.*` one setting away.
fn routes(client: &Client) -> [Client; 2] {
    [client.with_api(Api::Legacy), client.with_api(Api::Item)]
}

#[tokio::test]
async fn a_company_a_contact_and_a_deal_linked_to_both_on_either_api() {
    let emu = emulator(0).await;
    let client = client(&emu);
    for (round, client) in routes(&client).into_iter().enumerate() {
        let company_id: CompanyId = client
            .add(
                &NewCompany::builder()
                    .title(format!("ООО Ромашка {round}"))
                    .revenue(Decimal::new(125_000_075, 2))
                    .build(),
            )
            .await
            .unwrap();
        let contact_id: ContactId = client.add(&new_contact("Иван", company_id)).await.unwrap();
        let mut deal = titled("Поставка");
        deal.company_id = Some(company_id);
        deal.contact_ids = Some(vec![contact_id]);
        let deal_id = client.add(&deal).await.unwrap();

        // Every record reads back through both APIs, the links included.
        for reader in routes(&client) {
            let company = reader.get::<Company>(company_id).await.unwrap();
            assert_eq!(company.company_id(), Some(company_id));
            assert_eq!(
                StandardCompany::title(&company),
                Some(format!("ООО Ромашка {round}").as_str())
            );
            assert_eq!(company.revenue(), Some(Decimal::new(125_000_075, 2)));

            let contact = reader.get::<Contact>(contact_id).await.unwrap();
            assert_eq!(StandardContact::company_id(&contact), Some(company_id));
            assert_eq!(contact.name.as_deref(), Some("Иван"));
            let phones = contact.phone.clone().unwrap_or_default();
            assert_eq!(phones.len(), 1, "{reader:?}: {contact:?}");
            assert_eq!(phones[0].value_type, PhoneType::Work);
            assert_eq!(phones[0].value, "+7 495 000-00-01");
            assert!(phones[0].id.is_some());

            let deal = reader.get::<Deal>(deal_id).await.unwrap();
            assert_eq!(deal.company_id, Some(company_id));
        }
        // The deal's contacts are listed through the item API's `contactIds`.
        let item_deal = client
            .with_api(Api::Item)
            .get::<Deal>(deal_id)
            .await
            .unwrap();
        assert_eq!(item_deal.contact_ids, Some(vec![contact_id]));

        // A smart-process item linked to the deal and the company (always crm.item.*).
        let project_id: SmartItemId<1220> = client
            .add(
                &NewProject::builder()
                    .title("Внедрение")
                    .opened(true)
                    .company_id(company_id)
                    .parent_id_2(deal_id)
                    .uf_crm_6_1721245000111("Этап 1")
                    .build(),
            )
            .await
            .unwrap();
        let project = client.get::<Project>(project_id).await.unwrap();
        assert_eq!(project.title.as_deref(), Some("Внедрение"));
        assert_eq!(project.company_id, Some(company_id));
        assert_eq!(project.parent_id_2, Some(deal_id));
        assert_eq!(project.uf_crm_6_1721245000111.as_deref(), Some("Этап 1"));

        // The deal's link to the smart process 1220 is typed with that smart process's id:
        // what it reads back fetches the project (a `Contract` id would not compile here).
        client
            .update(deal_id, &DealPatch::new().parent_id_1220(project_id))
            .await
            .unwrap();
        let linked = client.get::<Deal>(deal_id).await.unwrap().parent_id_1220;
        assert_eq!(linked, Some(project_id));
        let project = client.get::<Project>(linked.unwrap()).await.unwrap();
        assert_eq!(project.title.as_deref(), Some("Внедрение"));
        client
            .update(deal_id, &DealPatch::new().clear_parent_id_1220())
            .await
            .unwrap();

        client.delete::<Project>(project_id).await.unwrap();
        client.delete::<Deal>(deal_id).await.unwrap();
        client.delete::<Contact>(contact_id).await.unwrap();
        client.delete::<Company>(company_id).await.unwrap();
        let gone = client.get::<Company>(company_id).await.unwrap_err();
        assert!(gone.is_not_found(), "{client:?}: {gone:?}");
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn multifield_changes_follow_the_portal_rules_on_either_api() {
    let emu = emulator(0).await;
    let client = client(&emu);
    let company_id: CompanyId = client
        .add(&NewCompany::builder().title("ООО Телефоны").build())
        .await
        .unwrap();
    for writer in routes(&client) {
        let id: ContactId = writer.add(&new_contact("Мария", company_id)).await.unwrap();
        let add_second = ContactPatch::new()
            .phone(MultifieldOps::new().add(PhoneType::Mobile, "+7 900 111-22-33"));
        writer.update(id, &add_second).await.unwrap();
        let phones = client.get::<Contact>(id).await.unwrap().phone.unwrap();
        assert_eq!(phones.len(), 2, "{writer:?}: {phones:?}");
        let (work, mobile) = (phones[0].id.unwrap(), phones[1].id.unwrap());

        // Change one value by its id and delete the other, in one update.
        let patch = ContactPatch::new().phone(
            MultifieldOps::new()
                .change(work, PhoneType::Home, "+7 495 999-99-99")
                .delete(mobile),
        );
        writer.update(id, &patch).await.unwrap();
        let phones = client.get::<Contact>(id).await.unwrap().phone.unwrap();
        assert_eq!(phones.len(), 1, "{writer:?}: {phones:?}");
        assert_eq!(phones[0].id, Some(work));
        assert_eq!(phones[0].value_type, PhoneType::Home);
        assert_eq!(phones[0].value, "+7 495 999-99-99");
        writer.delete::<Contact>(id).await.unwrap();
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn batch_and_export_run_alike_on_both_apis() {
    let emu = emulator(0).await;
    let client = client(&emu);
    // 230 leads through batches (five requests of up to 50 commands).
    let mut batch = client.batch();
    let handles: Vec<_> = (0..230)
        .map(|i| {
            batch.add(
                &NewLead::builder()
                    .title(format!("Заявка {i}"))
                    .opportunity(Decimal::new(i, 0))
                    .build(),
            )
        })
        .collect();
    let results = batch.send().await.unwrap();
    let mut created: Vec<LeadId> = handles
        .into_iter()
        .map(|h| results.get(h).unwrap())
        .collect();
    created.sort();

    for reader in routes(&client) {
        // The `>ID` export on crm.lead.list, the `>id` export on crm.item.list.
        let query = reader
            .list::<Lead>()
            .select([LeadField::Id, LeadField::Title]);
        assert!(query.uses_fast_export());
        let mut ids: Vec<LeadId> = query
            .stream()
            .map_ok(|lead| lead.id.unwrap())
            .try_collect()
            .await
            .unwrap();
        ids.sort();
        assert_eq!(ids, created, "{reader:?}");
        let big = reader
            .list::<Lead>()
            .filter(Lead::OPPORTUNITY.gt(Decimal::new(200, 0)))
            .count()
            .await
            .unwrap();
        assert_eq!(big, 29, "{reader:?}");

        // Typed batch reads on this route.
        let mut batch = reader.batch();
        let first = batch.get::<Lead>(created[0]);
        let last = batch.get::<Lead>(created[229]);
        let results = batch.send().await.unwrap();
        assert_eq!(
            results.get(first).unwrap().title.as_deref(),
            Some("Заявка 0")
        );
        assert_eq!(
            results.get(last).unwrap().title.as_deref(),
            Some("Заявка 229")
        );
    }

    // Smart-process items export the same way.
    let mut batch = client.batch();
    for i in 0..60 {
        batch.add(
            &NewContract::builder()
                .title(format!("Договор {i}"))
                .opened(false)
                .build(),
        );
    }
    batch.send().await.unwrap();
    let contracts: Vec<Contract> = client
        .list::<Contract>()
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(contracts.len(), 60);
    assert_eq!(<Contract as Entity>::ENTITY_TYPE_ID, 153);

    // A stage moved through either API is seen by the other.
    let deal = client.add(&titled("Стадии")).await.unwrap();
    client
        .with_api(Api::Item)
        .update(deal, &DealPatch::new().stage_id("PREPARATION"))
        .await
        .unwrap();
    let read = client.get::<Deal>(deal).await.unwrap();
    assert_eq!(
        read.stage_id.as_ref().map(|s| s.as_str()),
        Some("PREPARATION")
    );
    emu.shutdown().await;
}
