//! Product rows: `crm.item.productrow.fields/add/update/get/list/delete/set` (owner types `D`,
//! `L`, `Q`, `SI`, `T{hex}`) and the legacy `crm.deal.productrows.get/set` /
//! `crm.lead.productrows.get/set`, as the pages under `universal/product-rows/` and
//! `deals/` give them. `price` is the final unit price (discount and tax applied); the other
//! prices are derived from it: `priceExclusive` = price without tax, `priceNetto` = that
//! without the discount, `priceBrutto` = netto with tax, `discountSum` = netto − exclusive,
//! each rounded to cents as the docs' examples show. After every change the owner's
//! `OPPORTUNITY` becomes the sum of `price × quantity` (and `TAX_VALUE` the tax in it),
//! unless its `IS_MANUAL_OPPORTUNITY` is `Y`.

use std::sync::RwLock;

use serde_json::{Map, Number, Value, json};

use crate::attached::ProductRow;
use crate::entities::{DEAL, LEAD, QUOTE, SMART_INVOICE};
use crate::error::ApiError;
use crate::filter::split_prefix;
use crate::names::camel_case;
use crate::portal::{Caller, PAGE, Portal};
use crate::rest::{Output, array_param, param};
use crate::schema::descriptor;
use crate::values::{as_list, php_intval, php_string};

/// Discount type: an amount per unit.
const MONETARY: i64 = 1;
/// Discount type: a percentage (the default).
const PERCENTAGE: i64 = 2;

/// The prices derived from a row.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Prices {
    exclusive: f64,
    netto: f64,
    brutto: f64,
    discount_rate: f64,
    discount_sum: f64,
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

impl ProductRow {
    fn tax_factor(&self) -> f64 {
        1.0 + self.tax_rate.unwrap_or(0.0) / 100.0
    }

    fn prices(&self) -> Prices {
        let exclusive = round2(self.price / self.tax_factor());
        let (netto, rate, sum) = if self.discount_type_id == MONETARY {
            let netto = round2(exclusive + self.discount_sum);
            let rate = if netto == 0.0 {
                0.0
            } else {
                round2(self.discount_sum / netto * 100.0)
            };
            (netto, rate, self.discount_sum)
        } else if self.discount_rate >= 100.0 {
            (
                round2(exclusive + self.discount_sum),
                self.discount_rate,
                self.discount_sum,
            )
        } else {
            let netto = round2(exclusive / (1.0 - self.discount_rate / 100.0));
            (netto, self.discount_rate, round2(netto - exclusive))
        };
        Prices {
            exclusive,
            netto,
            brutto: round2(netto * self.tax_factor()),
            discount_rate: rate,
            discount_sum: sum,
        }
    }

    /// `productName`, or `[{id}]` when none was given (crm-deal-productrows-set.md).
    fn name(&self) -> String {
        if self.product_name.is_empty() {
            format!("[{}]", self.id)
        } else {
            self.product_name.clone()
        }
    }

    /// `type`: a simple product from the catalog (1), else a service-like free row (7).
    fn product_type(&self) -> i64 {
        if self.product_id > 0 { 1 } else { 7 }
    }

    /// The `crm.item.productrow.*` form (crm-item-productrow-list.md).
    fn item_json(&self) -> Value {
        let p = self.prices();
        json!({
            "id": self.id,
            "ownerId": self.owner_id,
            "ownerType": owner_code(self.owner_type),
            "productId": self.product_id,
            "productName": self.name(),
            "price": num(self.price),
            "priceAccount": num(self.price),
            "priceExclusive": num(p.exclusive),
            "priceNetto": num(p.netto),
            "priceBrutto": num(p.brutto),
            "quantity": num(self.quantity),
            "discountTypeId": self.discount_type_id,
            "discountRate": num(p.discount_rate),
            "discountSum": num(p.discount_sum),
            "taxRate": self.tax_rate.map(num),
            "taxIncluded": yn(self.tax_included),
            "customized": "Y",
            "measureCode": self.measure_code,
            "measureName": self.measure_name,
            "sort": self.sort,
            "xmlId": self.xml_id,
            "type": self.product_type(),
            "storeId": 0,
        })
    }

