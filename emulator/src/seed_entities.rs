//! Seed data for every entity type besides deals: companies, contacts, leads, quotes, smart
//! invoices and smart-process items, deterministic from the seed, created through the same
//! `add` path as the REST methods (so defaults, pipelines and multifields follow the portal's
//! rules), and linked: contacts to companies, leads and quotes to companies and contacts,
//! smart-process items to deals; the seeded deals then get real `COMPANY_ID` / `CONTACT_IDS`.
//! Phones and e-mails are filled on leads, contacts and companies.

use std::collections::BTreeMap;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value, json};

use crate::entities::{COMPANY, CONTACT, DEAL, LEAD, QUOTE};
use crate::error::ApiError;
use crate::portal::{Caller, Portal};
use crate::schema::Slot;
use crate::store::Cell;

const FIRST_NAMES: &[&str] = &[
    "Иван",
    "Мария",
    "Алексей",
    "Ольга",
    "Дмитрий",
    "Анна",
    "Сергей",
    "Елена",
    "Павел",
    "Наталья",
];
const LAST_NAMES: &[&str] = &[
    "Иванов",
    "Петрова",
    "Смирнов",
    "Кузнецова",
    "Попов",
    "Соколова",
    "Лебедев",
    "Козлова",
];
const MIDDLE_NAMES: &[&str] = &["Иванович", "Петровна", "Сергеевич", "Андреевна", "Олегович"];
const LATIN: &[&str] = &[
    "ivanov",
    "petrova",
    "smirnov",
    "kuznetsova",
    "popov",
    "sokolova",
];
const COMPANY_NAMES: &[&str] = &[
    "ООО «Ромашка»",
    "АО «Вектор»",
    "ИП Соколов",
    "ООО «Север»",
    "ЗАО «Техснаб»",
    "ООО «Дельта & Ко»",
    "ГК «Альфа»",
];
const LEAD_TITLES: &[&str] = &[
    "Заявка с сайта",
    "Звонок по рекламе",
    "Запрос прайса",
    "Обращение в чат",
    "Заявка с выставки",
];

/// The order records are made in (links point at records made before).
const ORDER: &[u32] = &[COMPANY, CONTACT, LEAD, QUOTE];

/// Seeds `counts` (by `entityTypeId`, deals excluded) and links the seeded deals.
pub(crate) fn seed(
    portal: &mut Portal,
    counts: &BTreeMap<u32, usize>,
    seed: u64,
    user_id: i64,
) -> Result<(), ApiError> {
    let caller = Caller {
        user_id,
        app: false,
    };
    let mut rng = SmallRng::seed_from_u64(seed ^ 0x5eed_e7e5);
    let mut made: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    let order = ORDER
        .iter()
        .copied()
        .chain(counts.keys().copied().filter(|t| !ORDER.contains(t)));
    for type_id in order.collect::<Vec<_>>() {
        let n = counts.get(&type_id).copied().unwrap_or(0);
        for k in 0..n {
            let fields = record(portal, type_id, k, &made, &mut rng);
            let id = portal.add(type_id, &fields, caller)?;
            made.entry(type_id).or_default().push(id);
        }
    }
    link_deals(portal, &made, &mut rng);
    Ok(())
}

fn pick<'a>(rng: &mut SmallRng, pool: &[&'a str]) -> &'a str {
    pool[rng.random_range(0..pool.len())]
}

fn any(rng: &mut SmallRng, ids: Option<&Vec<u32>>) -> Option<u32> {
    let ids = ids.filter(|v| !v.is_empty())?;
    Some(ids[rng.random_range(0..ids.len())])
}

fn phone(rng: &mut SmallRng) -> String {
    format!(
        "+7 9{:02} {:03}-{:02}-{:02}",
        rng.random_range(0..100),
        rng.random_range(0..1000),
        rng.random_range(0..100),
        rng.random_range(0..100)
    )
}

