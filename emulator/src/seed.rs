//! Seed data: `N` deals with realistic, deterministic values for every field of the portal.
//!
//! Values are drawn from pools (titles, comments, companies, UTM tags, addresses, ...) so that
//! filters and sorts have something to bite on, with realistic fill rates (many fields are empty
//! on real portals). Required fields are always filled. `DATE_CREATE` grows with the id over the
//! last three years; stages, `STAGE_SEMANTIC_ID`, `IS_NEW`, `CLOSED`, `PREVIOUS_STAGE_ID` and
//! `CONTACT_ID` are consistent with each other.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::catalog::Semantic;
use crate::portal::Portal;
use crate::schema::{FieldDef, Kind, Slot};
use crate::store::{Cell, Row};
use crate::values::format_php_float;

const DAY: i64 = 86_400;

#[derive(Clone, Debug)]
enum Plan {
    /// Filled by the per-deal logic (stage, dates, ...) or never stored.
    Derived,
    Pick {
        pool: Vec<Cell>,
        fill: f64,
    },
    Int {
        lo: i64,
        hi: i64,
        fill: f64,
        zero: f64,
    },
    Cents {
        lo: f64,
        hi: f64,
    },
    Tax,
    Float {
        hi: f64,
        precision: u8,
        fill: f64,
    },
    Flag {
        yes: f64,
    },
    /// A date `days` around the creation date.
    Date {
        lo: i64,
        hi: i64,
        fill: f64,
    },
    /// A datetime `secs` around the creation time.
    DateTime {
        lo: i64,
        hi: i64,
        fill: f64,
    },
    Title,
}

struct FieldPlan {
    slot: Slot,
    plan: Plan,
    /// For multiple fields: at most this many values.
    max: usize,
}

const TITLE_WHAT: &[&str] = &[
    "Поставка оборудования",
    "Внедрение CRM",
    "Аренда склада",
    "Сервисное обслуживание",
    "Разработка сайта",
    "Закупка материалов",
    "Консультация",
    "Ремонт офиса",
    "Логистика",
    "Продление лицензий",
    "Монтаж вентиляции",
    "Обучение персонала",
];
const COMPANIES: &[&str] = &[
    "ООО «Ромашка»",
    "АО «Вектор»",
    "ИП Смирнов А. В.",
    "ООО «Северный ветер»",
    "ЗАО «Техноком»",
    "ООО «Альфа-Строй»",
    "ПАО «Уралхим»",
    "ООО \"Кварта\"",
    "Acme Corp.",
    "ООО «Дельта & Ко»",
    "ГК «Светоч»",
    "ООО «Бета»",
];
const COMMENTS: &[&str] = &[
    "Клиент просил перезвонить после 15:00",
    "[B]Важно:[/B] согласовать скидку\n",
    "Отправлено КП 12/03, ждём ответа",
    "Счёт №1234 оплачен частично",
    "Договор на подписании<br>\nСрок — до конца месяца",
    "См. https://example.com/specs?id=17&lang=ru",
    "Повторная покупка, [I]лояльный клиент[/I]",
    "Требуется выезд инженера\n\n",
];
const WORDS: &[&str] = &[
    "Москва",
    "срочно",
    "опт",
    "розница",
    "дилер",
    "партнёр",
    "тендер",
    "B2B",
    "маркетплейс",
    "регион Урал",
    "Санкт-Петербург",
    "Казань",
];
const URLS: &[&str] = &[
    "https://example.ru/catalog/item-17",
    "https://client.example.com/",
    "http://shop.example.org/order?id=42&ref=crm",
    "https://docs.example.ru/Договор.pdf",
];
const ADDRESSES: &[&str] = &[
    "Москва, ул. Тверская, 7|55.7575;37.6130|123",
    "Санкт-Петербург, Невский пр., 28|59.9358;30.3259|456",
    "Казань, ул. Баумана, 15|;|577",
    "Екатеринбург, пр. Ленина, 50, офис 12|56.8380;60.6057|",
];
const FILES: &[(&str, &str)] = &[
    ("Договор.pdf", "%PDF-1.4 договор"),
    ("КП.docx", "PK коммерческое предложение"),
    ("Счёт №17.pdf", "%PDF-1.4 счёт"),
    ("Фото объекта.jpg", "\u{FFFD}JPEG фото"),
    ("Смета.xlsx", "PK смета"),
    ("scan 01.png", "\u{FFFD}PNG scan"),
];

