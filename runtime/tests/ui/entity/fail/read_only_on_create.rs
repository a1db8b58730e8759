// DATE_CREATE is read-only: the create payload has no setter for it.
use bitrix_runtime::bitrix_entity;

#[bitrix_entity(schema = "../schemas/demo/deal.json")]
pub struct Deal;

fn main() {
    let _ = NewDeal::builder()
        .date_create("2024-08-30T14:29:00+02:00")
        .uf_crm_1721244590123(DealUfCrm1721244590123::Sayt)
        .build();
}
