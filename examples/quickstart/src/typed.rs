//! Typed calls on the emulated demo portal with the `Deal` generated at compile time from the
//! committed snapshot: create, read, update (set and clear), a filtered list, an export, a
//! batch. Each step prints what was sent and what came back, and checks it.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::time::Instant;

use bitrix_runtime::types::{DealId, Decimal, Money, NaiveDate};
use bitrix_runtime::{Client, Filter, Order};
use futures::TryStreamExt;
use serde_json::json;

use crate::report::{Failure, Outcome, Report, count, ensure, line, millis};
use crate::{
    Created, Deal, DealCurrency, DealField, DealInterests, DealPatch, DealSalesChannel,
    DealStageObshchaya, NewDeal, Portal,
};

/// Every deal this run creates has it in its title, so the list query can find them.
const MARK: &str = "quickstart";

fn date(y: i32, m: u32, d: u32) -> Outcome<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| Failure(format!("{y}-{m}-{d} is not a date")))
}

fn rub(amount: i64) -> Money {
    Money::new(Decimal::new(amount, 0), "RUB")
}

/// Checks one decoded value against the value sent.
fn same<T: PartialEq + Debug>(id: DealId, what: &str, got: &Option<T>, sent: &T) -> Outcome {
    ensure(got.as_ref() == Some(sent), || {
        format!("deal {id}: {what} came back as {got:?}, but {sent:?} was sent")
    })
}

/// Prints a payload the way it goes on the wire (the `fields` object).
fn sent(method: &str, payload: &impl serde::Serialize) {
    line(format!(
        "sent {method} fields {}",
        serde_json::to_string(payload).unwrap_or_else(|e| format!("<{e}>"))
    ));
}