/// Fills the portal with `n` deals created by `user_id`.
pub(crate) fn seed(portal: &mut Portal, n: usize, seed: u64, user_id: i64) {
    if n == 0 {
        return;
    }
    let mut rng = SmallRng::seed_from_u64(seed ^ 0x5eed_dea1);
    let file_ids: Vec<Cell> = FILES
        .iter()
        .map(|(name, data)| Cell::int(i64::from(portal.files.add(name, data.as_bytes().to_vec()))))
        .collect();
    let plans: Vec<FieldPlan> = (0..portal.deals().layout.fields.len())
        .map(|i| {
            let f = portal.deals().layout.fields[i].clone();
            FieldPlan {
                slot: f.slot,
                max: if f.multiple { 3 } else { 1 },
                plan: plan_for(portal, &f, &file_ids),
            }
        })
        .collect();
    let std = portal.deals().layout.std.clone();
    let intern = |p: &mut Portal, s: &str| Cell::text(p.deals_mut().store.strings.intern(s));
    let semantic_cells = [
        intern(portal, Semantic::Process.letter()),
        intern(portal, Semantic::Success.letter()),
        intern(portal, Semantic::Failure.letter()),
    ];
    // Stage pools per pipeline: (stage cell, previous stage cell, semantic index, is first).
    let categories: Vec<u32> = portal.catalog.categories.iter().map(|c| c.id).collect();
    let mut stage_pools: Vec<Vec<(Cell, Cell, usize, bool)>> = Vec::new();
    for &c in &categories {
        let stages: Vec<(String, Semantic)> = portal
            .catalog
            .stages(c)
            .map(|s| (s.status_id.clone(), s.semantic))
            .collect();
        let mut pool = Vec::new();
        for (i, (sid, sem)) in stages.iter().enumerate() {
            let cell = intern(portal, sid);
            let prev = if i == 0 {
                Cell::NULL
            } else {
                intern(portal, &stages[i - 1].0)
            };
            let sem_index = match sem {
                Semantic::Process => 0,
                Semantic::Success => 1,
                Semantic::Failure => 2,
            };
            pool.push((cell, prev, sem_index, i == 0));
        }
        stage_pools.push(pool);
    }
    let now = crate::clock::now();
    let span = 3 * 365 * DAY;
    let first_id = portal.deals().store.next_id;
    let singles = portal.deals().layout.singles;
    for k in 0..n {
        let id = first_id + k as u32;
        let created = now - span + (span as f64 * (k as f64 + 0.5) / n as f64) as i64
            - rng.random_range(0..3600);
        let mut row = Row::with_singles(singles);
        let opportunity_cents = {
            let v = (rng.random_range(1_000f64.ln()..5_000_000f64.ln())).exp();
            let round = if rng.random_bool(0.7) { 1000.0 } else { 1.0 };
            ((v / round).round() * round * 100.0) as i64
        };
        for p in &plans {
            let n_values = match p.slot {
                Slot::Multi(_) => {
                    if rng.random_bool(0.45) {
                        0
                    } else {
                        rng.random_range(1..=p.max)
                    }
                }
                _ => 1,
            };
            let mut values = Vec::with_capacity(n_values);
            for _ in 0..n_values {
                let c = generate(&p.plan, &mut rng, created, opportunity_cents);
                if !c.is_null() {
                    values.push(c);
                }
            }
            match p.slot {
                Slot::Single(s) => {
                    if let Some(c) = values.first() {
                        row.set_single(s, *c);
                    }
                }
                Slot::Multi(s) => {
                    values.dedup();
                    row.set_multi(s, values);
                }
                Slot::Key => {}
            }
        }
        // Title: mostly business-like, sometimes the portal's default.
        if let Some(Slot::Single(s)) = std.title.map(|i| portal.deals().layout.fields[i].slot) {
            let t = if rng.random_bool(0.05) {
                format!("Сделка #{id}")
            } else {
                format!(
                    "{} — {}",
                    TITLE_WHAT[rng.random_range(0..TITLE_WHAT.len())],
                    COMPANIES[rng.random_range(0..COMPANIES.len())]
                )
            };
            let c = intern(portal, &t);
            row.set_single(s, c);
        }
        // Pipeline and stage.
        let ci = match rng.random_range(0..10) {
            0..=6 => 0,
            7 | 8 => 1,
            _ => 2,
        }
        .min(categories.len().saturating_sub(1));
        let pool = &stage_pools[ci];
        if !pool.is_empty() {
            let (stage, prev, sem, first) = pool[rng.random_range(0..pool.len())];
            let set = |row: &mut Row, index: Option<usize>, c: Cell| {
                if let Some(Slot::Single(s)) = index.map(|i| portal.deals().layout.fields[i].slot) {
                    row.set_single(s, c);
                }
            };
            set(
                &mut row,
                std.category_id,
                Cell::int(i64::from(categories[ci])),
            );
            set(&mut row, std.stage_id, stage);
            set(&mut row, std.previous_stage_id, prev);
            set(&mut row, std.stage_semantic_id, semantic_cells[sem]);
            set(&mut row, std.is_new, Cell::int(i64::from(first)));
            set(&mut row, std.closed, Cell::int(i64::from(sem != 0)));
            let moved = created + rng.random_range(0..30 * DAY);
            set(&mut row, std.moved_time, Cell::int(moved.min(now)));
            set(&mut row, std.date_create, Cell::int(created));
            let modified = (created + rng.random_range(0..90 * DAY)).min(now);
            set(&mut row, std.date_modify, Cell::int(modified));
            set(&mut row, std.last_activity_time, Cell::int(modified));
            set(&mut row, std.begindate, Cell::int(created.div_euclid(DAY)));
            set(
                &mut row,
                std.closedate,
                Cell::int(created.div_euclid(DAY) + rng.random_range(7..60)),
            );
            set(&mut row, std.created_by_id, Cell::int(user_id));
        }
        portal.deals_mut().store.rows.insert(id, row);
    }
    portal.deals_mut().store.next_id = first_id + n as u32;
}