    /// The legacy `crm.deal.productrows.get` form (ids as strings, `PRICE_ACCOUNT` a
    /// two-decimal string).
    fn legacy_json(&self) -> Value {
        let p = self.prices();
        json!({
            "ID": self.id.to_string(),
            "OWNER_ID": self.owner_id.to_string(),
            "OWNER_TYPE": owner_code(self.owner_type),
            "PRODUCT_ID": self.product_id,
            "PRODUCT_NAME": self.name(),
            "ORIGINAL_PRODUCT_NAME": self.name(),
            "PRODUCT_DESCRIPTION": null,
            "PRICE": num(self.price),
            "PRICE_EXCLUSIVE": num(p.exclusive),
            "PRICE_NETTO": num(p.netto),
            "PRICE_BRUTTO": num(p.brutto),
            "PRICE_ACCOUNT": format!("{:.2}", self.price),
            "QUANTITY": num(self.quantity),
            "DISCOUNT_TYPE_ID": self.discount_type_id,
            "DISCOUNT_RATE": num(p.discount_rate),
            "DISCOUNT_SUM": num(p.discount_sum),
            "TAX_RATE": self.tax_rate.map(num),
            "TAX_INCLUDED": yn(self.tax_included),
            "CUSTOMIZED": "Y",
            "MEASURE_CODE": self.measure_code,
            "MEASURE_NAME": self.measure_name,
            "SORT": self.sort,
            "XML_ID": self.xml_id,
            "TYPE": self.product_type(),
            "STORE_ID": 0,
        })
    }
}

fn yn(b: bool) -> &'static str {
    if b { "Y" } else { "N" }
}

/// A JSON number: an integer when whole (`80000`), else cents (`66666.67`), as the docs'
/// examples print amounts.
fn num(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        return Value::from(x as i64);
    }
    let r = (x * 10_000.0).round() / 10_000.0;
    Number::from_f64(r).map_or(Value::Null, Value::Number)
}

/// The owner type's short code: `D`, `L`, `Q`, `SI`, `T{hex}`.
fn owner_code(type_id: u32) -> String {
    match type_id {
        LEAD => "L".into(),
        DEAL => "D".into(),
        QUOTE => "Q".into(),
        SMART_INVOICE => "SI".into(),
        t => format!("T{t:x}"),
    }
}

/// The `entityTypeId` of a short code, when it has product rows here.
fn owner_type(p: &Portal, code: &str) -> Option<u32> {
    let code = code.trim().to_ascii_uppercase();
    let t = match code.as_str() {
        "L" => LEAD,
        "D" => DEAL,
        "Q" => QUOTE,
        "SI" => SMART_INVOICE,
        other => u32::from_str_radix(other.strip_prefix('T')?, 16).ok()?,
    };
    let table = p.tables.get(&t)?;
    (matches!(t, LEAD | DEAL | QUOTE | SMART_INVOICE) || table.entity.smart.is_some()).then_some(t)
}

fn required(name: &str) -> ApiError {
    ApiError::new(
        400,
        "100",
        format!("Could not find value for parameter {{{name}}}"),
    )
}

fn not_supported() -> ApiError {
    ApiError::new(
        400,
        "ENTITY_TYPE_NOT_SUPPORTED",
        "Working with this type of objects is not supported",
    )
}

fn owner_not_found() -> ApiError {
    ApiError::new(400, "OWNER_NOT_FOUND", "Owner was not found")
}

fn row_not_found() -> ApiError {
    ApiError::new(400, "NOT_FOUND", "Item not found")
}

fn number_of(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        other => php_string(other)?.trim().replace(',', ".").parse().ok(),
    }
    .filter(|x: &f64| x.is_finite())
}

