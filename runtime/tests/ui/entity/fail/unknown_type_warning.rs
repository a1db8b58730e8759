// Without `strict` an unknown type is a compile-time warning (denied here to pin its text).
#![deny(deprecated)]
use bitrix_runtime::bitrix_entity;

#[bitrix_entity(schema = "tests/ui/entity/schemas/unknown_type.json")]
pub struct Deal;

fn main() {}
