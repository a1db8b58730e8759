// The mirror of fail/dropped_option.rs: the id (always returned) drops `Option`, the title
// keeps it.
use bitrix_runtime::bitrix_entity;
use bitrix_runtime::types::DealId;

#[bitrix_entity(schema = "../schemas/seed/deal.json")]
pub struct Deal;

#[derive(bitrix_runtime::Projection)]
#[bitrix(entity = Deal)]
struct Row {
    id: DealId,
    title: Option<String>,
}

fn main() {
    let _ = <Row as bitrix_runtime::Projection>::select();
}
