// A Rust type that does not fit the field: the error says which type the field has.
use bitrix_runtime::bitrix_entity;

#[bitrix_entity(schema = "../schemas/seed/deal.json")]
pub struct Deal;

#[derive(bitrix_runtime::Projection)]
#[bitrix(entity = Deal)]
struct Row {
    title: Option<i64>,
}

fn main() {}
