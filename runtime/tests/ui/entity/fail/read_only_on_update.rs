// DATE_MODIFY is read-only: the update payload has no setter for it.
use bitrix_runtime::bitrix_entity;

#[bitrix_entity(schema = "../schemas/demo/deal.json")]
pub struct Deal;

fn main() {
    let _ = DealPatch::new().date_modify("2024-08-30T14:29:00+02:00");
}