/// Applies the given fields (camelCase) to `row`. A discount type given without the value
/// it needs is the core's documented error.
fn apply(row: &mut ProductRow, f: &Map<String, Value>) -> Result<(), ApiError> {
    let text = |k: &str| param(f, k).and_then(php_string);
    let n = |k: &str| param(f, k).and_then(number_of);
    if let Some(v) = param(f, "productId") {
        row.product_id = php_intval(v).max(0);
    }
    if let Some(v) = text("productName") {
        row.product_name = v;
    }
    if let Some(v) = n("quantity") {
        row.quantity = v;
    }
    if let Some(v) = param(f, "taxRate") {
        row.tax_rate = number_of(v);
    }
    if let Some(v) = text("taxIncluded") {
        row.tax_included = v.eq_ignore_ascii_case("Y");
    }
    if let Some(v) = param(f, "measureCode") {
        row.measure_code = php_intval(v);
    }
    if let Some(v) = text("measureName") {
        row.measure_name = v;
    }
    if let Some(v) = param(f, "sort") {
        row.sort = php_intval(v);
    }
    if let Some(v) = text("xmlId") {
        row.xml_id = v;
    }
    let (rate, sum) = (n("discountRate"), n("discountSum"));
    if let Some(t) = param(f, "discountTypeId").map(php_intval) {
        let t = if t == MONETARY { MONETARY } else { PERCENTAGE };
        let core = |m: &str| ApiError::new(400, "ERROR_CORE", format!("{m}<br>"));
        if t == PERCENTAGE && rate.is_none() {
            return Err(core(
                "Discount Rate (DISCOUNT_RATE) is required if Percentage Discount Type (DISCOUNT_TYPE_ID) is defined",
            ));
        }
        if t == PERCENTAGE && rate.is_some_and(|r| r >= 100.0) && sum.is_none() {
            return Err(core(
                "Discount Sum (DISCOUNT_SUM) is required if Percentage Discount Type (DISCOUNT_TYPE_ID) is defined and Discount Rate (DISCOUNT_RATE) is 100%",
            ));
        }
        if t == MONETARY && sum.is_none() {
            return Err(core(
                "Discount Sum (DISCOUNT_SUM) is required if Monetary Discount Type (DISCOUNT_TYPE_ID) is defined",
            ));
        }
        row.discount_type_id = t;
    }
    if let Some(r) = rate {
        row.discount_rate = r.clamp(0.0, 100.0);
    }
    if let Some(s) = sum {
        row.discount_sum = s.max(0.0);
    }
    // The final price; without it, the first given of the other prices, turned into one.
    if let Some(price) = n("price") {
        row.price = price;
    } else if let Some(excl) = n("priceExclusive") {
        row.price = round2(excl * row.tax_factor());
    } else if let Some(netto) =
        n("priceNetto").or_else(|| n("priceBrutto").map(|b| b / row.tax_factor()))
    {
        let excl = if row.discount_type_id == MONETARY {
            netto - row.discount_sum
        } else {
            netto * (1.0 - row.discount_rate / 100.0)
        };
        row.price = round2(round2(excl) * row.tax_factor());
    }
    Ok(())
}

fn new_row(id: u32, owner_type: u32, owner_id: u32) -> ProductRow {
    ProductRow {
        id,
        owner_type,
        owner_id,
        product_id: 0,
        product_name: String::new(),
        price: 0.0,
        quantity: 1.0,
        discount_type_id: PERCENTAGE,
        discount_rate: 0.0,
        discount_sum: 0.0,
        tax_rate: None,
        tax_included: false,
        measure_code: 0,
        measure_name: String::new(),
        sort: 0,
        xml_id: String::new(),
    }
}

