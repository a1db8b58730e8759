// The fields come from the snapshot: the annotated struct must be a unit struct.
use bitrix_runtime::bitrix_entity;

#[bitrix_entity(schema = "../schemas/demo/deal.json")]
pub struct Deal {
    title: String,
}

fn main() {}
