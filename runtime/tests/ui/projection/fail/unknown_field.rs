// A projection field the entity does not have: the error names it, with the closest match.
use bitrix_runtime::bitrix_entity;

#[bitrix_entity(schema = "../schemas/seed/deal.json")]
pub struct Deal;

#[derive(bitrix_runtime::Projection)]
#[bitrix(entity = Deal)]
struct Row {
    titel: Option<String>,
}

fn main() {}
