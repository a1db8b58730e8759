// A rename names a field the snapshot does not have (deleted on the portal, or a typo).
use bitrix_runtime::bitrix_entity;

#[bitrix_entity(schema = "../schemas/demo/deal.json", rename(UF_CRM_1721244482205 = "greeting"))]
pub struct Deal;

fn main() {}
