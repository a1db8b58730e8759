// The mirror of fail/wrong_type.rs: `TITLE` holds text.
use bitrix_runtime::bitrix_entity;

#[bitrix_entity(schema = "../schemas/seed/deal.json")]
pub struct Deal;

#[derive(bitrix_runtime::Projection)]
#[bitrix(entity = Deal)]
struct Row {
    title: Option<String>,
}

fn main() {
    let _ = <Row as bitrix_runtime::Projection>::select();
}
