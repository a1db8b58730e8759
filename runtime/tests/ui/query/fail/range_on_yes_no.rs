// Y/N (char) and boolean fields have no order: range filters do not apply.
use bitrix_runtime::bitrix_entity;

#[bitrix_entity(schema = "../schemas/demo/deal.json")]
pub struct Deal;

fn main() {
    let _ = Deal::OPENED.gt(true);
    let _ = Deal::UF_CRM_1721244534567.le(false);
}
