//! The demo portal's deal and the 5-field projection of the export benchmark, shared by the
//! `bitrix-bench` binary and the criterion bench `benches/projection.rs`.

use bitrix_runtime::bitrix_entity;
use bitrix_runtime::types::{DealId, Decimal};

/// The demo portal's deal (`schemas/demo/deal.json`), generated at compile time, with the
/// readable names of `schemas/demo/names.json`.
#[bitrix_entity(
    schema = "../schemas/demo/deal.json",
    names = "../schemas/demo/names.json"
)]
pub struct Deal;

/// The 5-field projection of the export benchmark.
#[derive(Debug, bitrix_runtime::Projection)]
#[bitrix(entity = Deal)]
pub struct Row5 {
    /// `ID`.
    pub id: DealId,
    /// `TITLE`.
    pub title: Option<String>,
    /// `STAGE_ID`.
    pub stage_id: Option<DealStage>,
    /// `OPPORTUNITY`.
    pub opportunity: Option<Decimal>,
    /// `CURRENCY_ID`.
    pub currency_id: Option<DealCurrency>,
}

/// The projection's select, for fast_bitrix24's run with the same fields.
#[allow(dead_code)] // the criterion bench does not use it
pub const PROJECTION_SELECT: [&str; 5] = ["ID", "TITLE", "STAGE_ID", "OPPORTUNITY", "CURRENCY_ID"];
