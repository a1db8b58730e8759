// LIKE on a crm_status field: the portal silently turns it into `=`, so it does not compile.
use bitrix_runtime::bitrix_entity;

#[bitrix_entity(schema = "../schemas/demo/deal.json")]
pub struct Deal;

fn main() {
    let _ = Deal::STAGE_ID.contains("NEW");
}
