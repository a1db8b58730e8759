// A query takes filters, order and select of its own entity.
use bitrix_runtime::{Client, Order, bitrix_entity};

#[bitrix_entity(schema = "../schemas/demo/deal.json")]
pub struct Deal;

#[bitrix_entity(schema = "../schemas/seed/deal.json")]
pub struct SeedDeal;

fn main() {
    let client = Client::from_webhook("https://portal.bitrix24.ru/rest/1/abc123/").unwrap();
    let _ = client
        .list::<Deal>()
        .filter(Deal::TITLE.eq("x"))
        .order(Deal::ID, Order::Desc)
        .select([DealField::Title]);
    let _ = client.list::<SeedDeal>().filter(SeedDeal::TITLE.eq("x"));
}
