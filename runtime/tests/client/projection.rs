//! Typed projections against the emulator: list, get, stream, `stream_parallel` and batch on
//! both routes (`crm.deal.*` and `crm.item.*`), for deals (with a renamed field), leads and a
//! smart process;
//! the select sent is exactly the projection's fields (and `ID`), read off the wire by a
//! recording proxy in front of the emulator.

use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

use bitrix_runtime::types::{DealId, Decimal, LeadId};
use bitrix_runtime::{Api, Client, Entity, Plan, Projection, StandardDeal, bitrix_entity};
use futures::TryStreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::common::{Deal, emulator, fast_retry, titled};

/// The demo portal's leads.
#[bitrix_entity(schema = "../schemas/demo/lead.json")]
pub struct Lead;

/// The example of the issue (with `STAGE_ID` as the stage, mapped by `field = ...`).
#[derive(Debug, Clone, PartialEq, bitrix_runtime::Projection)]
#[bitrix(entity = Deal)]
struct Row {
    id: DealId,
    title: Option<String>,
    #[bitrix(field = "UF_CRM_1721244482250")]
    greeting: Option<String>,
    #[bitrix(field = "STAGE_ID")]
    stage: Option<crate::common::DealStage>,
    opportunity: Option<Decimal>,
    /// `UF_CRM_1721244590123`, renamed `channel` by the test entity: by its Rust name.
    channel: Option<crate::common::DealChannel>,
}

/// The README's example, verbatim (run in `the_readme_example_runs`).
#[derive(bitrix_runtime::Projection)]
#[bitrix(entity = Deal)]
struct ReadmeRow {
    id: DealId,            // the id is always returned: no Option
    title: Option<String>, // `title` -> Deal::TITLE
    #[bitrix(field = "UF_CRM_1721244482250")] // any name, mapped to a code
    greeting: Option<String>,
    #[bitrix(field = "STAGE_ID")]
    stage: Option<crate::common::DealStage>,
}

#[tokio::test]
async fn the_readme_example_runs() -> Result<(), bitrix_runtime::Error> {
    let emu = emulator(0).await;
    let (client, wire) = recorded(&emu).await;
    for i in 0..3 {
        let mut new = titled(&format!("Сделка {i}"));
        new.opportunity = Some(Decimal::new(1000 * i, 0));
        new.uf_crm_1721244482250 = Some("Привет".into());
        client.add(&new).await?;
    }
    let id = DealId(3);
    let rows = client
        .list::<ReadmeRow>()
        .filter(Deal::OPPORTUNITY.gt(Decimal::new(1000, 0)))
        .stream();
    let rows: Vec<ReadmeRow> = rows.try_collect().await?;
    let one: ReadmeRow = client.get::<ReadmeRow>(id).await?;
    let mut batch = client.batch();
    let page = batch.list(&client.list::<ReadmeRow>());
    let page = batch.send().await?.get(page)?;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].id, id);
    assert_eq!(one.title.as_deref(), Some("Сделка 2"));
    assert_eq!(one.greeting.as_deref(), Some("Привет"));
    assert!(one.stage.is_some());
    assert_eq!(page.items.len(), 3);
    assert_selects(&wire, &["ID", "TITLE", "UF_CRM_1721244482250", "STAGE_ID"]);
    Ok(())
}

/// A projection without the id: exports still chain on it (it is selected and read aside).
#[derive(Debug, Clone, PartialEq, bitrix_runtime::Projection)]
#[bitrix(entity = Deal)]
struct TitleOnly {
    title: Option<String>,
}

/// A library's row over the portal-independent deal fields: works on any portal's deal.
#[derive(Debug, Clone, PartialEq, bitrix_runtime::Projection)]
#[bitrix(entity = D)]
struct AnyDeal<D: StandardDeal> {
    id: Option<DealId>,
    title: Option<String>,
    opportunity: Option<Decimal>,
    _portal: PhantomData<D>,
}

