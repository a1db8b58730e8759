//! Any bytes as a `crm.deal.get` result and as a list row: decoding into the generated demo
//! deal and into a projection of it either fails with an error or succeeds, never panics; a
//! decoded deal encodes again.
#![no_main]

use bitrix_runtime::types::DealId;
use libfuzzer_sys::fuzz_target;

#[bitrix_runtime::bitrix_entity(schema = "../schemas/demo/deal.json")]
pub struct Deal;

#[derive(Debug, bitrix_runtime::Projection)]
#[bitrix(entity = Deal)]
struct Row {
    id: DealId,
    title: Option<String>,
    stage_id: Option<DealStage>,
    opportunity: Option<bitrix_runtime::types::Decimal>,
}

fuzz_target!(|data: &[u8]| {
    if let Ok(deal) = serde_json::from_slice::<Deal>(data) {
        serde_json::to_vec(&deal).expect("a decoded deal encodes");
    }
    if let Ok(keyed) = serde_json::from_slice::<bitrix_runtime::projection::Keyed<Row>>(data) {
        // Every field was decoded (or the row refused): read them all.
        let Row {
            id,
            title,
            stage_id,
            opportunity,
        } = keyed.row;
        let _ = (id, title, stage_id, opportunity);
    }
});
