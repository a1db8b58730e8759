// Y/N (char) and boolean fields are filtered by equality.
use bitrix_runtime::bitrix_entity;

#[bitrix_entity(schema = "../schemas/demo/deal.json")]
pub struct Deal;

fn main() {
    let _ = Deal::OPENED.eq(true);
    let _ = Deal::UF_CRM_1721244534567.ne(false);
}