/// Leads: another entity, with the item API's camelCase names.
#[derive(Debug, Clone, PartialEq, bitrix_runtime::Projection)]
#[bitrix(entity = Lead)]
struct LeadRow {
    id: LeadId,
    title: Option<String>,
    status_id: Option<LeadStatus>,
}

/// Every byte the client sent, in order.
type Wire = Arc<Mutex<Vec<u8>>>;

/// A TCP proxy in front of `upstream` that records what clients send.
async fn recording_proxy(upstream: std::net::SocketAddr) -> (String, Wire) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let wire: Wire = Arc::default();
    let log = wire.clone();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let Ok(outbound) = TcpStream::connect(upstream).await else {
                    return;
                };
                let (mut ri, mut wi) = inbound.split();
                let (mut ro, mut wo) = tokio::io::split(outbound);
                let up = async {
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        let n = match ri.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        log.lock().unwrap().extend_from_slice(&buf[..n]);
                        if wo.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                    let _ = wo.shutdown().await;
                };
                let down = async {
                    let _ = tokio::io::copy(&mut ro, &mut wi).await;
                    let _ = wi.shutdown().await;
                };
                tokio::join!(up, down);
            });
        }
    });
    (format!("http://{addr}"), wire)
}

/// A client whose requests go through the recording proxy.
async fn recorded(emu: &bitrix_emulator::Emulator) -> (Client, Wire) {
    let (base, wire) = recording_proxy(emu.addr()).await;
    let hook = emu.webhook_url().replace(&emu.base_url(), &base);
    let client = Client::builder()
        .webhook(hook)
        .plan(Plan::Unlimited)
        .retry(fast_retry())
        .build()
        .unwrap();
    (client, wire)
}