fn pool(portal: &mut Portal, items: &[&str]) -> Vec<Cell> {
    items
        .iter()
        .map(|s| Cell::text(portal.deals_mut().store.strings.intern(s)))
        .collect()
}

fn plan_for(portal: &mut Portal, f: &FieldDef, files: &[Cell]) -> Plan {
    let req = |fill: f64| if f.required { 1.0 } else { fill };
    match f.code.as_str() {
        "ID" | "CONTACT_ID" | "TITLE" | "CATEGORY_ID" | "STAGE_ID" | "PREVIOUS_STAGE_ID"
        | "STAGE_SEMANTIC_ID" | "IS_NEW" | "CLOSED" | "DATE_CREATE" | "DATE_MODIFY"
        | "MOVED_TIME" | "LAST_ACTIVITY_TIME" | "BEGINDATE" | "CLOSEDATE" | "CREATED_BY_ID" => {
            return if f.code == "TITLE" {
                Plan::Title
            } else {
                Plan::Derived
            };
        }
        "OPPORTUNITY" => return Plan::Cents { lo: 0.0, hi: 0.0 },
        "TAX_VALUE" => return Plan::Tax,
        "PROBABILITY" => {
            return Plan::Int {
                lo: 0,
                hi: 10,
                fill: req(0.7),
                zero: 0.0,
            };
        }
        "COMPANY_ID" => {
            return Plan::Int {
                lo: 1,
                hi: 5_000,
                fill: 1.0,
                zero: 0.3,
            };
        }
        "CONTACT_IDS" => {
            return Plan::Int {
                lo: 1,
                hi: 20_000,
                fill: 1.0,
                zero: 0.0,
            };
        }
        "LEAD_ID" => {
            return Plan::Int {
                lo: 1,
                hi: 50_000,
                fill: req(0.3),
                zero: 0.0,
            };
        }
        "QUOTE_ID" => {
            return Plan::Int {
                lo: 1,
                hi: 3_000,
                fill: req(0.05),
                zero: 0.0,
            };
        }
        "OPENED" => return Plan::Flag { yes: 0.9 },
        "IS_RECURRING" => return Plan::Flag { yes: 0.02 },
        "IS_RETURN_CUSTOMER" => return Plan::Flag { yes: 0.3 },
        "IS_REPEATED_APPROACH" => return Plan::Flag { yes: 0.15 },
        "IS_MANUAL_OPPORTUNITY" => return Plan::Flag { yes: 0.5 },
        "COMMENTS" => {
            return Plan::Pick {
                pool: pool(portal, COMMENTS),
                fill: req(0.4),
            };
        }
        "ADDITIONAL_INFO" | "SOURCE_DESCRIPTION" => {
            return Plan::Pick {
                pool: pool(portal, WORDS),
                fill: req(0.15),
            };
        }
        "UTM_SOURCE" => {
            return Plan::Pick {
                pool: pool(portal, &["google", "yandex", "vk", "telegram"]),
                fill: req(0.3),
            };
        }
        "UTM_MEDIUM" => {
            return Plan::Pick {
                pool: pool(portal, &["CPC", "CPM", "email", "organic"]),
                fill: req(0.3),
            };
        }
        "UTM_CAMPAIGN" => {
            return Plan::Pick {
                pool: pool(
                    portal,
                    &["spring_sale_2024", "black_friday", "brand", "retargeting"],
                ),
                fill: req(0.2),
            };
        }
        "UTM_CONTENT" => {
            return Plan::Pick {
                pool: pool(portal, &["banner_a", "banner_b", "text_1"]),
                fill: req(0.1),
            };
        }
        "UTM_TERM" => {
            return Plan::Pick {
                pool: pool(
                    portal,
                    &["купить оборудование", "crm для бизнеса", "аренда склада"],
                ),
                fill: req(0.1),
            };
        }
        "ORIGINATOR_ID" => {
            return Plan::Pick {
                pool: pool(portal, &["1c_erp", "site_form", "import"]),
                fill: req(0.1),
            };
        }
        "ORIGIN_ID" => {
            let ids: Vec<String> = (0..500)
                .map(|i| format!("ORD-{}", 10_000 + i * 7))
                .collect();
            let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
            return Plan::Pick {
                pool: pool(portal, &refs),
                fill: req(0.1),
            };
        }
        "LOCATION_ID" => {
            return Plan::Pick {
                pool: pool(portal, &["RU_MOW", "RU_SPE"]),
                fill: req(0.02),
            };
        }
        _ => {}
    }
    match f.kind {
        Kind::Id => Plan::Derived,
        Kind::Int => match f.ty.as_str() {
            "user" | "employee" => Plan::Int {
                lo: 1,
                hi: 25,
                fill: req(if f.uf { 0.5 } else { 1.0 }),
                zero: 0.0,
            },
            "crm_entity" => Plan::Int {
                lo: 1,
                hi: 500,
                fill: req(0.3),
                zero: 0.0,
            },
            "iblock_element" => Plan::Int {
                lo: 100,
                hi: 999,
                fill: req(0.4),
                zero: 0.0,
            },
            "iblock_section" => Plan::Int {
                lo: 1,
                hi: 30,
                fill: req(0.4),
                zero: 0.0,
            },
            "crm_category" => Plan::Int {
                lo: 0,
                hi: 0,
                fill: 1.0,
                zero: 0.0,
            },
            _ => Plan::Int {
                lo: 0,
                hi: 10_000,
                fill: req(0.6),
                zero: 0.0,
            },
        },
        Kind::Cents => Plan::Cents {
            lo: 0.0,
            hi: 100_000.0,
        },
        Kind::Float(p) => Plan::Float {
            hi: 1_000.0,
            precision: p,
            fill: req(0.6),
        },
        Kind::Char => Plan::Flag { yes: 0.3 },
        Kind::Bool => Plan::Flag { yes: 0.5 },
        Kind::Date => Plan::Date {
            lo: -90,
            hi: 90,
            fill: req(0.6),
        },
        Kind::DateTime => Plan::DateTime {
            lo: -30 * DAY,
            hi: 60 * DAY,
            fill: req(0.5),
        },
        Kind::Enum => {
            let pool: Vec<Cell> = f
                .items()
                .iter()
                .map(|i| Cell::int(i64::from(i.id)))
                .collect();
            if pool.is_empty() {
                Plan::Derived
            } else {
                Plan::Pick {
                    pool,
                    fill: req(0.6),
                }
            }
        }
        Kind::File => Plan::Pick {
            pool: files.to_vec(),
            fill: req(0.2),
        },
        // Deals have no multifields.
        Kind::Multifield => Plan::Derived,
        Kind::Raw => {
            let ids: Vec<String> = (0..40).map(|i| format!("\"{}\"", 1_000 + i * 3)).collect();
            let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
            Plan::Pick {
                pool: pool(portal, &refs),
                fill: req(0.2),
            }
        }
        Kind::Text => {
            let items: Vec<String> = match f.ty.as_str() {
                "crm_status" => {
                    let entity = f.status_entity.clone().unwrap_or_default();
                    portal
                        .catalog
                        .values(&entity)
                        .iter()
                        .map(|s| (*s).to_owned())
                        .collect()
                }
                "crm_currency" => {
                    let mut v = vec!["RUB".to_owned(); 8];
                    v.extend(["USD".to_owned(), "EUR".to_owned()]);
                    v
                }
                "money" => (0..60)
                    .map(|i| {
                        let amount = format_php_float(
                            f64::from(500 + i * 1_250) + if i % 3 == 0 { 0.5 } else { 0.0 },
                        );
                        let cur = ["RUB", "RUB", "RUB", "USD", "EUR"][i as usize % 5];
                        format!("{amount}|{cur}")
                    })
                    .collect(),
                "url" => URLS.iter().map(|s| (*s).to_owned()).collect(),
                "address" => ADDRESSES.iter().map(|s| (*s).to_owned()).collect(),
                "crm" => crm_values(f),
                "location" => vec!["RU_MOW".into(), "RU_SPE".into()],
                _ => {
                    let mut v: Vec<String> = WORDS.iter().map(|s| (*s).to_owned()).collect();
                    v.extend(COMPANIES.iter().map(|s| (*s).to_owned()));
                    v.push("Привет мир!".into());
                    v
                }
            };
            if items.is_empty() {
                return Plan::Derived;
            }
            let refs: Vec<&str> = items.iter().map(String::as_str).collect();
            Plan::Pick {
                pool: pool(portal, &refs),
                // A real portal always sets a deal's currency (the base one by default).
                fill: if f.code == "CURRENCY_ID" {
                    1.0
                } else {
                    req(if f.uf { 0.5 } else { 0.6 })
                },
            }
        }
    }
}

