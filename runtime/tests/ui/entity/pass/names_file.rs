// Mirror of fail/names_file_stale.rs: every rename in the names file exists on the portal.
use bitrix_runtime::bitrix_entity;

#[bitrix_entity(schema = "../schemas/demo/deal.json", names = "../schemas/demo/names.json")]
pub struct Deal;

fn main() {
    let new = NewDeal::builder()
        .greeting("Привет мир!")
        .interests(vec![DealInterests::Delivery, DealInterests::StaffTraining])
        .sales_channel(DealSalesChannel::ColdCall)
        .build();
    let _ = new;
}
