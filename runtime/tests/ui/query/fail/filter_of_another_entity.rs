// A filter built from one portal's fields cannot be used in a query of another entity.
use bitrix_runtime::{Client, bitrix_entity};

#[bitrix_entity(schema = "../schemas/demo/deal.json")]
pub struct Deal;

#[bitrix_entity(schema = "../schemas/seed/deal.json")]
pub struct SeedDeal;

fn main() {
    let client = Client::from_webhook("https://portal.bitrix24.ru/rest/1/abc123/").unwrap();
    let _ = client.list::<Deal>().filter(SeedDeal::TITLE.eq("x"));
}
