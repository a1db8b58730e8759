// UF_CRM_STAGE and UF_CRM_Stage both map to `uf_crm_stage`.
use bitrix_runtime::bitrix_entity;

#[bitrix_entity(schema = "tests/ui/entity/schemas/colliding.json")]
pub struct Deal;

fn main() {}
