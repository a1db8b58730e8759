// Mirror of fail/unknown_type_warning.rs: warnings allowed, the unknown type is raw JSON.
use bitrix_runtime::bitrix_entity;

#[bitrix_entity(schema = "tests/ui/entity/schemas/unknown_type.json")]
pub struct Deal;

fn main() {
    let patch = DealPatch::new().uf_crm_rating(bitrix_runtime::__private::serde_json::json!({"stars": 5}));
    let _ = patch;
}