/// Every `select` the client sent: of JSON bodies (`"select":[..]`) and of batch command
/// query strings (`select[0]=ID&select[1]=TITLE`), each sorted.
fn selects(wire: &Wire) -> Vec<Vec<String>> {
    let text = String::from_utf8_lossy(&wire.lock().unwrap()).into_owned();
    let mut out = Vec::new();
    for part in text.split("\"select\":[").skip(1) {
        let list = part.split(']').next().unwrap_or("");
        let mut names: Vec<String> = list
            .split(',')
            .map(|s| s.trim().trim_matches('"').to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        names.sort();
        out.push(names);
    }
    // Batch commands: JSON strings holding query strings.
    for command in text.split('"').filter(|s| s.contains("select%5B")) {
        let mut names: Vec<String> = command
            .split(['&', '?'])
            .filter(|kv| kv.starts_with("select%5B"))
            .filter_map(|kv| kv.split_once('=').map(|(_, v)| crate::items::decoded(v)))
            .collect();
        names.sort();
        out.push(names);
    }
    out
}

fn sorted(names: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
    v.sort();
    v
}

/// Every select sent is the projection's (ids-only probes aside).
fn assert_selects(wire: &Wire, expected: &[&str]) {
    let expected = sorted(expected);
    let sent = selects(wire);
    let full: Vec<_> = sent.iter().filter(|s| s.len() > 1).collect();
    assert!(!full.is_empty(), "no select with fields was sent: {sent:?}");
    for s in full {
        assert_eq!(
            s, &expected,
            "a select other than the projection's: {sent:?}"
        );
    }
    wire.lock().unwrap().clear();
}

const LEGACY_SELECT: &[&str] = &[
    "ID",
    "TITLE",
    "UF_CRM_1721244482250",
    "STAGE_ID",
    "OPPORTUNITY",
    "UF_CRM_1721244590123",
];
const ITEM_SELECT: &[&str] = &[
    "id",
    "title",
    "ufCrm_1721244482250",
    "stageId",
    "opportunity",
    "ufCrm_1721244590123",
];

#[test]
fn the_select_is_the_projections_fields_in_declaration_order() {
    let codes: Vec<&str> = Row::select()
        .unwrap()
        .into_iter()
        .map(bitrix_runtime::EntityField::code)
        .collect();
    assert_eq!(codes, LEGACY_SELECT);
    assert_eq!(<Deal as Projection>::select(), None);
    let generic: Vec<&str> = AnyDeal::<Deal>::select()
        .unwrap()
        .into_iter()
        .map(bitrix_runtime::EntityField::code)
        .collect();
    assert_eq!(generic, ["ID", "TITLE", "OPPORTUNITY"]);
}

#[tokio::test]
async fn deals_read_as_projections_on_both_routes_with_exactly_their_select() {
    let emu = emulator(0).await;
    let (client, wire) = recorded(&emu).await;
    let mut ids = Vec::new();
    for i in 0..120 {
        let mut new = titled(&format!("Сделка {i}"));
        new.uf_crm_1721244482250 = Some(format!("Привет {i}"));
        new.opportunity = Some(Decimal::new(100 * i, 0));
        ids.push(client.add(&new).await.unwrap());
    }
    for (api, expected) in [(Api::Legacy, LEGACY_SELECT), (Api::Item, ITEM_SELECT)] {
        let client = client.with_api(api);
        wire.lock().unwrap().clear();

        // stream (the fast export): every row, in id order, with its values.
        let rows: Vec<Row> = client.list::<Row>().stream().try_collect().await.unwrap();
        assert_eq!(rows.len(), 120, "{api:?}");
        assert_eq!(rows.iter().map(|r| r.id).collect::<Vec<_>>(), ids);
        assert_eq!(rows[7].title.as_deref(), Some("Сделка 7"), "{api:?}");
        assert_eq!(rows[7].greeting.as_deref(), Some("Привет 7"), "{api:?}");
        assert_eq!(rows[7].opportunity, Some(Decimal::new(700, 0)), "{api:?}");
        assert_eq!(
            rows[7].channel,
            Some(crate::common::DealChannel::Site),
            "{api:?}"
        );
        assert!(rows[7].stage.is_some(), "{api:?}");
        assert_selects(&wire, expected);

        // A filter and an order on the entity's typed fields; all() of offset pages.
        let big: Vec<Row> = client
            .list::<Row>()
            .filter(Deal::OPPORTUNITY.gt(Decimal::new(10_000, 0)))
            .order(Deal::OPPORTUNITY, bitrix_runtime::Order::Desc)
            .all()
            .await
            .unwrap();
        assert_eq!(big.len(), 19, "{api:?}");
        assert_eq!(big[0].opportunity, Some(Decimal::new(11_900, 0)));
        assert_selects(&wire, expected);

        // stream_parallel: the same rows, in any order.
        let mut parallel: Vec<Row> = client
            .list::<Row>()
            .stream_parallel(3)
            .try_collect()
            .await
            .unwrap();
        parallel.sort_by_key(|r| u64::from(r.id));
        assert_eq!(parallel, rows, "{api:?}");
        assert_selects(&wire, expected);

        // first_page.
        let page = client.list::<Row>().first_page().await.unwrap();
        assert_eq!(page.items, rows[..50].to_vec());
        assert_selects(&wire, expected);

        // get: the get methods take no select; only the projection's fields are decoded.
        let one: Row = client.get::<Row>(ids[3]).await.unwrap();
        assert_eq!(one, rows[3], "{api:?}");

        // batch: get and list.
        let mut batch = client.batch();
        let got = batch.get::<Row>(ids[5]);
        let listed = batch.list(&client.list::<Row>());
        let results = batch.send().await.unwrap();
        assert_eq!(results.get(got).unwrap(), rows[5]);
        assert_eq!(results.get(listed).unwrap().items, rows[..50].to_vec());
        assert_selects(&wire, expected);

        // A projection without the id still exports every row (the id is selected aside).
        let titles: Vec<TitleOnly> = client
            .list::<TitleOnly>()
            .stream()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(titles.len(), 120);
        assert_eq!(titles[119].title.as_deref(), Some("Сделка 119"));
        let expected_title: &[&str] = if api == Api::Item {
            &["id", "title"]
        } else {
            &["ID", "TITLE"]
        };
        assert_selects(&wire, expected_title);

        // A library's generic row, instantiated with this portal's deal.
        let generic: Vec<AnyDeal<Deal>> = client
            .list::<AnyDeal<Deal>>()
            .stream()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(generic.len(), 120);
        assert_eq!(generic[2].id, Some(ids[2]));
        assert_eq!(generic[2].title.as_deref(), Some("Сделка 2"));
        assert_eq!(generic[2].opportunity, Some(Decimal::new(200, 0)));

        // Whole entities read as before.
        let whole = client.list::<Deal>().stream();
        let whole: Vec<Deal> = whole.try_collect().await.unwrap();
        assert_eq!(whole.len(), 120);
        assert_eq!(whole[7].title.as_deref(), Some("Сделка 7"));
        assert_eq!(whole[7].id(), Some(ids[7]));
    }
}

#[tokio::test]
async fn leads_read_as_projections_on_both_routes() {
    let emu = emulator(0).await;
    let (client, wire) = recorded(&emu).await;
    let mut ids = Vec::new();
    for i in 0..60 {
        ids.push(
            client
                .add(&NewLead::builder().title(format!("Лид {i}")).build())
                .await
                .unwrap(),
        );
    }
    for (api, expected) in [
        (Api::Legacy, ["ID", "TITLE", "STATUS_ID"]),
        (Api::Item, ["id", "title", "stageId"]),
    ] {
        let client = client.with_api(api);
        wire.lock().unwrap().clear();
        let rows: Vec<LeadRow> = client
            .list::<LeadRow>()
            .stream()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(
            rows.iter().map(|r| r.id).collect::<Vec<_>>(),
            ids,
            "{api:?}"
        );
        assert_eq!(rows[59].title.as_deref(), Some("Лид 59"));
        assert!(rows[59].status_id.is_some(), "{api:?}");
        assert_selects(&wire, &expected);
        let one = client.get::<LeadRow>(ids[1]).await.unwrap();
        assert_eq!(one, rows[1]);
    }
}

/// A smart process (only on `crm.item.*`): the projection's select in camelCase item names.
#[derive(Debug, Clone, PartialEq, bitrix_runtime::Projection)]
#[bitrix(entity = crate::entities::Project)]
struct ProjectRow {
    id: bitrix_runtime::types::SmartItemId<1220>,
    title: Option<String>,
    uf_crm_6_1721245000111: Option<String>,
}

#[tokio::test]
async fn smart_process_items_read_as_projections() {
    use crate::entities::NewProject;
    let emu = emulator(0).await;
    let (client, wire) = recorded(&emu).await;
    let mut ids = Vec::new();
    for i in 0..60 {
        let new = NewProject::builder()
            .title(format!("Проект {i}"))
            .opened(true)
            .uf_crm_6_1721245000111(format!("Этап {i}"))
            .build();
        ids.push(client.add(&new).await.unwrap());
    }
    wire.lock().unwrap().clear();
    let rows: Vec<ProjectRow> = client
        .list::<ProjectRow>()
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(rows.iter().map(|r| r.id).collect::<Vec<_>>(), ids);
    assert_eq!(rows[42].title.as_deref(), Some("Проект 42"));
    assert_eq!(rows[42].uf_crm_6_1721245000111.as_deref(), Some("Этап 42"));
    let expected: Vec<&str> = ProjectRow::select()
        .unwrap()
        .into_iter()
        .map(bitrix_runtime::EntityField::item_name)
        .collect();
    assert_eq!(expected[0], "id");
    assert_selects(&wire, &expected);
    assert_eq!(client.get::<ProjectRow>(ids[9]).await.unwrap(), rows[9]);
}
