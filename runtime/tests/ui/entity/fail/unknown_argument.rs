// `strct` is not an argument (a typo of `strict`).
use bitrix_runtime::bitrix_entity;

#[bitrix_entity(schema = "../schemas/demo/deal.json", strct)]
pub struct Deal;

fn main() {}
