// CONTACT_IDS cannot be filtered: the portal ignores the condition.
use bitrix_runtime::bitrix_entity;
use bitrix_runtime::types::ContactId;

#[bitrix_entity(schema = "../schemas/demo/deal.json")]
pub struct Deal;

fn main() {
    let _ = Deal::CONTACT_IDS.eq(ContactId(5));
}
