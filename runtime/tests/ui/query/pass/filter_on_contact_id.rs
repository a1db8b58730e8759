// The single CONTACT_ID field can be filtered (and CONTACT_IDS selected and ordered).
#![allow(deprecated)]
use bitrix_runtime::bitrix_entity;
use bitrix_runtime::types::ContactId;

#[bitrix_entity(schema = "../schemas/demo/deal.json")]
pub struct Deal;

fn main() {
    let _ = Deal::CONTACT_ID.eq(ContactId(5));
    let _: DealField = Deal::CONTACT_IDS.into();
}
