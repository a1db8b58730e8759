//! Every CRM entity, not only deals (emulated demo portal only): a company, a contact of it and
//! a deal linked to both, created through the legacy `crm.<entity>.*` methods and read back
//! through `crm.item.*`, and an item of the smart process "Проекты" (which exists only on
//! `crm.item.*`) linked to the deal. The types come from the committed snapshots of
//! `schemas/demo/` (`bitrix-codegen snapshot --all`).

use bitrix_runtime::types::{
    CompanyId, ContactId, Decimal, EmailType, MultifieldOps, PhoneType, SmartItemId,
};
use bitrix_runtime::{Api, Entity, bitrix_entity};

use crate::report::{Outcome, Report, ensure, line};
use crate::{DealSalesChannel, NewDeal, Portal};

/// The demo portal's companies (`schemas/demo/company.json`).
#[bitrix_entity(schema = "../../schemas/demo/company.json")]
pub struct Company;

/// The demo portal's contacts (`schemas/demo/contact.json`).
#[bitrix_entity(schema = "../../schemas/demo/contact.json")]
pub struct Contact;

/// The smart process "Проекты" (`crm.item.fields {entityTypeId: 1220}`); its default name
/// would be the transliterated title, `Proekty`.
#[bitrix_entity(schema = "../../schemas/demo/dynamic_1220.json")]
pub struct Project;

/// Creates a company, a contact and a deal linked to both, and a smart-process item linked to
/// the deal; reads each back through the other API; deletes them again.
pub async fn run(portal: &Portal, report: &mut Report) -> Outcome {
    let emu = portal.emulator.as_ref();
    let legacy = portal.client.with_api(Api::Legacy);
    let item = portal.client.with_api(Api::Item);

    report.step(
        "Every entity: a company, its contact, a deal linked to both, a smart-process item",
        emu,
    );
    let company_id: CompanyId = legacy
        .add(
            &NewCompany::builder()
                .title("ООО Ромашка (quickstart)")
                .revenue(Decimal::new(48_000_000, 0))
                .phone(MultifieldOps::new().add(PhoneType::Work, "+7 495 123-45-67"))
                .build(),
        )
        .await?;
    line(format!("crm.company.add -> company {company_id}"));

    #[allow(deprecated)] // COMPANY_ID of contacts is deprecated by the portal, still honoured
    let new_contact = NewContact::builder()
        .name("Анна")
        .second_name("Сергеевна")
        .last_name("Петрова")
        .company_id(company_id)
        .phone(MultifieldOps::new().add(PhoneType::Mobile, "+7 916 000-11-22"))
        .email([(EmailType::Work, "anna@romashka.example")])
        .build();
    let contact_id: ContactId = legacy.add(&new_contact).await?;
    line(format!(
        "crm.contact.add -> contact {contact_id} (a phone and an e-mail as typed multifields)"
    ));

    let deal = NewDeal::builder()
        .title("Поставка для ООО Ромашка (quickstart)")
        .sales_channel(DealSalesChannel::Website)
        .company_id(company_id)
        .contact_ids(vec![contact_id])
        .build();
    let deal_id = legacy.add(&deal).await?;
    line(format!("crm.deal.add -> deal {deal_id}, linked to both"));

    // The same records through crm.item.*: camelCase on the wire, the same Rust types.
    let contact = item.get::<Contact>(contact_id).await?;
    let phones = contact.phone.clone().unwrap_or_default();
    ensure(
        phones.len() == 1 && phones[0].value_type == PhoneType::Mobile,
        || format!("contact {contact_id} through crm.item.get has the phones {phones:?}"),
    )?;
    #[allow(deprecated)]
    let contact_company = contact.company_id;
    ensure(contact_company == Some(company_id), || {
        format!("contact {contact_id} through crm.item.get belongs to {contact_company:?}")
    })?;
    let item_deal = item.get::<crate::Deal>(deal_id).await?;
    ensure(
        item_deal.company_id == Some(company_id) && item_deal.contact_ids == Some(vec![contact_id]),
        || {
            format!(
                "deal {deal_id} through crm.item.get: company {:?}, contacts {:?}",
                item_deal.company_id, item_deal.contact_ids
            )
        },
    )?;
    line(format!(
        "crm.item.get (entityTypeId 3, 2) reads them back: phone {} ({}), contactIds {:?} (the legacy list never returns CONTACT_IDS)",
        phones[0].value,
        phones[0].value_type,
        item_deal.contact_ids.unwrap_or_default()
    ));

    let project_id: SmartItemId<1220> = portal
        .client
        .add(
            &NewProject::builder()
                .title("Внедрение (quickstart)")
                .opened(true)
                .company_id(company_id)
                .parent_id_2(deal_id)
                .build(),
        )
        .await?;
    let project = portal.client.get::<Project>(project_id).await?;
    ensure(project.parent_id_2 == Some(deal_id), || {
        format!(
            "project {project_id} is linked to {:?}",
            project.parent_id_2
        )
    })?;
    line(format!(
        "crm.item.add (entityTypeId {}) -> \"Проекты\" item {project_id}, stage {}, linked to deal {deal_id}",
        <Project as Entity>::ENTITY_TYPE_ID,
        project.stage_id.as_ref().map_or("-", |s| s.as_str()),
    ));

    portal.client.delete::<Project>(project_id).await?;
    legacy.delete::<crate::Deal>(deal_id).await?;
    item.delete::<Contact>(contact_id).await?;
    item.delete::<Company>(company_id).await?;
    let gone = legacy.get::<Company>(company_id).await;
    ensure(matches!(&gone, Err(e) if e.is_not_found()), || {
        format!("company {company_id} still reads after crm.item.delete: {gone:?}")
    })?;
    line("deleted again (the contact and the company through crm.item.delete)");
    Ok(())
}