/// The owner's fields: its type (from `ownerType`) and `ownerId`, checked to exist.
fn owner(p: &Portal, f: &Map<String, Value>) -> Result<(u32, u32), ApiError> {
    let code = param(f, "ownerType")
        .and_then(php_string)
        .ok_or_else(|| required("ownerType"))?;
    let id = param(f, "ownerId")
        .map(php_intval)
        .ok_or_else(|| required("ownerId"))?;
    let t = owner_type(p, &code).ok_or_else(not_supported)?;
    let id = u32::try_from(id).map_err(|_| owner_not_found())?;
    if !p.table(t)?.store.rows.contains_key(&id) {
        return Err(owner_not_found());
    }
    Ok((t, id))
}

/// Replaces every row of an owner with `given` (each an object; `id` of one of the owner's
/// rows keeps that row's id). Returns the new rows' ids.
fn replace_all(
    p: &mut Portal,
    owner_type: u32,
    owner_id: u32,
    given: &[Map<String, Value>],
) -> Result<Vec<u32>, ApiError> {
    let old: Vec<u32> = p
        .product_rows
        .of(owner_type, owner_id)
        .map(|r| r.id)
        .collect();
    let mut rows = Vec::with_capacity(given.len());
    for f in given {
        let keep = param(f, "id")
            .map(php_intval)
            .and_then(|id| u32::try_from(id).ok())
            .filter(|id| old.contains(id) && !rows.iter().any(|r: &ProductRow| r.id == *id));
        let id = keep.unwrap_or_else(|| p.product_rows.take_id());
        let mut row = new_row(id, owner_type, owner_id);
        apply(&mut row, f)?;
        rows.push(row);
    }
    for id in old {
        p.product_rows.rows.remove(&id);
    }
    let ids = rows.iter().map(|r| r.id).collect();
    for r in rows {
        p.product_rows.rows.insert(r.id, r);
    }
    Ok(ids)
}

/// Recomputes the owner's `OPPORTUNITY` and `TAX_VALUE` from its rows, unless the amount is
/// manual.
fn recompute(
    p: &mut Portal,
    owner_type: u32,
    owner_id: u32,
    caller: Caller,
) -> Result<(), ApiError> {
    let record = p.get(owner_type, owner_id)?;
    if record.get("IS_MANUAL_OPPORTUNITY").and_then(Value::as_str) == Some("Y") {
        return Ok(());
    }
    let (mut total, mut tax) = (0.0, 0.0);
    for r in p.product_rows.of(owner_type, owner_id) {
        total += r.price * r.quantity;
        tax += (r.price - r.prices().exclusive) * r.quantity;
    }
    let mut fields = Map::new();
    fields.insert("OPPORTUNITY".into(), json!(format!("{:.2}", round2(total))));
    fields.insert("TAX_VALUE".into(), json!(format!("{:.2}", round2(tax))));
    p.update(owner_type, owner_id, &fields, caller)
}

fn fields_param(params: &Map<String, Value>) -> Result<Map<String, Value>, ApiError> {
    array_param(params, "fields")?.ok_or_else(|| required("fields"))
}

fn row_id(params: &Map<String, Value>) -> Result<u32, ApiError> {
    let id = param(params, "id").ok_or_else(|| required("id"))?;
    u32::try_from(php_intval(id)).map_err(|_| row_not_found())
}

/// The objects of a list parameter.
fn objects(v: Option<&Value>) -> Vec<Map<String, Value>> {
    v.map(as_list)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|r| r.as_object().cloned())
        .collect()
}

