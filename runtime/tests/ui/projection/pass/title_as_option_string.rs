// The mirror of fail/unknown_field.rs and fail/wrong_type.rs: the name matches `Deal::TITLE`, and
// `Option<String>` fits its text.
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
