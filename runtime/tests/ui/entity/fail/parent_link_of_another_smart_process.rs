// A link to the smart process 1220 ("Проекты") takes that smart process's item id: the id of an
// item of another smart process (153, "Договоры") does not fit it.
use bitrix_runtime::bitrix_entity;
use bitrix_runtime::types::SmartItemId;

#[bitrix_entity(schema = "../schemas/demo/deal.json")]
pub struct Deal;

fn main() {
    let contract: SmartItemId<153> = SmartItemId(7); // the id of a generated Contract (153)
    let _ = DealPatch::new().parent_id_1220(contract);
}