/// Runs `crm.item.productrow.<op>`.
pub(crate) fn call_item(
    portal: &RwLock<Portal>,
    op: &str,
    params: &Map<String, Value>,
    caller: Caller,
) -> Result<Output, ApiError> {
    let read = || portal.read().expect("portal lock");
    let write = || portal.write().expect("portal lock");
    match op {
        "fields" => Ok(Output::plain(json!({ "fields": fields() }))),
        "add" => {
            let f = fields_param(params)?;
            let mut p = write();
            let (t, owner_id) = owner(&p, &f)?;
            let id = p.product_rows.take_id();
            let mut row = new_row(id, t, owner_id);
            apply(&mut row, &f)?;
            let out = row.item_json();
            p.product_rows.rows.insert(id, row);
            recompute(&mut p, t, owner_id, caller)?;
            Ok(Output::write(json!({ "productRow": out })))
        }
        "update" => {
            let id = row_id(params)?;
            let f = fields_param(params)?;
            let mut p = write();
            let mut row = p
                .product_rows
                .rows
                .get(&id)
                .cloned()
                .ok_or_else(row_not_found)?;
            if let Some(k) = f.keys().find(|k| {
                matches!(camel_key(k).as_str(), "id" | "ownerId" | "ownerType")
                    || !FIELDS.iter().any(|d| d.0 == camel_key(k))
            }) {
                return Err(ApiError::new(
                    400,
                    "INVALID_ARG_VALUE",
                    format!("The field {k} is unknown or not available for update"),
                ));
            }
            apply(&mut row, &f)?;
            let (t, owner_id) = (row.owner_type, row.owner_id);
            let out = row.item_json();
            p.product_rows.rows.insert(id, row);
            recompute(&mut p, t, owner_id, caller)?;
            Ok(Output::write(json!({ "productRow": out })))
        }
        "get" => {
            let id = row_id(params)?;
            let p = read();
            let row = p.product_rows.rows.get(&id).ok_or_else(row_not_found)?;
            Ok(Output::one(json!({ "productRow": row.item_json() })))
        }
        "delete" => {
            let id = row_id(params)?;
            let mut p = write();
            let row = p.product_rows.rows.remove(&id).ok_or_else(row_not_found)?;
            recompute(&mut p, row.owner_type, row.owner_id, caller)?;
            Ok(Output::write(Value::Null))
        }
        "set" => {
            let mut p = write();
            let (t, owner_id) = owner(&p, params)?;
            let rows = param(params, "productRows").ok_or_else(|| required("productRows"))?;
            let given = objects(Some(rows));
            let ids = replace_all(&mut p, t, owner_id, &given)?;
            recompute(&mut p, t, owner_id, caller)?;
            let out: Vec<Value> = ids
                .iter()
                .filter_map(|id| p.product_rows.rows.get(id))
                .map(ProductRow::item_json)
                .collect();
            Ok(Output::write(json!({ "productRows": out })))
        }
        "list" => list(&read(), params),
        _ => Err(ApiError::method_not_found()),
    }
}

/// `crm.item.productrow.list`: `=ownerType` and `=ownerId` required; other keys of the row
/// with the documented prefixes; `order` by any field (id by default); pages of 50.
fn list(p: &Portal, params: &Map<String, Value>) -> Result<Output, ApiError> {
    let filter = array_param(params, "filter")?.ok_or_else(|| required("filter"))?;
    let mut owner_filter = Map::new();
    for (k, v) in &filter {
        let (_, name) = split_prefix(k);
        if matches!(name, "ownerType" | "ownerId") {
            owner_filter.insert(name.to_owned(), v.clone());
        }
    }
    let (t, owner_id) = owner(p, &owner_filter)?;
    let mut rows: Vec<Value> = p
        .product_rows
        .of(t, owner_id)
        .map(ProductRow::item_json)
        .filter(|r| matches(r, &filter))
        .collect();
    let order = array_param(params, "order")?.unwrap_or_default();
    for (k, dir) in order.iter().rev() {
        let desc = php_string(dir).is_some_and(|d| d.eq_ignore_ascii_case("desc"));
        rows.sort_by(|a, b| {
            let o = compare(&a[k.as_str()], &b[k.as_str()]);
            if desc { o.reverse() } else { o }
        });
    }
    let total = rows.len();
    let start = param(params, "start").map_or(0, php_intval).max(0) as usize;
    let offset = (start / PAGE) * PAGE;
    let page: Vec<Value> = rows.into_iter().skip(offset).take(PAGE).collect();
    let mut out = Output::listed(json!({ "productRows": page }), total);
    out.next = (offset + PAGE < total).then_some(offset + PAGE);
    Ok(out)
}

