// CATEGORY_ID is immutable: the portal ignores it on update.
use bitrix_runtime::bitrix_entity;
use bitrix_runtime::types::CategoryId;

#[bitrix_entity(schema = "../schemas/demo/deal.json")]
pub struct Deal;

fn main() {
    let _ = DealPatch::new().category_id(CategoryId(1));
}