/// Values of a `crm` user field: a bare id when one entity type is enabled, else prefixed
/// (`D_`, `C_`, `CO_`, `L_`, `T{hex}_`).
fn crm_values(f: &FieldDef) -> Vec<String> {
    let settings = f
        .uf_meta
        .as_ref()
        .map(|m| m.settings.clone())
        .unwrap_or_default();
    let mut prefixes: Vec<String> = Vec::new();
    if let Some(o) = settings.as_object() {
        for (k, v) in o {
            if v.as_str() != Some("Y") {
                continue;
            }
            let p = match k.as_str() {
                "LEAD" => "L".to_owned(),
                "CONTACT" => "C".to_owned(),
                "COMPANY" => "CO".to_owned(),
                "DEAL" => "D".to_owned(),
                other => match other
                    .strip_prefix("DYNAMIC_")
                    .and_then(|n| n.parse::<u32>().ok())
                {
                    Some(n) => format!("T{n:x}"),
                    None => continue,
                },
            };
            prefixes.push(p);
        }
    }
    if prefixes.is_empty() {
        prefixes = vec!["C".into(), "CO".into()];
    }
    let single = prefixes.len() == 1;
    let mut out = Vec::new();
    for (i, p) in prefixes.iter().enumerate() {
        for n in 0..15 {
            let id = 1 + n * 13 + i as u32;
            out.push(if single {
                id.to_string()
            } else {
                format!("{p}_{id}")
            });
        }
    }
    out
}

