//! List semantics against the emulator: every filter operator, order, select, counting, pages,
//! and the two export methods. Expected results are computed from a full export of the seeded
//! deals, so the tests check the client's query building against the portal's evaluation.

use std::collections::HashSet;

use crate::common::{Deal, DealField, client, emulator};
use bitrix_runtime::types::{DealId, Decimal, StatusId};
use bitrix_runtime::{Filter, Order};
use futures::TryStreamExt;

const SEEDED: usize = 700;

fn ids(rows: &[Deal]) -> Vec<u64> {
    rows.iter()
        .map(|d| d.id.expect("ID is selected").0)
        .collect()
}

fn sorted(mut v: Vec<u64>) -> Vec<u64> {
    v.sort_unstable();
    v
}

#[tokio::test]
async fn every_filter_operator_matches_what_the_portal_evaluates() {
    let emu = emulator(SEEDED).await;
    let client = client(&emu);
    let all: Vec<Deal> = client.list::<Deal>().all().await.unwrap();
    assert_eq!(all.len(), SEEDED);

    let by = |pred: &dyn Fn(&Deal) -> bool| -> Vec<u64> {
        sorted(ids(&all
            .iter()
            .filter(|d| pred(d))
            .cloned()
            .collect::<Vec<_>>()))
    };
    let run = |filter: Filter<Deal>| {
        let q = client.list::<Deal>().filter(filter);
        async move { sorted(ids(&q.all().await.unwrap())) }
    };

    // Pick values from the data so that every filter matches something and not everything.
    let stage = all[0].stage_id.clone().unwrap();
    let other_stage = all
        .iter()
        .filter_map(|d| d.stage_id.clone())
        .find(|s| *s != stage)
        .unwrap();
    let mut amounts: Vec<Decimal> = all.iter().filter_map(|d| d.opportunity).collect();
    amounts.sort();
    let median = amounts[amounts.len() / 2];
    let title_word = "Поставка";
    let mid = DealId(SEEDED as u64 / 2);

    let cases: Vec<(&str, Filter<Deal>, Vec<u64>)> = vec![
        (
            "eq",
            Deal::STAGE_ID.eq(stage.clone()),
            by(&|d| d.stage_id.as_ref() == Some(&stage)),
        ),
        (
            "ne",
            Deal::STAGE_ID.ne(stage.clone()),
            by(&|d| d.stage_id.as_ref() != Some(&stage)),
        ),
        (
            "one_of",
            Deal::STAGE_ID.one_of([stage.clone(), other_stage.clone()]),
            by(&|d| {
                d.stage_id.as_ref() == Some(&stage) || d.stage_id.as_ref() == Some(&other_stage)
            }),
        ),
        (
            "none_of",
            Deal::STAGE_ID.none_of([stage.clone(), other_stage.clone()]),
            by(&|d| {
                d.stage_id.as_ref() != Some(&stage) && d.stage_id.as_ref() != Some(&other_stage)
            }),
        ),
        (
            "gt",
            Deal::OPPORTUNITY.gt(median),
            by(&|d| d.opportunity.is_some_and(|o| o > median)),
        ),
        (
            "ge",
            Deal::OPPORTUNITY.ge(median),
            by(&|d| d.opportunity.is_some_and(|o| o >= median)),
        ),
        (
            "lt",
            Deal::OPPORTUNITY.lt(median),
            by(&|d| d.opportunity.is_some_and(|o| o < median)),
        ),
        (
            "le",
            Deal::OPPORTUNITY.le(median),
            by(&|d| d.opportunity.is_some_and(|o| o <= median)),
        ),
        (
            "id range",
            Deal::ID.gt(DealId(10)).and(Deal::ID.le(DealId(20))),
            (11..=20).collect(),
        ),
        (
            "contains",
            Deal::TITLE.contains(title_word),
            by(&|d| d.title.as_deref().is_some_and(|t| t.contains(title_word))),
        ),
        (
            "contains ignores case",
            Deal::TITLE.contains(&title_word.to_lowercase()),
            by(&|d| {
                d.title
                    .as_deref()
                    .is_some_and(|t| t.to_lowercase().contains(&title_word.to_lowercase()))
            }),
        ),
        (
            "like",
            Deal::TITLE.like(&format!("{title_word}%")),
            by(&|d| {
                d.title
                    .as_deref()
                    .is_some_and(|t| t.starts_with(title_word))
            }),
        ),
        (
            "is_empty",
            Deal::COMMENTS.is_empty(),
            by(&|d| d.comments.as_deref().is_none_or(str::is_empty)),
        ),
        (
            "is_not_empty",
            Deal::COMMENTS.is_not_empty(),
            by(&|d| d.comments.as_deref().is_some_and(|c| !c.is_empty())),
        ),
        (
            "and",
            Deal::STAGE_ID
                .eq(stage.clone())
                .and(Deal::OPPORTUNITY.gt(median))
                .and(Deal::ID.le(mid)),
            by(&|d| {
                d.stage_id.as_ref() == Some(&stage)
                    && d.opportunity.is_some_and(|o| o > median)
                    && d.id.is_some_and(|i| i <= mid)
            }),
        ),
    ];
    for (name, filter, expected) in cases {
        assert!(
            !expected.is_empty(),
            "{name}: the case must match something"
        );
        assert!(
            expected.len() < SEEDED,
            "{name}: the case must exclude something"
        );
        assert_eq!(run(filter).await, expected, "filter {name}");
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn order_select_count_and_pages() {
    let emu = emulator(SEEDED).await;
    let client = client(&emu);

    // Order by amount (descending) with ID as the tie-breaker, through offset pages.
    let q = client
        .list::<Deal>()
        .order(Deal::OPPORTUNITY, Order::Desc)
        .select([DealField::Opportunity, DealField::Title]);
    assert!(!q.uses_fast_export());
    let rows = q.all().await.unwrap();
    assert_eq!(rows.len(), SEEDED);
    for w in rows.windows(2) {
        let (a, b) = (w[0].opportunity.unwrap(), w[1].opportunity.unwrap());
        assert!(a > b || (a == b && w[0].id < w[1].id), "{a} then {b}");
    }
    assert_eq!(HashSet::<u64>::from_iter(ids(&rows)).len(), SEEDED);
    // Only the selected fields (and ID) come back.
    assert!(
        rows.iter()
            .all(|d| d.stage_id.is_none() && d.title.is_some())
    );
    assert!(
        rows.iter().all(|d| d.extra.is_empty()),
        "{:?}",
        rows[0].extra
    );

    // Without a select every field comes back, user fields included.
    let page = client.list::<Deal>().first_page().await.unwrap();
    assert_eq!(page.items.len(), 50);
    assert_eq!(page.total, Some(SEEDED as u64));
    assert_eq!(page.next, Some(50));
    assert!(
        page.items.iter().all(|d| d.channel.is_some()),
        "the required user field"
    );
    assert!(
        page.items.iter().any(|d| d.uf_crm_1721244512345.is_some()),
        "user fields are selected"
    );
    assert!(page.items.iter().any(|d| d.uf_crm_1721244567891.is_some()));
    assert!(page.items.iter().all(|d| d.date_create.is_some()));
    assert!(page.items.iter().all(|d| d.extra.is_empty()));
    let last = client.list::<Deal>().page(650).await.unwrap();
    assert_eq!(last.items.len(), 50);
    assert_eq!(last.next, None);

    // Counting is one request.
    let before = emu.counters().requests;
    let stage = StatusId::from("NEW");
    let count = client
        .list::<Deal>()
        .filter(Deal::STAGE_ID.eq(stage.clone()))
        .count()
        .await
        .unwrap();
    assert_eq!(emu.counters().requests, before + 1);
    let expected = client
        .list::<Deal>()
        .select([DealField::StageId])
        .all()
        .await
        .unwrap()
        .iter()
        .filter(|d| d.stage_id.as_ref().map(|s| s.status_id()) == Some(&stage))
        .count();
    assert_eq!(count, expected as u64);
    assert!(count > 0);

    // An empty IN matches nothing, without asking the portal.
    let before = emu.counters().requests;
    let none = client
        .list::<Deal>()
        .filter(Deal::ID.one_of(Vec::<DealId>::new()));
    assert_eq!(none.count().await.unwrap(), 0);
    assert!(none.all().await.unwrap().is_empty());
    assert_eq!(emu.counters().requests, before);
    // An empty NOT IN excludes nothing.
    let everything = client
        .list::<Deal>()
        .filter(Deal::ID.none_of(Vec::<DealId>::new()))
        .count()
        .await
        .unwrap();
    assert_eq!(everything, SEEDED as u64);
    emu.shutdown().await;
}

#[tokio::test]
async fn fast_export_in_both_directions_and_with_id_bounds() {
    let emu = emulator(SEEDED).await;
    let client = client(&emu);

    let asc = client.list::<Deal>().select([Deal::TITLE]);
    assert!(asc.uses_fast_export());
    let before = emu.counters().requests;
    let rows = asc.all().await.unwrap();
    // One direct page, then one batch of up to 50 chained pages.
    assert_eq!(emu.counters().requests, before + 2);
    assert_eq!(ids(&rows), (1..=SEEDED as u64).collect::<Vec<_>>());

    let desc = client
        .list::<Deal>()
        .order(DealField::Id, Order::Desc)
        .select([Deal::TITLE]);
    assert!(desc.uses_fast_export());
    let rows = desc.all().await.unwrap();
    assert_eq!(ids(&rows), (1..=SEEDED as u64).rev().collect::<Vec<_>>());

    // The user's own ID bounds become the cursor's start.
    let bounded = client
        .list::<Deal>()
        .filter(Deal::ID.ge(DealId(101)).and(Deal::ID.lt(DealId(400))))
        .select([Deal::TITLE]);
    assert!(bounded.uses_fast_export());
    assert_eq!(
        ids(&bounded.all().await.unwrap()),
        (101..400).collect::<Vec<_>>()
    );
    let bounded_desc = client
        .list::<Deal>()
        .filter(Deal::ID.le(DealId(300)).and(Deal::ID.gt(DealId(42))))
        .order(Deal::ID, Order::Desc)
        .select([Deal::TITLE]);
    assert_eq!(
        ids(&bounded_desc.all().await.unwrap()),
        (43..=300).rev().collect::<Vec<_>>()
    );

    // A small result costs one request.
    let before = emu.counters().requests;
    let few = client
        .list::<Deal>()
        .filter(Deal::ID.le(DealId(7)))
        .all()
        .await
        .unwrap();
    assert_eq!(ids(&few), (1..=7).collect::<Vec<_>>());
    assert_eq!(emu.counters().requests, before + 1);

    // Streams can be consumed lazily and dropped early.
    let mut stream = client.list::<Deal>().select([Deal::TITLE]).stream();
    let mut seen = 0;
    while let Some(deal) = stream.try_next().await.unwrap() {
        seen += 1;
        if deal.id == Some(DealId(75)) {
            break;
        }
    }
    assert_eq!(seen, 75);
    drop(stream);
    emu.shutdown().await;
}

#[tokio::test]
async fn offset_export_covers_every_row_once() {
    let emu = emulator(SEEDED).await;
    let client = client(&emu);
    let q = client
        .list::<Deal>()
        .order(Deal::TITLE, Order::Asc)
        .select([Deal::TITLE]);
    assert!(!q.uses_fast_export());
    let before = emu.counters().requests;
    let rows = q.all().await.unwrap();
    // One direct page (which learns the total), then one batch for the remaining 13 pages.
    assert_eq!(emu.counters().requests, before + 2);
    assert_eq!(sorted(ids(&rows)), (1..=SEEDED as u64).collect::<Vec<_>>());
    for w in rows.windows(2) {
        let (a, b) = (
            w[0].title.as_deref().unwrap(),
            w[1].title.as_deref().unwrap(),
        );
        assert!(
            a.to_lowercase() <= b.to_lowercase() || a <= b,
            "{a} then {b}"
        );
    }
    emu.shutdown().await;
}
