// `Option` dropped on a field that may be absent from an answer (only the id may drop it).
use bitrix_runtime::bitrix_entity;
use bitrix_runtime::types::DealId;

#[bitrix_entity(schema = "../schemas/seed/deal.json")]
pub struct Deal;

#[derive(bitrix_runtime::Projection)]
#[bitrix(entity = Deal)]
struct Row {
    id: DealId,
    title: String,
}

fn main() {}
