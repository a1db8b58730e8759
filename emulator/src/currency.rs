//! `crm.currency.list/get/fields` and `crm.currency.base.get`: the portal's currencies (those
//! the catalog accepts in `CURRENCY_ID`), in the `crm_currency` form of the docs' examples:
//! every value a string, `AMOUNT` with four decimals, the base currency's rate `1`.

use serde_json::{Map, Value, json};

use crate::catalog::Catalog;
use crate::error::ApiError;
use crate::lang::Lang;
use crate::rest::{Output, array_param, param};
use crate::schema::descriptor;
use crate::values::php_string;

/// One currency's data: code, rate to the base currency, sort, names (ru, en), format string
/// and thousands separator.
struct Currency {
    code: &'static str,
    amount: &'static str,
    sort: u32,
    ru: &'static str,
    en: &'static str,
    format: &'static str,
    thousands_sep: Option<&'static str>,
}

/// The seeded currencies (rates of a Russian portal; the base currency first).
const CURRENCIES: [Currency; 7] = [
    Currency {
        code: "RUB",
        amount: "1.0000",
        sort: 100,
        ru: "Российский рубль",
        en: "Russian Ruble",
        format: "# &#8381;",
        thousands_sep: Some("&nbsp;"),
    },
    Currency {
        code: "USD",
        amount: "92.5000",
        sort: 200,
        ru: "Доллар США",
        en: "US Dollar",
        format: "$#",
        thousands_sep: None,
    },
    Currency {
        code: "EUR",
        amount: "100.2000",
        sort: 300,
        ru: "Евро",
        en: "Euro",
        format: "# €",
        thousands_sep: Some("&nbsp;"),
    },
    Currency {
        code: "KZT",
        amount: "0.1900",
        sort: 400,
        ru: "Казахстанский тенге",
        en: "Tenge",
        format: "# ₸",
        thousands_sep: Some("&nbsp;"),
    },
    Currency {
        code: "BYN",
        amount: "28.5000",
        sort: 500,
        ru: "Белорусский рубль",
        en: "Belarusian Ruble",
        format: "# Br",
        thousands_sep: Some("&nbsp;"),
    },
    Currency {
        code: "UAH",
        amount: "2.2500",
        sort: 600,
        ru: "Гривна",
        en: "Hryvnia",
        format: "# ₴",
        thousands_sep: Some("&nbsp;"),
    },
    Currency {
        code: "CNY",
        amount: "12.7000",
        sort: 700,
        ru: "Юань",
        en: "Yuan Renminbi",
        format: "# ¥",
        thousands_sep: Some("&nbsp;"),
    },
];

/// When the seeded rates were last changed (`DATE_UPDATE`).
const DATE_UPDATE: &str = "2024-01-29T12:28:40+03:00";

/// Runs one of this module's methods; `None` when `method` is not one of them.
pub(crate) fn call(
    catalog: &Catalog,
    lang: Lang,
    method: &str,
    params: &Map<String, Value>,
) -> Option<Result<Output, ApiError>> {
    Some(match method {
        "crm.currency.list" => list(catalog, lang, params),
        "crm.currency.get" => {
            let id = param(params, "id").and_then(php_string).unwrap_or_default();
            seeded(catalog)
                .find(|c| c.code.eq_ignore_ascii_case(id.trim()))
                .map(|c| {
                    let mut row = row_json(catalog, c, lang);
                    row["LANG"] = json!({
                        "ru": localization(c, Lang::Ru),
                        "en": localization(c, Lang::En),
                    });
                    Output::one(row)
                })
                .ok_or_else(ApiError::not_found)
        }
        "crm.currency.fields" => Ok(Output::plain(fields())),
        "crm.currency.base.get" => Ok(Output::plain(json!(catalog.base_currency))),
        _ => return None,
    })
}

/// The seeded currencies the catalog has, in seed order.
fn seeded(catalog: &Catalog) -> impl Iterator<Item = &'static Currency> + '_ {
    CURRENCIES
        .iter()
        .filter(|c| catalog.currencies.contains(&c.code))
}

