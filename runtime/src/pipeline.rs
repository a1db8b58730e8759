//! Pipelines (categories), stages and dictionaries typed from the portal snapshot.
//!
//! The generator emits, per entity whose snapshot records pipelines, a category enum
//! implementing [`Category`], one stage enum per pipeline implementing [`Stage`] (its variants
//! are that pipeline's stages, plus an `Other` fallback for stages added on the portal later),
//! and one enum over every pipeline's stages that also implements [`Stage`]. A stage value
//! therefore always knows its pipeline: a create payload takes the pipeline from the stage, and
//! a move between pipelines ([`Client::move_to_stage`](crate::Client)) is one typed call.

use std::fmt::Debug;
use std::hash::Hash;

pub use crate::entity::StageGuard;

use crate::entity::Entity;
use crate::types::CategoryId;

/// What a stage means for the record's outcome: `EXTRA.SEMANTICS` of `crm.status.list`
/// (`process`, `success`, `failure`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StageSemantics {
    /// The record is still in work.
    Process,
    /// The record is won (a successful final stage).
    Success,
    /// The record is lost (a failed final stage).
    Failure,
}

/// A pipeline (`CATEGORY_ID` / `categoryId`) of one entity, as the snapshot knows them.
pub trait Category: Copy + Debug + Eq + Hash + Send + Sync + 'static {
    /// The entity whose pipelines these are.
    type Entity: Entity;
    /// The pipeline's id (0 is the default pipeline of deals).
    fn id(&self) -> CategoryId;
    /// The pipeline for an id; an id the snapshot does not know gives the fallback variant.
    fn from_id(id: CategoryId) -> Self;
    /// The pipeline's name on the portal, when the snapshot knows it.
    fn name(&self) -> Option<&'static str>;
}

/// A stage (`STAGE_ID` / `stageId`) of one entity's pipeline.
///
/// Implemented by the generated per-pipeline stage enums (whose [`category_id`](Stage::category_id)
/// is the same for every value) and by the generated enum over all pipelines' stages.
pub trait Stage: Clone + Debug + Eq + Hash + Send + Sync + 'static {
    /// The entity whose stage this is.
    type Entity: Entity;
    /// The pipeline the stage belongs to.
    fn category_id(&self) -> CategoryId;
    /// The stage id as the portal knows it (`NEW`, `C5:NEW`, `DT1220_5:NEW`).
    fn code(&self) -> &str;
    /// The stage for a stage id; an id the snapshot does not know gives the fallback variant.
    fn from_code(code: &str) -> Self;
    /// What the stage means, when the snapshot knows the stage.
    fn semantics(&self) -> Option<StageSemantics>;
    /// The stage's name on the portal, when the snapshot knows it.
    fn name(&self) -> Option<&'static str>;
    /// Whether the stage is a successful final stage.
    fn is_won(&self) -> bool {
        self.semantics() == Some(StageSemantics::Success)
    }
    /// Whether the stage is a failed final stage.
    fn is_lost(&self) -> bool {
        self.semantics() == Some(StageSemantics::Failure)
    }
    /// Whether the record is still in work at this stage.
    fn is_open(&self) -> bool {
        self.semantics() == Some(StageSemantics::Process)
    }
}

/// The pipeline a stage id names in its prefix: `C5:NEW` (deals) and `DT1220_5:NEW` (smart
/// processes and smart invoices) give 5; an id without a prefix (`NEW`, a deal's default
/// pipeline) gives `None`.
pub fn stage_category(code: &str) -> Option<CategoryId> {
    let (prefix, _) = code.split_once(':')?;
    let digits = match prefix.strip_prefix("DT") {
        Some(rest) => rest.split_once('_')?.1,
        None => prefix.strip_prefix('C')?,
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().map(CategoryId)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_ids_name_their_pipeline() {
        for (code, expected) in [
            ("C5:NEW", Some(5)),
            ("DT1220_5:NEW", Some(5)),
            ("DT31_3:P", Some(3)),
            ("NEW", None),
            ("C:NEW", None),
            ("CX:NEW", None),
            ("DT1220:NEW", None),
            ("C99999999999999999999999:NEW", None),
            ("", None),
        ] {
            assert_eq!(stage_category(code), expected.map(CategoryId), "{code}");
        }
    }
}