fn compare(a: &Value, b: &Value) -> std::cmp::Ordering {
    match (number_of(a), number_of(b)) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        _ => php_string(a)
            .unwrap_or_default()
            .cmp(&php_string(b).unwrap_or_default()),
    }
}

/// Whether a rendered row passes the filter (`=`, `!=`, `>`, `>=`, `<`, `<=`, `%`, `!%`).
fn matches(row: &Value, filter: &Map<String, Value>) -> bool {
    filter.iter().all(|(k, want)| {
        let (_, name) = split_prefix(k);
        let prefix = &k[..k.len() - name.len()];
        let got = &row[name];
        if got.is_null() && row.get(name).is_none() {
            return true;
        }
        let list = as_list(want);
        let eq = |w: &Value| compare(got, w).is_eq();
        let like = |w: &Value| {
            let g = php_string(got).unwrap_or_default().to_lowercase();
            let w = php_string(w).unwrap_or_default().to_lowercase();
            g.contains(w.trim_matches('%'))
        };
        match prefix {
            "" | "=" => list.iter().any(|w| eq(w)),
            "!" | "!=" => !list.iter().any(|w| eq(w)),
            ">" => compare(got, want).is_gt(),
            ">=" => compare(got, want).is_ge(),
            "<" => compare(got, want).is_lt(),
            "<=" => compare(got, want).is_le(),
            "%" | "=%" | "%=" => like(want),
            "!%" | "!=%" | "!%=" => !like(want),
            _ => true,
        }
    })
}

/// A key as given or in upper case, in camelCase.
fn camel_key(k: &str) -> String {
    if k.contains('_') || k.chars().all(|c| !c.is_ascii_lowercase()) {
        camel_case(k)
    } else {
        k.to_owned()
    }
}

/// The row fields `crm.item.productrow.fields` lists: name, type, required, read-only, title.
const FIELDS: [(&str, &str, bool, bool, &str); 21] = [
    ("id", "integer", false, true, "ID"),
    ("ownerId", "integer", true, false, "Owner ID"),
    ("ownerType", "string", true, false, "Owner Type"),
    ("productId", "integer", true, false, "Product"),
    ("productName", "string", false, false, "Product Name"),
    ("price", "double", false, false, "Price"),
    (
        "priceExclusive",
        "double",
        false,
        true,
        "Discounted price excluding tax",
    ),
    ("priceNetto", "double", false, true, "PRICE_NETTO"),
    ("priceBrutto", "double", false, true, "PRICE_BRUTTO"),
    ("quantity", "double", false, false, "Quantity"),
    ("discountTypeId", "integer", false, false, "Discount Type"),
    ("discountRate", "double", false, false, "Discount Amount"),
    ("discountSum", "double", false, false, "Discount Total"),
    ("taxRate", "double", false, false, "Tax"),
    ("taxIncluded", "char", false, false, "Tax included in price"),
    ("customized", "char", false, false, "Modified"),
    (
        "measureCode",
        "integer",
        false,
        false,
        "Unit of Measure Code",
    ),
    ("measureName", "string", false, false, "Unit of Measure"),
    ("sort", "integer", false, false, "Sorting"),
    ("type", "integer", false, true, "TYPE"),
    ("storeId", "integer", false, true, "STORE_ID"),
];

/// `crm.item.productrow.fields`, as documented.
fn fields() -> Value {
    let mut m = Map::new();
    for (name, ty, required, read_only, title) in FIELDS {
        m.insert(
            name.into(),
            Value::Object(descriptor(ty, required, read_only, false, title)),
        );
    }
    Value::Object(m)
}

