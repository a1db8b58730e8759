// LIKE on a text field, and `=` on a crm_status field.
use bitrix_runtime::bitrix_entity;
use bitrix_runtime::types::StatusId;

#[bitrix_entity(schema = "../schemas/demo/deal.json")]
pub struct Deal;

fn main() {
    let _ = Deal::TITLE.contains("NEW");
    let _ = Deal::TITLE.like("Поставка%");
    let _ = Deal::STAGE_ID.eq(StatusId::from("NEW"));
}