/// The fields of the `k`-th record of a type (legacy codes).
fn record(
    portal: &Portal,
    type_id: u32,
    k: usize,
    made: &BTreeMap<u32, Vec<u32>>,
    rng: &mut SmallRng,
) -> Map<String, Value> {
    let company = any(rng, made.get(&COMPANY));
    let contact = any(rng, made.get(&CONTACT));
    let amount = (rng.random_range(10..5_000) * 100) as f64;
    let next_deal = portal.table(DEAL).map_or(1, |t| t.store.next_id);
    let deal = (next_deal > 1).then(|| rng.random_range(1..next_deal));
    let email = format!("{}{k}@example.com", pick(rng, LATIN));
    let contacts_fm = json!({
        "PHONE": [{"VALUE": phone(rng), "VALUE_TYPE": if rng.random_bool(0.5) { "WORK" } else { "MOBILE" }}],
        "EMAIL": [{"VALUE": email, "VALUE_TYPE": "WORK"}],
    });
    let mut v = match type_id {
        COMPANY => json!({
            "TITLE": format!("{} #{}", pick(rng, COMPANY_NAMES), k + 1),
            "REVENUE": amount * 10.0,
            "IS_MY_COMPANY": if k == 0 { "Y" } else { "N" },
        }),
        CONTACT => json!({
            "NAME": pick(rng, FIRST_NAMES),
            "SECOND_NAME": pick(rng, MIDDLE_NAMES),
            "LAST_NAME": pick(rng, LAST_NAMES),
            "COMPANY_ID": company,
        }),
        LEAD => json!({
            "TITLE": format!("{} — {}", pick(rng, LEAD_TITLES), pick(rng, COMPANY_NAMES)),
            "NAME": pick(rng, FIRST_NAMES),
            "LAST_NAME": pick(rng, LAST_NAMES),
            "OPPORTUNITY": amount,
            "COMPANY_ID": if rng.random_bool(0.3) { company } else { None },
        }),
        QUOTE => json!({
            "TITLE": format!("КП №{} для {}", k + 1, pick(rng, COMPANY_NAMES)),
            "OPPORTUNITY": amount,
            "COMPANY_ID": company,
            "CONTACT_IDS": contact.into_iter().collect::<Vec<_>>(),
        }),
        // Smart invoices and smart processes: the item fields by their upper names.
        _ => json!({
            "OPPORTUNITY": amount,
            "COMPANY_ID": company,
            "CONTACT_IDS": contact.into_iter().collect::<Vec<_>>(),
            "PARENT_ID_2": deal,
        }),
    };
    let mut out = v.as_object_mut().map(std::mem::take).unwrap_or_default();
    if matches!(type_id, COMPANY | CONTACT | LEAD) {
        if let Value::Object(fm) = contacts_fm {
            out.extend(fm);
        }
    }
    out.retain(|_, v| !v.is_null());
    out
}

/// Gives the seeded deals real companies and contacts (when there are any).
fn link_deals(portal: &mut Portal, made: &BTreeMap<u32, Vec<u32>>, rng: &mut SmallRng) {
    let companies = made.get(&COMPANY).cloned().unwrap_or_default();
    let contacts = made.get(&CONTACT).cloned().unwrap_or_default();
    if companies.is_empty() && contacts.is_empty() {
        return;
    }
    let deals = portal.deals_mut();
    let slot = |code: &str| {
        deals
            .layout
            .index(code)
            .map(|i| deals.layout.fields[i].slot)
    };
    let (company, contact_ids) = (slot("COMPANY_ID"), slot("CONTACT_IDS"));
    for row in deals.store.rows.values_mut() {
        if let (Some(Slot::Single(s)), false) = (company, companies.is_empty()) {
            let id = companies[rng.random_range(0..companies.len())];
            row.set_single(s, Cell::int(i64::from(id)));
        }
        if let (Some(Slot::Multi(s)), false) = (contact_ids, contacts.is_empty()) {
            let n = rng.random_range(0..=2usize);
            let mut ids: Vec<Cell> = (0..n)
                .map(|_| Cell::int(i64::from(contacts[rng.random_range(0..contacts.len())])))
                .collect();
            ids.dedup();
            row.set_multi(s, ids);
        }
    }
}
