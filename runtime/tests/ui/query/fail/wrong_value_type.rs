// A filter value must have the field's Rust type: OPPORTUNITY is a decimal, not text.
use bitrix_runtime::bitrix_entity;

#[bitrix_entity(schema = "../schemas/demo/deal.json")]
pub struct Deal;

fn main() {
    let _ = Deal::OPPORTUNITY.gt("1000");
}