/// The typed part of the quickstart (emulated demo portal only).
pub async fn run(portal: &Portal, created: &mut Created, report: &mut Report) -> Outcome {
    let emu = portal.emulator.as_ref();
    let client = &portal.client;

    report.step("Create deals with the typed NewDeal builder", emu);
    // A deal with user fields of several types: enumeration (required on this portal, so the
    // builder does not compile without it), money, date, boolean, integer, multiple values.
    let signed_on = date(2024, 8, 30)?;
    let delivery_dates = vec![date(2024, 9, 15)?, date(2024, 10, 1)?];
    let payments = vec![rub(500_000), rub(750_000)];
    let first = NewDeal::builder()
        .title(format!("Поставка оборудования ({MARK})"))
        .opportunity(Decimal::new(125_000_000, 2))
        .currency_id("RUB")
        .comments("Первая поставка\nвторая строка")
        .sales_channel(DealSalesChannel::Website)
        .client_budget(rub(1_500_000))
        .signed_on(signed_on)
        .contract_signed(true)
        .seats(12)
        .interests(vec![DealInterests::Delivery, DealInterests::Installation])
        .delivery_dates(delivery_dates.clone())
        .payments(payments.clone())
        .build();
    let others = [
        NewDeal::builder()
            .title(format!("Монтаж и пусконаладка ({MARK})"))
            .opportunity(Decimal::new(48_000, 0))
            .currency_id("USD")
            .sales_channel(DealSalesChannel::ColdCall)
            .contract_signed(false)
            .interests(vec![DealInterests::Maintenance])
            .build(),
        NewDeal::builder()
            .title(format!("Обучение персонала ({MARK})"))
            .opportunity(Decimal::new(95_000, 0))
            .currency_id("RUB")
            .sales_channel(DealSalesChannel::Referral)
            .interests(vec![DealInterests::StaffTraining])
            .build(),
    ];
    sent("crm.deal.add", &first);
    let id = client.add(&first).await?;
    created.deals.push(id);
    for new in &others {
        created.deals.push(client.add(new).await?);
    }
    line(format!(
        "created deals {} (typed ids: DealId)",
        ids(&created.deals)
    ));

    report.step("Read one back with client.get::<Deal>", emu);
    let deal: Deal = client.get::<Deal>(id).await?;
    show(&deal);
    same(
        id,
        "title",
        &deal.title,
        &format!("Поставка оборудования ({MARK})"),
    )?;
    same(
        id,
        "opportunity",
        &deal.opportunity,
        &Decimal::new(125_000_000, 2),
    )?;
    same(id, "currency_id", &deal.currency_id, &DealCurrency::Rub)?;
    same(
        id,
        "sales_channel",
        &deal.sales_channel,
        &DealSalesChannel::Website,
    )?;
    same(id, "client_budget", &deal.client_budget, &rub(1_500_000))?;
    same(id, "signed_on", &deal.signed_on, &signed_on)?;
    same(id, "contract_signed", &deal.contract_signed, &true)?;
    same(id, "seats", &deal.seats, &12)?;
    same(
        id,
        "interests",
        &deal.interests,
        &vec![DealInterests::Delivery, DealInterests::Installation],
    )?;
    same(id, "delivery_dates", &deal.delivery_dates, &delivery_dates)?;
    same(id, "payments", &deal.payments, &payments)?;
    same(
        id,
        "comments",
        &deal.comments,
        &"Первая поставка\nвторая строка".to_owned(),
    )?;
    if !deal.extra.is_empty() {
        line(format!(
            "extra: {} (fields the committed snapshot does not know: they are kept, untyped, until the snapshot is refreshed)",
            deal.extra.keys().cloned().collect::<Vec<_>>().join(", ")
        ));
    }

    report.step("Update it: set and clear fields with DealPatch", emu);
    let patch = DealPatch::new()
        .title(format!("Поставка оборудования, этап 2 ({MARK})"))
        .stage_id("PREPARATION")
        .opportunity(Decimal::new(130_000_000, 2))
        .contract_signed(false)
        .interests(vec![DealInterests::Maintenance])
        .clear_comments()
        .clear_signed_on();
    sent("crm.deal.update", &patch);
    client.update(id, &patch).await?;
    // A field the committed snapshot does not know can still be written untyped.
    let note = "заметка через client.call";
    let params = json!({"id": id.0, "fields": {"UF_CRM_QUICKSTART_NOTE": note}});
    line(format!(
        "sent crm.deal.update {params} (untyped: Client::call)"
    ));
    client.call("crm.deal.update", &params).await?;
    let deal: Deal = client.get::<Deal>(id).await?;
    line(format!(
        "came back: title {:?}, stage {}, opportunity {}, contract_signed {:?}, interests {}, comments {:?}, signed_on {:?}",
        deal.title.as_deref().unwrap_or(""),
        deal.stage_id.as_ref().map_or("-", |s| s.as_str()),
        deal.opportunity.map_or("-".into(), |o| o.to_string()),
        deal.contract_signed,
        labels(deal.interests.as_deref().unwrap_or_default()),
        deal.comments,
        deal.signed_on,
    ));
    same(
        id,
        "title",
        &deal.title,
        &format!("Поставка оборудования, этап 2 ({MARK})"),
    )?;
    same(id, "stage_id", &deal.stage_id, &"PREPARATION".into())?;
    same(
        id,
        "opportunity",
        &deal.opportunity,
        &Decimal::new(130_000_000, 2),
    )?;
    same(id, "contract_signed", &deal.contract_signed, &false)?;
    same(
        id,
        "interests",
        &deal.interests,
        &vec![DealInterests::Maintenance],
    )?;
    ensure(deal.comments.is_none() && deal.signed_on.is_none(), || {
        format!(
            "deal {id}: cleared fields came back as {:?} and {:?}",
            deal.comments, deal.signed_on
        )
    })?;
    same(
        id,
        "the untyped UF_CRM_QUICKSTART_NOTE (in extra)",
        &deal.extra.get("UF_CRM_QUICKSTART_NOTE").cloned(),
        &json!(note),
    )?;
    same(
        id,
        "client_budget (untouched)",
        &deal.client_budget,
        &rub(1_500_000),
    )?;

    report.step("A filtered, typed list query", emu);
    let filter: Filter<Deal> = Deal::TITLE
        .contains(MARK)
        .and(Deal::OPPORTUNITY.gt(Decimal::new(50_000, 0)))
        .and(Deal::SALES_CHANNEL.one_of([DealSalesChannel::Website, DealSalesChannel::Referral]));
    line(format!(
        "sent crm.deal.list filter {}, order OPPORTUNITY DESC",
        serde_json::Value::Object(filter.to_json())
    ));
    let found = client
        .list::<Deal>()
        .filter(filter)
        .order(Deal::OPPORTUNITY, Order::Desc)
        .select([
            DealField::Title,
            DealField::Opportunity,
            DealField::CurrencyId,
            DealField::SalesChannel,
        ])
        .all()
        .await?;
    for deal in &found {
        line(format!(
            "  #{:<6} {:>14} {}  {:<10} {}",
            deal.id.map_or("?".into(), |id| id.to_string()),
            deal.opportunity.map_or("-".into(), |o| o.to_string()),
            deal.currency_id.as_ref().map_or("", |c| c.as_str()),
            deal.sales_channel
                .as_ref()
                .map_or("-".into(), ToString::to_string),
            deal.title.as_deref().unwrap_or(""),
        ));
    }
    let found_ids: Vec<DealId> = found.iter().filter_map(|d| d.id).collect();
    let expected = vec![created.deals[0], created.deals[2]];
    ensure(found_ids == expected, || {
        format!(
            "the list query found deals {} instead of {}",
            ids(&found_ids),
            ids(&expected)
        )
    })?;
    let won = client
        .list::<Deal>()
        .filter(Deal::STAGE_ID.eq("WON"))
        .count()
        .await?;
    line(format!(
        "count of deals with STAGE_ID = WON on the portal: {}",
        count(won)
    ));

    report.step("Stream an export of every deal", emu);
    export(portal).await?;

    report.step("A batch: several typed commands in one HTTP request", emu);
    batch(client, created, emu).await?;
    Ok(())
}

