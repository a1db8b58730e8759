// The create payload takes the pipeline from the stage: there is no separate pipeline setter,
// so a stage of one pipeline cannot be combined with another pipeline.
use bitrix_runtime::bitrix_entity;

#[bitrix_entity(schema = "../schemas/demo/deal.json")]
pub struct Deal;

fn main() {
    let _ = NewDeal::builder()
        .stage(DealStageDilery::New)
        .category_id(DealCategory::Tendery);
}
