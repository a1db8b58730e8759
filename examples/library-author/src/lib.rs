//! A library written once against the portal-independent [`StandardDeal`] trait, usable with
//! the generated `Deal` of any portal.
//!
//! Every portal has its own generated deal type (its user fields differ), but all of them
//! implement [`StandardDeal`]: getters for the standard fields (`ID`, `TITLE`, `STAGE_ID`,
//! `OPPORTUNITY`, ...) and, through its [`Entity`](bitrix_runtime::Entity) supertrait, the
//! typed client calls. So a library takes `D: StandardDeal` and its users pass their own
//! portal's type:
//!
//! ```no_run
//! # async fn demo(client: bitrix_runtime::Client) -> Result<(), example_library_author::ReportError> {
//! # #[bitrix_runtime::bitrix_entity(schema = "../../schemas/seed/deal.json")]
//! # pub struct Deal;
//! let report = example_library_author::pipeline_report::<Deal>(&client).await?;
//! println!("{report}");
//! # Ok(()) }
//! ```
//!
//! What such a library can and cannot do generically:
//!
//! - read the standard fields of any portal's deals ([`StandardDeal`] getters);
//! - filter, select and order by them with the trait's typed constants
//!   (`D::CLOSED.eq(false)`, `D::OPPORTUNITY.field()`), checked at compile time like the
//!   portal-specific ones;
//! - stream exports, page through lists and use batches (`Client::list::<D>()`,
//!   `Client::batch()`), plus untyped calls for reference data (`crm.status.list`);
//! - it cannot name a portal's user fields: those differ per portal, which is the point.
#![deny(missing_docs)]

use std::collections::BTreeMap;
use std::fmt;

use bitrix_runtime::types::{Decimal, StatusId};
use bitrix_runtime::{Client, Order, StandardDeal};
use futures::TryStreamExt;
use serde_json::{Value, json};

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A portal call failed.
    #[error(transparent)]
    Portal(#[from] bitrix_runtime::Error),
    /// The portal's reference data has an unexpected shape.
    #[error("{method} answered something unexpected: {what}")]
    Unexpected {
        /// The REST method.
        method: &'static str,
        /// What was wrong.
        what: String,
    },
}

/// One stage of a pipeline with its totals.
#[derive(Debug, Clone, PartialEq)]
pub struct StageTotals {
    /// `STATUS_ID` (`NEW`, `C1:WON`).
    pub code: StatusId,
    /// The stage's name on the portal.
    pub name: String,
    /// Deals in the stage.
    pub deals: u64,
    /// Sum of `OPPORTUNITY` per currency (amounts in different currencies are not added up).
    pub amounts: BTreeMap<String, Decimal>,
}

/// A pipeline (deal category) with its stages in the portal's order.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    /// `CATEGORY_ID` (0 is the default pipeline).
    pub id: u64,
    /// Its name.
    pub name: String,
    /// Its stages, in the portal's `SORT` order.
    pub stages: Vec<StageTotals>,
}

/// Deal counts and amounts per pipeline and stage.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PipelineReport {
    /// The pipelines in the portal's order.
    pub pipelines: Vec<Pipeline>,
    /// Deals read.
    pub deals: u64,
}

/// The label of deals without a currency.
pub const NO_CURRENCY: &str = "(no currency)";
/// The name of a stage the portal's reference lists do not know.
pub const UNKNOWN_STAGE: &str = "(not in crm.status.list)";

impl PipelineReport {
    /// An empty report over these pipelines and stages.
    pub fn new(pipelines: Vec<Pipeline>) -> Self {
        PipelineReport {
            pipelines,
            deals: 0,
        }
    }

    /// Counts one deal of any portal.
    pub fn add<D: StandardDeal>(&mut self, deal: &D) {
        self.deals += 1;
        let category = deal.category_id().map_or(0, |c| c.0);
        let pipeline = match self.pipelines.iter().position(|p| p.id == category) {
            Some(i) => &mut self.pipelines[i],
            None => {
                self.pipelines.push(Pipeline {
                    id: category,
                    name: format!("pipeline {category}"),
                    stages: Vec::new(),
                });
                self.pipelines.last_mut().expect("just pushed")
            }
        };
        let code = deal
            .stage_id()
            .cloned()
            .unwrap_or_else(|| StatusId::from(""));
        let stage = match pipeline.stages.iter().position(|s| s.code == code) {
            Some(i) => &mut pipeline.stages[i],
            None => {
                pipeline.stages.push(StageTotals {
                    code,
                    name: UNKNOWN_STAGE.to_owned(),
                    deals: 0,
                    amounts: BTreeMap::new(),
                });
                pipeline.stages.last_mut().expect("just pushed")
            }
        };
        stage.deals += 1;
        if let Some(amount) = deal.opportunity() {
            let currency = deal
                .currency_id()
                .map_or_else(|| NO_CURRENCY.to_owned(), |c| c.to_string());
            *stage.amounts.entry(currency).or_default() += amount;
        }
    }

