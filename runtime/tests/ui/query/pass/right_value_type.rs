// A filter value of the field's Rust type.
use bitrix_runtime::bitrix_entity;
use bitrix_runtime::types::Decimal;

#[bitrix_entity(schema = "../schemas/demo/deal.json")]
pub struct Deal;

fn main() {
    let _ = Deal::OPPORTUNITY.gt(Decimal::new(1000, 0));
}
