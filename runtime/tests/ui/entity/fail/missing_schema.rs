// The snapshot file does not exist.
use bitrix_runtime::bitrix_entity;

#[bitrix_entity(schema = "schemas/acme/deal.json")]
pub struct Deal;

fn main() {}
