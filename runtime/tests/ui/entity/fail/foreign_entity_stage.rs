// A stage of another entity (a smart process) cannot be given to a deal.
use bitrix_runtime::bitrix_entity;

#[bitrix_entity(schema = "../schemas/demo/deal.json")]
pub struct Deal;

#[bitrix_entity(schema = "../schemas/demo/dynamic_1220.json")]
pub struct Shipment;

fn main() {
    let _ = NewDeal::builder().stage(ShipmentStage::from("DT1220_5:NEW"));
}
