// The mirrors of fail/foreign_entity_stage.rs, fail/stage_with_another_pipeline.rs and
// fail/category_on_patch.rs: a deal's own stage, of any pipeline, sets stage and pipeline; a
// patch sets a stage (and carries its guard); a smart process takes its own stages.
use bitrix_runtime::bitrix_entity;

#[bitrix_entity(schema = "../schemas/demo/deal.json")]
pub struct Deal;

#[bitrix_entity(schema = "../schemas/demo/dynamic_1220.json")]
pub struct Shipment;

fn main() {
    let _ = NewDeal::builder().stage(DealStageDilery::New);
    let _ = NewDeal::builder().stage(DealStage::from("C2:NEW"));
    let _ = NewShipment::builder().stage(ShipmentStage::from("DT1220_5:NEW"));
    let _ = DealPatch::new().stage_id(DealStageTendery::New);
}
