// `strict` makes a field of an unknown type (rest_219_test) an error.
use bitrix_runtime::bitrix_entity;

#[bitrix_entity(schema = "tests/ui/entity/schemas/unknown_type.json", strict)]
pub struct Deal;

fn main() {}
