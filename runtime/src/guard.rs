//! The stage guard of updates: a patch that sets a stage ([`UpdatePayload::stage_guard`]) is
//! checked against the record's pipeline before it is sent, because the portal silently ignores
//! a stage of another pipeline. Used by [`Client::update`](crate::Client::update) (one read)
//! and [`Batch::send`](crate::Batch::send) (one read batch).
//!
//! [`UpdatePayload::stage_guard`]: crate::UpdatePayload::stage_guard

use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::api::Route;
use crate::engine::Engine;
use crate::entity::{Api, Entity};
use crate::error::Error;
use crate::pipeline::StageGuard;
use crate::transport::u64_of;
use crate::types::CategoryId;

/// A stage an update sets, to be checked against the record's pipeline before sending.
#[derive(Debug, Clone)]
pub(crate) struct GuardCheck {
    entity: &'static str,
    id: u64,
    route: Route,
    guard: StageGuard,
}

impl GuardCheck {
    pub(crate) fn new<E: Entity>(route: Route, id: u64, guard: StageGuard) -> GuardCheck {
        GuardCheck {
            entity: E::NAME,
            id,
            route,
            guard,
        }
    }

    /// The read of the record's pipeline: a list filtered on the id selecting the category.
    pub(crate) fn read(&self) -> (String, Map<String, Value>) {
        let method = self.route.method("list");
        let mut body = self.route.id_body(None);
        let (id, category) = match self.route.api {
            Api::Legacy => ("ID", "CATEGORY_ID"),
            Api::Item => ("id", "categoryId"),
        };
        body.insert("filter".into(), json!({ format!("={id}"): self.id }));
        body.insert("select".into(), json!([id, category]));
        (method, body)
    }

    /// Checks the read's `result` (`[{"CATEGORY_ID": ..}]` or `{"items": [{"categoryId": ..}]}`).
    /// A record the read does not find passes: the update then reports "Not found" itself.
    pub(crate) fn check(&self, method: &str, result: &Value) -> Result<(), Error> {
        let rows = match self.route.api {
            Api::Legacy => result.as_array(),
            Api::Item => result.get("items").and_then(Value::as_array),
        };
        let Some(rows) = rows else {
            return Err(self.unreadable(method, "a list of records"));
        };
        let Some(row) = rows.first() else {
            return Ok(());
        };
        let category = ["CATEGORY_ID", "categoryId"]
            .iter()
            .find_map(|k| row.get(*k))
            .and_then(|v| if v.is_null() { Some(0) } else { u64_of(v) })
            .ok_or_else(|| self.unreadable(method, "the record's pipeline (its category id)"))?;
        if category == self.guard.category.0 {
            return Ok(());
        }
        Err(Error::WrongPipeline {
            entity: self.entity,
            id: self.id,
            stage: self.guard.stage.clone(),
            stage_category: self.guard.category,
            record_category: CategoryId(category),
        })
    }

    fn unreadable(&self, method: &str, what: &str) -> Error {
        Error::Decode {
            method: method.to_owned(),
            message: format!(
                "the stage guard of the update of {} {} expected {what}; the update was not sent",
                self.entity, self.id
            ),
            source: None,
        }
    }
}

/// Reads the record's pipeline (one small request) and refuses the update when the stage
/// belongs to another one.
pub(crate) async fn check_stage(engine: &Arc<Engine>, check: &GuardCheck) -> Result<(), Error> {
    let (method, body) = check.read();
    let result: Value = engine.execute_one(&method, &body, true, false).await?;
    check.check(&method, &result)
}
