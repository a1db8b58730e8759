// The demo portal expands; writable fields are set, the required one is given.
use bitrix_runtime::bitrix_entity;
use bitrix_runtime::types::StatusId;

#[bitrix_entity(schema = "../schemas/demo/deal.json")]
pub struct Deal;

fn main() {
    let new = NewDeal::builder()
        .title("ok")
        .stage(DealStageDilery::New)
        .uf_crm_1721244590123(DealUfCrm1721244590123::Sayt)
        .build();
    let patch = DealPatch::new().stage_id(StatusId::from("WON")).title("renamed");
    let _ = (new, patch);
}