fn ids(ids: &[DealId]) -> String {
    ids.iter()
        .map(|id| id.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn labels(items: &[DealInterests]) -> String {
    let labels: Vec<String> = items.iter().map(ToString::to_string).collect();
    format!("[{}]", labels.join(", "))
}

/// Prints the fields of a deal that this run set, and some the portal filled in.
fn show(deal: &Deal) {
    let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    let rows = [
        ("title", opt(deal.title.clone())),
        (
            "opportunity",
            opt(deal.opportunity.map(|o| {
                format!(
                    "{o} {}",
                    deal.currency_id.as_ref().map_or("", |c| c.as_str())
                )
            })),
        ),
        (
            "sales_channel",
            opt(deal.sales_channel.as_ref().map(|c| format!("{c:?} ({c})"))),
        ),
        (
            "client_budget",
            opt(deal.client_budget.as_ref().map(ToString::to_string)),
        ),
        ("signed_on", opt(deal.signed_on.map(|d| d.to_string()))),
        (
            "contract_signed",
            opt(deal.contract_signed.map(|b| b.to_string())),
        ),
        ("seats", opt(deal.seats.map(|s| s.to_string()))),
        ("interests", opt(deal.interests.as_deref().map(labels))),
        (
            "delivery_dates",
            opt(deal.delivery_dates.as_ref().map(|d| {
                d.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            })),
        ),
        (
            "payments",
            opt(deal.payments.as_ref().map(|p| {
                p.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            })),
        ),
        (
            "comments",
            opt(deal.comments.as_ref().map(|c| format!("{c:?}"))),
        ),
        (
            "stage_id",
            opt(deal
                .stage_id
                .as_ref()
                .map(|s| format!("{s} (filled in by the portal)"))),
        ),
        (
            "date_create",
            opt(deal
                .date_create
                .map(|d| format!("{} (filled in by the portal)", d.to_rfc3339()))),
        ),
    ];
    line("came back:");
    for (name, value) in rows {
        line(format!("  {name:<16}{value}"));
    }
}

/// Streams every deal (the fast `>ID` export, 2,500 rows per request), sums amounts per
/// currency and counts stages.
async fn export(portal: &Portal) -> Outcome {
    let client = &portal.client;
    let query = client.list::<Deal>().select([
        DealField::StageId,
        DealField::Opportunity,
        DealField::CurrencyId,
    ]);
    ensure(query.uses_fast_export(), || {
        "an export ordered by nothing should use the fast >ID method".to_owned()
    })?;
    let before = portal.emulator.as_ref().map(|e| e.counters().requests);
    let started = Instant::now();
    let mut rows = 0u64;
    let mut last = 0u64;
    let mut per_currency: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut per_stage: BTreeMap<String, u64> = BTreeMap::new();
    // With the `progress-bar` feature (on by default), a bar on stderr (hidden when it is not
    // a terminal).
    #[cfg(feature = "progress-bar")]
    let (query, bar) = {
        let bar = indicatif::ProgressBar::new_spinner();
        let query = query
            .with_total()
            .on_progress(bitrix_runtime::progress_bar(bar.clone()));
        (query, bar)
    };
    let mut stream = query.stream();
    while let Some(deal) = stream.try_next().await? {
        let id = deal.id.map_or(0, |id| id.0);
        ensure(id > last, || {
            format!("the export returned deal {id} after deal {last}: ids must grow")
        })?;
        last = id;
        rows += 1;
        if let (Some(amount), Some(currency)) = (deal.opportunity, &deal.currency_id) {
            *per_currency.entry(currency.to_string()).or_default() += amount;
        }
        if let Some(stage) = &deal.stage_id {
            *per_stage.entry(stage.to_string()).or_default() += 1;
        }
    }
    #[cfg(feature = "progress-bar")]
    bar.finish_and_clear();
    let took = started.elapsed();
    let requests = match (before, portal.emulator.as_ref()) {
        (Some(before), Some(e)) => Some(e.counters().requests - before),
        _ => None,
    };
    line(format!(
        "exported {} deals in {}{} ({:.0} rows/s)",
        count(rows),
        millis(took),
        requests.map_or(String::new(), |r| format!(" with {r} HTTP request(s)")),
        rows as f64 / took.as_secs_f64().max(1e-9),
    ));
    let sums: Vec<String> = per_currency
        .iter()
        .map(|(c, a)| format!("{} {c}", a.round_dp(2)))
        .collect();
    line(format!("OPPORTUNITY per currency: {}", sums.join(", ")));
    let mut stages: Vec<(&String, &u64)> = per_stage.iter().collect();
    stages.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let top: Vec<String> = stages
        .iter()
        .take(5)
        .map(|(s, n)| format!("{s} {}", count(**n)))
        .collect();
    line(format!("most common stages: {}", top.join(", ")));
    if let Some(emu) = portal.emulator.as_ref() {
        ensure(rows == emu.deal_count() as u64, || {
            format!(
                "the export returned {rows} deals, but the portal holds {}",
                emu.deal_count()
            )
        })?;
    }
    Ok(())
}

/// Two creates, a read, an update and a list in one `batch` request.
async fn batch(
    client: &Client,
    created: &mut Created,
    emu: Option<&bitrix_emulator::Emulator>,
) -> Outcome {
    let target = created.deals[0];
    let mut batch = client.batch();
    let a = batch.add(
        &NewDeal::builder()
            .title(format!("Сделка из пакета 1 ({MARK})"))
            .sales_channel(DealSalesChannel::Innoprom)
            .opportunity(Decimal::new(10_000, 0))
            .build(),
    );
    let b = batch.add(
        &NewDeal::builder()
            .title(format!("Сделка из пакета 2 ({MARK})"))
            .sales_channel(DealSalesChannel::Website)
            .build(),
    );
    let won = batch.update(target, &DealPatch::new().stage_id(DealStageObshchaya::Won));
    let read = batch.get::<Deal>(target);
    let mine = batch.list(
        &client
            .list::<Deal>()
            .filter(Deal::TITLE.contains(MARK))
            .select([DealField::Title]),
    );
    line(format!(
        "{} commands: add, add, update (STAGE_ID = WON, a typed stage of the default pipeline), get, list; halt on the first error",
        batch.len()
    ));
    let before = emu.map(|e| e.counters().requests);
    let results = batch.halt(true).send().await?;
    let requests = match (before, emu) {
        (Some(before), Some(e)) => Some(e.counters().requests - before),
        _ => None,
    };
    let first = results.get(a)?;
    created.deals.push(first);
    let second = results.get(b)?;
    created.deals.push(second);
    results.get(won)?;
    let deal = results.get(read)?;
    let page = results.get(mine)?;
    line(format!(
        "created {first} and {second}; deal {target} now in stage {} (closed: {:?}); the list sees {} deals of this run",
        deal.stage_id.as_ref().map_or("-", |s| s.as_str()),
        deal.closed,
        page.total.unwrap_or(page.items.len() as u64),
    ));
    if let Some(r) = requests {
        // The update sets a stage, which the portal would silently ignore if the deal were in
        // another pipeline: the client first reads the deal's pipeline (one request), then
        // sends the commands (one more).
        line(format!(
            "{r} HTTP requests for {} commands: one read of the pipeline the stage needs, then the batch",
            results.len()
        ));
        ensure(r == 2, || {
            format!(
                "the batch took {r} HTTP requests instead of 2 (the stage check, then the commands)"
            )
        })?;
    }
    same(
        target,
        "stage_id after the batch",
        &deal.stage_id,
        &DealStageObshchaya::Won.into(),
    )?;
    ensure(page.total == Some(created.deals.len() as u64), || {
        format!(
            "the list inside the batch counted {:?} deals of this run, expected {}",
            page.total,
            created.deals.len()
        )
    })
}