fn generate(plan: &Plan, rng: &mut SmallRng, created: i64, opportunity: i64) -> Cell {
    match plan {
        Plan::Derived | Plan::Title => Cell::NULL,
        Plan::Pick { pool, fill } => {
            if pool.is_empty() || !rng.random_bool(*fill) {
                Cell::NULL
            } else {
                pool[rng.random_range(0..pool.len())]
            }
        }
        Plan::Int { lo, hi, fill, zero } => {
            if !rng.random_bool(*fill) {
                Cell::NULL
            } else if *zero > 0.0 && rng.random_bool(*zero) {
                Cell::int(0)
            } else if *hi == 10 && *lo == 0 {
                Cell::int(rng.random_range(0..=10) * 10)
            } else {
                Cell::int(rng.random_range(*lo..=*hi))
            }
        }
        Plan::Cents { lo, hi } => {
            if *hi == 0.0 {
                Cell::int(opportunity)
            } else {
                Cell::int((rng.random_range(*lo..*hi) * 100.0).round() as i64)
            }
        }
        Plan::Tax => {
            if rng.random_bool(0.6) {
                Cell::int(0)
            } else {
                Cell::int(opportunity * 20 / 120)
            }
        }
        Plan::Float {
            hi,
            precision,
            fill,
        } => {
            if !rng.random_bool(*fill) {
                return Cell::NULL;
            }
            let scale = 10f64.powi(i32::from(*precision));
            Cell::float((rng.random_range(0.0..*hi) * scale).round() / scale)
        }
        Plan::Flag { yes } => Cell::int(i64::from(rng.random_bool(*yes))),
        Plan::Date { lo, hi, fill } => {
            if !rng.random_bool(*fill) {
                return Cell::NULL;
            }
            Cell::int(created.div_euclid(DAY) + rng.random_range(*lo..=*hi))
        }
        Plan::DateTime { lo, hi, fill } => {
            if !rng.random_bool(*fill) {
                return Cell::NULL;
            }
            Cell::int(created + rng.random_range(*lo..=*hi))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{DEMO_SNAPSHOT, Layout};
    use chrono::FixedOffset;

    fn demo() -> Portal {
        let v: serde_json::Value = serde_json::from_str(DEMO_SNAPSHOT).unwrap();
        Portal::new(
            Layout::from_value(&v).unwrap(),
            FixedOffset::east_opt(3 * 3600).unwrap(),
        )
    }

    #[test]
    fn seeding_is_deterministic_and_consistent() {
        let mut a = demo();
        seed(&mut a, 300, 7, 1);
        let mut b = demo();
        seed(&mut b, 300, 7, 1);
        assert_eq!(a.deals().store.rows.len(), 300);
        for id in [1, 150, 300] {
            assert_eq!(
                a.get(crate::entities::DEAL, id).unwrap(),
                b.get(crate::entities::DEAL, id).unwrap()
            );
        }
        let mut c = demo();
        seed(&mut c, 300, 8, 1);
        assert_ne!(
            a.get(crate::entities::DEAL, 5).unwrap(),
            c.get(crate::entities::DEAL, 5).unwrap()
        );
        for id in 1..=300u32 {
            let d = a.get(crate::entities::DEAL, id).unwrap();
            // The required enumeration is always filled.
            assert!(d["UF_CRM_1721244590123"].is_string(), "{d}");
            let stage = d["STAGE_ID"].as_str().unwrap();
            let cat = d["CATEGORY_ID"].as_str().unwrap();
            if cat == "0" {
                assert!(!stage.starts_with('C'), "{stage}");
            } else {
                assert!(stage.starts_with(&format!("C{cat}:")), "{stage}");
            }
            let closed = d["CLOSED"] == "Y";
            assert_eq!(closed, d["STAGE_SEMANTIC_ID"] != "P");
            assert!(d["OPPORTUNITY"].as_str().unwrap().contains('.'));
        }
        // Creation dates grow with the id.
        let t1 = a.get(crate::entities::DEAL, 1).unwrap()["DATE_CREATE"]
            .as_str()
            .unwrap()
            .to_owned();
        let t2 = a.get(crate::entities::DEAL, 300).unwrap()["DATE_CREATE"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(t1 < t2);
    }
}
