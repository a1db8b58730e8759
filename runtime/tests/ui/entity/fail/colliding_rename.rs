// Renaming a user field to `title` collides with the standard TITLE.
use bitrix_runtime::bitrix_entity;

#[bitrix_entity(schema = "../schemas/demo/deal.json", rename(UF_CRM_1721244482250 = "title"))]
pub struct Deal;

fn main() {}