/// `crm.currency.list {order}`: `total` is always 0 (as the docs say), sorted by `SORT`
/// unless `order` names `sort` / `currency` / `amount` (any case).
fn list(catalog: &Catalog, lang: Lang, params: &Map<String, Value>) -> Result<Output, ApiError> {
    let order = array_param(params, "order")?.unwrap_or_default();
    let mut rows: Vec<&Currency> = seeded(catalog).collect();
    let keys: Vec<(String, bool)> = order
        .iter()
        .map(|(k, v)| {
            let desc = php_string(v).is_some_and(|d| d.eq_ignore_ascii_case("desc"));
            (k.to_ascii_uppercase(), desc)
        })
        .collect();
    rows.sort_by(|a, b| {
        for (key, desc) in &keys {
            let o = match key.as_str() {
                "SORT" => a.sort.cmp(&b.sort),
                "CURRENCY" => a.code.cmp(b.code),
                "AMOUNT" => rate(a).total_cmp(&rate(b)),
                _ => std::cmp::Ordering::Equal,
            };
            let o = if *desc { o.reverse() } else { o };
            if o.is_ne() {
                return o;
            }
        }
        a.sort.cmp(&b.sort)
    });
    let rows: Vec<Value> = rows
        .into_iter()
        .map(|c| row_json(catalog, c, lang))
        .collect();
    let returned = rows.len() as u64;
    let mut out = Output::listed(Value::Array(rows), 0);
    out.work.returned = returned;
    Ok(out)
}

fn rate(c: &Currency) -> f64 {
    c.amount.parse().unwrap_or(0.0)
}

/// One `crm_currency` in the portal's language.
fn row_json(catalog: &Catalog, c: &Currency, lang: Lang) -> Value {
    let base = c.code == catalog.base_currency;
    let mut row = json!({
        "CURRENCY": c.code,
        "AMOUNT_CNT": "1",
        "AMOUNT": if base { "1.0000" } else { c.amount },
        "SORT": c.sort.to_string(),
        "BASE": if base { "Y" } else { "N" },
    });
    let local = localization(c, lang);
    row["FULL_NAME"] = local["FULL_NAME"].clone();
    row["LID"] = json!(lang.to_string());
    for k in ["FORMAT_STRING", "DEC_POINT", "THOUSANDS_SEP", "DECIMALS"] {
        row[k] = local[k].clone();
    }
    row["DATE_UPDATE"] = json!(DATE_UPDATE);
    row
}

/// A `crm_currency_localization` (one language's entry of `LANG`).
fn localization(c: &Currency, lang: Lang) -> Value {
    json!({
        "FORMAT_STRING": c.format,
        "FULL_NAME": if lang == Lang::En { c.en } else { c.ru },
        "DEC_POINT": if lang == Lang::En { "." } else { "," },
        "THOUSANDS_SEP": c.thousands_sep,
        "DECIMALS": "2",
        "THOUSANDS_VARIANT": if c.thousands_sep.is_some() { "B" } else { "C" },
        "HIDE_ZERO": "Y",
    })
}

/// `crm.currency.fields`, as documented.
fn fields() -> Value {
    let rows = [
        ("CURRENCY", "string", false, false, "Currency"),
        ("AMOUNT_CNT", "int", false, false, "Face value"),
        ("AMOUNT", "double", false, false, "Exchange rate"),
        ("BASE", "char", true, false, "Base currency"),
        ("SORT", "int", false, false, "Sorting"),
        ("DATE_UPDATE", "datetime", true, false, "Date modified"),
        ("LID", "string", true, false, "Website"),
        (
            "FORMAT_STRING",
            "string",
            true,
            false,
            "Currency output format string",
        ),
        ("FULL_NAME", "string", true, false, "Name"),
        (
            "DEC_POINT",
            "string",
            true,
            false,
            "Decimal point for output",
        ),
        (
            "THOUSANDS_SEP",
            "string",
            true,
            false,
            "Custom thousands separator for output",
        ),
        ("DECIMALS", "int", true, false, "Number of decimal places"),
        (
            "LANG",
            "currency_localization",
            false,
            true,
            "Language binding",
        ),
    ];
    let mut m = Map::new();
    for (key, ty, read_only, multiple, title) in rows {
        let mut d = descriptor(ty, false, read_only, false, title);
        d.insert("isMultiple".into(), Value::Bool(multiple));
        m.insert(key.into(), Value::Object(d));
    }
    Value::Object(m)
}