    /// Total `OPPORTUNITY` in one currency over every stage.
    pub fn total(&self, currency: &str) -> Decimal {
        self.pipelines
            .iter()
            .flat_map(|p| &p.stages)
            .filter_map(|s| s.amounts.get(currency))
            .sum()
    }

    /// Deals counted in a stage of a pipeline (0 when absent).
    pub fn deals_in(&self, pipeline: u64, stage: &str) -> u64 {
        self.pipelines
            .iter()
            .filter(|p| p.id == pipeline)
            .flat_map(|p| &p.stages)
            .filter(|s| s.code == stage)
            .map(|s| s.deals)
            .sum()
    }
}

impl fmt::Display for PipelineReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.pipelines {
            let deals: u64 = p.stages.iter().map(|s| s.deals).sum();
            if deals == 0 {
                continue;
            }
            writeln!(f, "pipeline {} \"{}\": {deals} deals", p.id, p.name)?;
            for s in p.stages.iter().filter(|s| s.deals > 0) {
                // Currencies first, deals without one last.
                let (plain, none): (Vec<_>, Vec<_>) =
                    s.amounts.iter().partition(|(c, _)| *c != NO_CURRENCY);
                let amounts: Vec<String> = plain
                    .into_iter()
                    .chain(none)
                    .map(|(c, a)| format!("{} {c}", a.round_dp(2)))
                    .collect();
                writeln!(
                    f,
                    "  {:<22} {:<24} {:>5}  {}",
                    s.code.as_str(),
                    s.name,
                    s.deals,
                    amounts.join(", ")
                )?;
            }
        }
        Ok(())
    }
}

/// The portal's deal pipelines and their stages, empty of deals: `crm.category.list`, then one
/// `crm.status.list` per pipeline, all of those in one batch request.
pub async fn pipelines(client: &Client) -> Result<Vec<Pipeline>, ReportError> {
    const CATEGORIES: &str = "crm.category.list";
    const STATUSES: &str = "crm.status.list";
    let answer = client.call(CATEGORIES, json!({"entityTypeId": 2})).await?;
    let categories = answer
        .get("categories")
        .and_then(Value::as_array)
        .ok_or_else(|| ReportError::Unexpected {
            method: CATEGORIES,
            what: "no `categories` list".into(),
        })?;
    let mut found = Vec::new();
    for c in categories {
        let id = c
            .get("id")
            .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
            .ok_or_else(|| ReportError::Unexpected {
                method: CATEGORIES,
                what: format!("a category without an id: {c}"),
            })?;
        let name = c.get("name").and_then(Value::as_str).unwrap_or("");
        found.push((id, name.to_owned()));
    }
    let mut batch = client.batch();
    let handles: Vec<_> = found
        .iter()
        .map(|(id, _)| {
            let entity = if *id == 0 {
                "DEAL_STAGE".to_owned()
            } else {
                format!("DEAL_STAGE_{id}")
            };
            batch.call(
                STATUSES,
                json!({"filter": {"ENTITY_ID": entity}, "order": {"SORT": "ASC"}}),
            )
        })
        .collect();
    let results = batch.send().await?;
    let mut pipelines = Vec::new();
    for ((id, name), handle) in found.into_iter().zip(handles) {
        let rows = results.get(handle)?;
        let rows = rows.as_array().ok_or_else(|| ReportError::Unexpected {
            method: STATUSES,
            what: format!("not a list: {rows}"),
        })?;
        let stages = rows
            .iter()
            .filter_map(|row| {
                Some(StageTotals {
                    code: StatusId::from(row.get("STATUS_ID")?.as_str()?),
                    name: row.get("NAME")?.as_str()?.to_owned(),
                    deals: 0,
                    amounts: BTreeMap::new(),
                })
            })
            .collect();
        pipelines.push(Pipeline { id, name, stages });
    }
    Ok(pipelines)
}

/// Counts and sums every deal of the portal per pipeline and stage, reading the deals with a
/// streamed export (the fast `>ID` method: 2,500 deals per request).
pub async fn pipeline_report<D: StandardDeal>(
    client: &Client,
) -> Result<PipelineReport, ReportError> {
    let select = [
        D::CATEGORY_ID.field(),
        D::STAGE_ID.field(),
        D::OPPORTUNITY.field(),
        D::CURRENCY_ID.field(),
    ];
    let mut report = PipelineReport::new(pipelines(client).await?);
    let mut deals = client.list::<D>().select(select).stream();
    while let Some(deal) = deals.try_next().await? {
        report.add(&deal);
    }
    Ok(report)
}

