// UF_CRM_1721244590123 is required on the demo portal: build() needs it.
use bitrix_runtime::bitrix_entity;

#[bitrix_entity(schema = "../schemas/demo/deal.json")]
pub struct Deal;

fn main() {
    let _ = NewDeal::builder().title("no sales channel").build();
}
