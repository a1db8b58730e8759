// CATEGORY_ID is immutable on update, typed or not: moving a deal is its own operation.
use bitrix_runtime::bitrix_entity;

#[bitrix_entity(schema = "../schemas/demo/deal.json")]
pub struct Deal;

fn main() {
    let _ = DealPatch::new().category_id(DealCategory::Dilery);
}