/// Runs the legacy `crm.<entity>.productrows.<op>` of deals, leads and quotes; `None` for
/// another entity or operation.
pub(crate) fn call_legacy(
    portal: &RwLock<Portal>,
    entity_type_id: u32,
    op: &str,
    params: &Map<String, Value>,
    caller: Caller,
) -> Option<Result<Output, ApiError>> {
    if !matches!(entity_type_id, DEAL | LEAD | QUOTE)
        || !matches!(op, "productrows.get" | "productrows.set")
    {
        return None;
    }
    let id = param(params, "id")
        .map(php_intval)
        .and_then(|id| u32::try_from(id).ok())
        .filter(|&id| id > 0);
    let Some(id) = id else {
        return Some(Err(ApiError::legacy(
            "The parameter id is invalid or not defined.",
        )));
    };
    let exists = |p: &Portal| {
        p.tables
            .get(&entity_type_id)
            .is_some_and(|t| t.store.rows.contains_key(&id))
    };
    Some(if op == "productrows.get" {
        let p = portal.read().expect("portal lock");
        if !exists(&p) {
            return Some(Err(ApiError::legacy("Not found")));
        }
        let mut rows: Vec<&ProductRow> = p.product_rows.of(entity_type_id, id).collect();
        rows.sort_by_key(|r| (r.sort, r.id));
        let out: Vec<Value> = rows.into_iter().map(ProductRow::legacy_json).collect();
        let returned = out.len() as u64;
        let mut o = Output::plain(Value::Array(out));
        o.work.returned = returned;
        Ok(o)
    } else {
        let mut p = portal.write().expect("portal lock");
        if !exists(&p) {
            return Some(Err(ApiError::legacy("Not found")));
        }
        let given: Vec<Map<String, Value>> = objects(param(params, "rows"))
            .into_iter()
            .map(|r| r.into_iter().map(|(k, v)| (camel_case(&k), v)).collect())
            .collect();
        replace_all(&mut p, entity_type_id, id, &given)
            .and_then(|_| recompute(&mut p, entity_type_id, id, caller))
            .map(|()| Output::write(json!(true)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(price: f64, rate: f64, tax: Option<f64>) -> ProductRow {
        let mut r = new_row(1, DEAL, 1);
        r.price = price;
        r.discount_rate = rate;
        r.tax_rate = tax;
        r
    }

    #[test]
    fn derived_prices_match_the_documented_examples() {
        // crm-item-productrow-add.md: 80000 at 20 % off, 20 % tax included.
        let p = row(80000.0, 20.0, Some(20.0)).prices();
        assert_eq!(
            (p.exclusive, p.netto, p.brutto, p.discount_sum),
            (66666.67, 83333.34, 100000.01, 16666.67)
        );
        // crm-item-productrow-list.md: 90000 at 10 % off, 10 % tax.
        let p = row(90000.0, 10.0, Some(10.0)).prices();
        assert_eq!(
            (p.exclusive, p.netto, p.brutto, p.discount_sum),
            (81818.18, 90909.09, 100000.0, 9090.91)
        );
        // crm-deal-productrows-get.md: 899.1 at 10 % off, no tax.
        let p = row(899.1, 10.0, None).prices();
        assert_eq!(
            (p.exclusive, p.netto, p.brutto, p.discount_sum),
            (899.1, 999.0, 999.0, 99.9)
        );
        // A monetary discount: the rate follows from the sum.
        let mut r = row(900.0, 0.0, None);
        r.discount_type_id = MONETARY;
        r.discount_sum = 100.0;
        let p = r.prices();
        assert_eq!((p.netto, p.discount_rate), (1000.0, 10.0));
    }

    #[test]
    fn owner_codes_round_trip() {
        assert_eq!(owner_code(1220), "T4c4");
        assert_eq!(owner_code(DEAL), "D");
        assert_eq!(camel_case("DISCOUNT_TYPE_ID"), "discountTypeId");
        assert_eq!(camel_key("taxIncluded"), "taxIncluded");
        assert_eq!(camel_key("PRICE"), "price");
        assert_eq!(num(66666.67), json!(66666.67));
        assert_eq!(num(80000.0), json!(80000));
    }
}
