//! The library's generic functions against an emulated portal with known deals.

use bitrix_emulator::{Config, Emulator};
use bitrix_runtime::types::{CategoryId, CurrencyId, Decimal};
use bitrix_runtime::{Client, StandardDeal, bitrix_entity};
use example_library_author::{NO_CURRENCY, largest_open_deals, pipeline_report, pipelines};

#[bitrix_entity(schema = "../../schemas/seed/deal.json")]
pub struct Deal;

fn new_deal(title: &str, category: u64, stage: &str, amount: i64, currency: &str) -> NewDeal {
    NewDeal::builder()
        .title(title)
        .category_id(CategoryId(category))
        .stage_id(stage)
        .opportunity(Decimal::new(amount, 0))
        .currency_id(CurrencyId::from(currency))
        .build()
}

async fn portal() -> (Emulator, Client) {
    let emu = Emulator::start(Config::default().with_seed_portal())
        .await
        .expect("the emulator starts");
    let client = Client::from_webhook(&emu.webhook_url()).expect("a valid webhook");
    (emu, client)
}

#[tokio::test]
async fn the_report_counts_and_sums_every_deal_per_pipeline_and_stage() {
    let (emu, client) = portal().await;
    let mut batch = client.batch();
    for (title, category, stage, amount, currency) in [
        ("a", 0, "NEW", 100, "RUB"),
        ("b", 0, "NEW", 250, "RUB"),
        ("c", 0, "NEW", 40, "USD"),
        ("d", 0, "WON", 1_000, "RUB"),
        ("e", 1, "C1:NEW", 7, "EUR"),
        ("f", 1, "C1:WON", 3, "EUR"),
    ] {
        batch.add(&new_deal(title, category, stage, amount, currency));
    }
    let results = batch.send().await.unwrap();
    assert_eq!(results.failures(), 0);

    let report = pipeline_report::<Deal>(&client).await.unwrap();
    assert_eq!(report.deals, 6);
    assert_eq!(report.deals_in(0, "NEW"), 3);
    assert_eq!(report.deals_in(0, "WON"), 1);
    assert_eq!(report.deals_in(1, "C1:NEW"), 1);
    assert_eq!(report.deals_in(1, "C1:WON"), 1);
    assert_eq!(report.total("RUB"), Decimal::new(1_350, 0));
    assert_eq!(report.total("USD"), Decimal::new(40, 0));
    assert_eq!(report.total("EUR"), Decimal::new(10, 0));
    assert_eq!(report.total(NO_CURRENCY), Decimal::ZERO);
    // Stage names and order come from the portal.
    let general = &report.pipelines[0];
    assert_eq!(general.id, 0);
    assert_eq!(general.stages[0].code, "NEW");
    assert!(!general.stages[0].name.is_empty());
    let text = report.to_string();
    assert!(text.contains("350.00 RUB"), "{text}");
    emu.shutdown().await;
}

#[tokio::test]
async fn pipelines_come_from_one_category_call_and_one_batch() {
    let (emu, client) = portal().await;
    let before = emu.counters().requests;
    let pipelines = pipelines(&client).await.unwrap();
    assert_eq!(
        emu.counters().requests - before,
        2,
        "crm.category.list + one batch"
    );
    assert!(pipelines.len() >= 2, "{pipelines:?}");
    assert_eq!(pipelines[0].id, 0);
    for p in &pipelines[1..] {
        let prefix = format!("C{}:", p.id);
        assert!(
            p.stages
                .iter()
                .all(|s| s.code.as_str().starts_with(&prefix)),
            "{p:?}"
        );
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn largest_open_deals_skips_closed_ones_on_the_server() {
    let (emu, client) = portal().await;
    // 60 won (closed) deals with bigger amounts than any open one: more than a page. The typed
    // `CLOSED = N` filter leaves them on the server, so one page holds the answer.
    let mut batch = client.batch();
    for i in 0..60 {
        batch.add(&new_deal(&format!("won {i}"), 0, "WON", 10_000 + i, "RUB"));
    }
    for (title, amount) in [("open small", 5), ("open big", 500), ("open mid", 50)] {
        batch.add(&new_deal(title, 0, "NEW", amount, "RUB"));
    }
    assert_eq!(batch.send().await.unwrap().failures(), 0);

    let before = emu.counters().method("crm.deal.list");
    let open = largest_open_deals::<Deal>(&client, 2).await.unwrap();
    let titles: Vec<&str> = open.iter().filter_map(|d| d.title()).collect();
    assert_eq!(titles, ["open big", "open mid"]);
    assert_eq!(
        emu.counters().method("crm.deal.list") - before,
        1,
        "one page: closed deals are filtered out by the portal"
    );

    let all_open = largest_open_deals::<Deal>(&client, 10).await.unwrap();
    assert_eq!(all_open.len(), 3, "only three deals are open");
    emu.shutdown().await;
}