/// The `n` open deals with the largest `OPPORTUNITY` (whatever their currency): a typed filter
/// on `CLOSED` and an order by amount, written once for every portal.
pub async fn largest_open_deals<D: StandardDeal>(
    client: &Client,
    n: usize,
) -> Result<Vec<D>, ReportError> {
    let query = client
        .list::<D>()
        .select([
            D::TITLE.field(),
            D::STAGE_ID.field(),
            D::OPPORTUNITY.field(),
            D::CURRENCY_ID.field(),
            D::CLOSED.field(),
        ])
        .filter(D::CLOSED.eq(false))
        .order(D::OPPORTUNITY.field(), Order::Desc);
    let mut open = Vec::new();
    let mut start = 0;
    while open.len() < n {
        let page = query.page(start).await?;
        open.extend(page.items.into_iter().take(n - open.len()));
        match page.next {
            Some(next) => start = next,
            None => break,
        }
    }
    Ok(open)
}

/// One line about a deal of any portal.
pub fn describe<D: StandardDeal>(deal: &D) -> String {
    let amount = match (deal.opportunity(), deal.currency_id()) {
        (Some(a), Some(c)) => format!("{} {c}", a.round_dp(2)),
        (Some(a), None) => format!("{} {NO_CURRENCY}", a.round_dp(2)),
        _ => "-".into(),
    };
    format!(
        "#{:<6} {:>26}  {:<18} {}",
        deal.deal_id()
            .map_or_else(|| "?".into(), |id| id.to_string()),
        amount,
        deal.stage_id().map_or("-", |s| s.as_str()),
        deal.title().unwrap_or("(no title)"),
    )
}

#[cfg(test)]
mod tests {
    use bitrix_runtime::bitrix_entity;
    use bitrix_runtime::types::{CategoryId, CurrencyId};

    use super::*;

    #[bitrix_entity(schema = "../../schemas/seed/deal.json")]
    pub struct TestDeal;

    fn deal(category: Option<u64>, stage: &str, amount: Option<i64>, currency: &str) -> TestDeal {
        TestDeal {
            category_id: category.map(CategoryId),
            stage_id: Some(stage.into()),
            opportunity: amount.map(|a| Decimal::new(a, 0)),
            currency_id: (!currency.is_empty()).then(|| CurrencyId::from(currency)),
            ..TestDeal::default()
        }
    }

    fn stage(code: &str, name: &str) -> StageTotals {
        StageTotals {
            code: code.into(),
            name: name.into(),
            deals: 0,
            amounts: BTreeMap::new(),
        }
    }

    #[test]
    fn deals_are_counted_and_summed_per_stage_and_currency() {
        let mut report = PipelineReport::new(vec![Pipeline {
            id: 0,
            name: "Общее".into(),
            stages: vec![stage("NEW", "Новая"), stage("WON", "Успешна")],
        }]);
        report.add(&deal(Some(0), "NEW", Some(100), "RUB"));
        report.add(&deal(None, "NEW", Some(50), "RUB"));
        report.add(&deal(Some(0), "NEW", Some(7), "USD"));
        report.add(&deal(Some(0), "WON", None, "RUB"));
        report.add(&deal(Some(0), "NEW", Some(3), ""));
        assert_eq!(report.deals, 5);
        assert_eq!(
            report.deals_in(0, "NEW"),
            4,
            "no category is the default pipeline"
        );
        assert_eq!(report.deals_in(0, "WON"), 1);
        let new = &report.pipelines[0].stages[0];
        assert_eq!(new.amounts["RUB"], Decimal::new(150, 0));
        assert_eq!(new.amounts["USD"], Decimal::new(7, 0));
        assert_eq!(new.amounts[NO_CURRENCY], Decimal::new(3, 0));
        assert_eq!(report.total("RUB"), Decimal::new(150, 0));
        assert!(
            report.pipelines[0].stages[1].amounts.is_empty(),
            "no amount, no sum"
        );
    }

    #[test]
    fn unknown_pipelines_and_stages_are_kept_not_lost() {
        let mut report = PipelineReport::new(Vec::new());
        report.add(&deal(Some(4), "C4:ODD", Some(1), "EUR"));
        assert_eq!(report.pipelines.len(), 1);
        assert_eq!(report.pipelines[0].id, 4);
        assert_eq!(report.pipelines[0].stages[0].name, UNKNOWN_STAGE);
        assert_eq!(report.deals_in(4, "C4:ODD"), 1);
        let text = report.to_string();
        assert!(
            text.contains("pipeline 4 \"pipeline 4\": 1 deals"),
            "{text}"
        );
        assert!(text.contains("C4:ODD"), "{text}");
    }
}
