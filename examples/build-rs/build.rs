//! Generates the shop portal's deal types into `OUT_DIR/deal.rs` from the committed snapshot.
//! Cargo reruns this only when the snapshot, the names file or `BITRIX_CODEGEN_REFRESH` change.

fn main() {
    bitrix_codegen::build::Entity::new("schemas/shop/deal.json")
        .names("schemas/shop/names.json")
        .generate()
        .unwrap_or_else(|e| panic!("{e}"));
}
