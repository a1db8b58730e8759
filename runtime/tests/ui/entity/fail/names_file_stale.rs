// The names file still renames a field and an item that were deleted on the portal.
use bitrix_runtime::bitrix_entity;

#[bitrix_entity(schema = "../schemas/demo/deal.json", names = "tests/ui/entity/schemas/stale_names.json")]
pub struct Deal;

fn main() {}
