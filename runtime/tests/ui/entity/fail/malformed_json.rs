// The snapshot is not valid JSON (a trailing comma).
use bitrix_runtime::bitrix_entity;

#[bitrix_entity(schema = "tests/ui/entity/schemas/malformed.json")]
pub struct Deal;

fn main() {}
