//! The steps that work on any portal: user fields, the snapshot, drift, the types the
//! generator would make, the standard fields through `StandardDeal`, and the clean-up.

use std::path::PathBuf;

use bitrix_codegen::diff::{Change, diff};
use bitrix_codegen::fetch::fetch_snapshot;
use bitrix_codegen::{EntityInfo, Level, Options, Renames, Snapshot};
use bitrix_runtime::types::DealId;
use bitrix_runtime::{Order, StandardDeal};
use serde_json::json;

use crate::report::{Failure, Outcome, Report, count, ensure, line};
use crate::{Created, DEMO_NAMES, DEMO_SNAPSHOT_PATH, Deal, DealField, DealPatch, Portal, id_of};

/// A user field this run created.
pub struct NewField {
    /// `UF_CRM_...`.
    pub code: String,
    /// Its `USER_TYPE_ID`.
    pub user_type: &'static str,
}

/// The enumeration items of the new enumeration field: Cyrillic, as real portals have them.
const PRIORITY_ITEMS: [&str; 3] = ["Низкий", "Средний", "Высокий"];

/// Creates a string and an enumeration user field with the untyped `Client::call`.
pub async fn create_user_fields(portal: &Portal, created: &mut Created) -> Outcome<Vec<NewField>> {
    // On a real portal a fixed name could collide with a field left by an interrupted run.
    let suffix = if portal.is_emulated() {
        String::new()
    } else {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        format!("_{secs}")
    };
    let (note, priority) = if portal.is_emulated() {
        (
            "QUICKSTART_NOTE".to_owned(),
            "QUICKSTART_PRIORITY".to_owned(),
        )
    } else {
        (format!("QS_NOTE{suffix}"), format!("QS_PRIORITY{suffix}"))
    };
    let specs = [
        (
            note,
            "string",
            json!({"ru": "Заметка (quickstart)", "en": "Note (quickstart)"}),
            None,
        ),
        (
            priority,
            "enumeration",
            json!({"ru": "Приоритет (quickstart)", "en": "Priority (quickstart)"}),
            Some(json!([
                {"VALUE": PRIORITY_ITEMS[0], "SORT": 10},
                {"VALUE": PRIORITY_ITEMS[1], "SORT": 20, "DEF": "Y"},
                {"VALUE": PRIORITY_ITEMS[2], "SORT": 30},
            ])),
        ),
    ];
    let mut fields = Vec::new();
    for (name, user_type, label, items) in specs {
        let mut spec = json!({
            "FIELD_NAME": name,
            "USER_TYPE_ID": user_type,
            "XML_ID": name,
            "EDIT_FORM_LABEL": label,
            "LIST_COLUMN_LABEL": label,
            "LIST_FILTER_LABEL": label,
        });
        if let Some(items) = &items {
            spec["LIST"] = items.clone();
        }
        let params = json!({ "fields": spec });
        let id = id_of(
            "crm.deal.userfield.add",
            &portal
                .client
                .call("crm.deal.userfield.add", &params)
                .await?,
        )?;
        let code = format!("UF_CRM_{name}");
        created.user_fields.push((id, code.clone()));
        let items = match items {
            Some(_) => format!(" with items {}", PRIORITY_ITEMS.join(", ")),
            None => String::new(),
        };
        line(format!(
            "crm.deal.userfield.add {code} ({user_type}{items}) -> user field id {id}"
        ));
        fields.push(NewField { code, user_type });
    }
    Ok(fields)
}

/// Fetches `crm.deal.fields` with the codegen library (what `bitrix-codegen snapshot` does),
/// prints the summary and writes the snapshot to a temporary file.
pub async fn snapshot(portal: &Portal) -> Outcome<Snapshot> {
    let webhook = portal.webhook.clone();
    // The codegen library uses a small blocking HTTP client (it is also used from build
    // scripts): run it off the async runtime's threads.
    let snapshot =
        tokio::task::spawn_blocking(move || fetch_snapshot(&webhook, &EntityInfo::deal()))
            .await
            .map_err(|e| Failure(format!("the snapshot task failed: {e}")))??;
    line(snapshot.summary());
    let path = snapshot_path(portal);
    let text = snapshot.to_json_pretty();
    let written = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| bitrix_codegen::build::write_if_changed(&path, &text));
    match written {
        Ok(changed) => line(format!(
            "snapshot {} ({} bytes{}); compare it with the committed one:\n  cargo run -p bitrix-codegen -- diff {DEMO_SNAPSHOT_PATH} {}",
            path.display(),
            count(text.len() as u64),
            if changed { "" } else { ", unchanged" },
            path.display()
        )),
        // Only a convenience: the run does not depend on the file.
        Err(e) => line(format!(
            "(could not write the snapshot to {}: {e})",
            path.display()
        )),
    }
    Ok(snapshot)
}

fn snapshot_path(portal: &Portal) -> PathBuf {
    let dir = if portal.is_emulated() {
        "emulated".to_owned()
    } else {
        let host = portal.webhook.host();
        host.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    std::env::temp_dir()
        .join("bitrix24-quickstart")
        .join(dir)
        .join("deal.json")
}

/// Prints the drift between the committed demo snapshot and the live portal. On the emulator
/// it must be exactly the user fields this run added.
pub fn drift(
    portal: &Portal,
    committed: &Snapshot,
    live: &Snapshot,
    new_fields: &[NewField],
) -> Outcome {
    let drift = diff(committed, live);
    let shown = if portal.is_emulated() { usize::MAX } else { 12 };
    let text = drift.to_string();
    for l in text.lines().take(shown.saturating_add(1)) {
        line(l);
    }
    if drift.changes.len() > shown {
        line(format!(
            "  ... and {} more (your portal is not the demo portal)",
            drift.changes.len() - shown
        ));
    }
    for field in new_fields {
        ensure(
            drift
                .changes
                .iter()
                .any(|c| matches!(c, Change::FieldAdded { code, .. } if *code == field.code)),
            || format!("the drift does not show the new user field {}", field.code),
        )?;
    }
    if portal.is_emulated() {
        ensure(drift.changes.len() == new_fields.len(), || {
            format!(
                "the emulated portal should differ from {DEMO_SNAPSHOT_PATH} only by the {} new user fields, but the drift is:\n{drift}",
                new_fields.len()
            )
        })?;
        line(format!(
            "`bitrix-codegen check --schema {DEMO_SNAPSHOT_PATH}` would exit 1 with this report: the types are stale until the snapshot is refreshed"
        ));
    }
    Ok(())
}

/// Prints what the generator makes of the live snapshot: the items, their fields, the
/// required fields, enums, warnings and the size of the rendered source.
pub fn types(portal: &Portal, live: &Snapshot, new_fields: &[NewField]) -> Outcome {
    let mut options = Options::new("Deal");
    options.schema_label = "the live portal".into();
    // The demo names fit the emulated demo portal; on another portal they would name fields
    // it does not have (an error, on purpose), so they are left out there.
    if portal.is_emulated() {
        let mut renames = Renames::new();
        renames
            .add_file(DEMO_NAMES, "schemas/demo/names.json")
            .map_err(Failure)?;
        options.renames = renames;
    }
    let (model, diagnostics) = bitrix_codegen::model::build(live, &options);
    let Some(model) = model else {
        let errors: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
        return Err(Failure(format!(
            "the generator refused the snapshot:\n{}",
            errors.join("\n")
        )));
    };
    let warnings: Vec<_> = diagnostics
        .iter()
        .filter(|d| d.level == Level::Warning)
        .collect();
    let n = &model.names;
    let fields = &model.fields;
    let on_create = fields.iter().filter(|f| f.on_create()).count();
    let on_update = fields.iter().filter(|f| f.on_update()).count();
    let required: Vec<String> = fields
        .iter()
        .filter(|f| f.required_on_create())
        .map(|f| format!("{} ({}, {})", f.ident, f.code, f.bitrix_type))
        .collect();
    let enums: Vec<String> = fields
        .iter()
        .filter_map(|f| f.enumeration.as_ref())
        .map(|e| {
            let variants: Vec<&str> = e.variants.iter().map(|(v, _, _)| v.as_str()).collect();
            format!("{} {{ {} }}", e.ident, variants.join(", "))
        })
        .collect();
    line(format!(
        "{:<12}{} fields, each an Option (a select may omit any)",
        n.read,
        fields.len()
    ));
    line(format!(
        "{:<12}{on_create} settable fields (read-only ones have no setter); required: {}",
        n.create,
        if required.is_empty() {
            "none".to_owned()
        } else {
            required.join(", ")
        }
    ));
    line(format!(
        "{:<12}{on_update} fields, each unset, set or cleared (read-only and immutable ones left out)",
        n.patch
    ));
    line(format!(
        "{:<12}{} variants for select, filter and order",
        n.field_enum,
        fields.len()
    ));
    line(format!("{:<12}{}", "enums", enums.len()));
    for e in &enums {
        line(format!("{:<12}{e}", ""));
    }
    line(format!(
        "{:<12}{}",
        "warnings",
        if warnings.is_empty() {
            "none".to_owned()
        } else {
            warnings.len().to_string()
        }
    ));
    for w in &warnings {
        line(format!("{:<12}{w}", ""));
    }
    let generated = bitrix_codegen::generate(live, &options).map_err(|errors| {
        Failure(format!(
            "the generator refused the snapshot: {}",
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        ))
    })?;
    let source = bitrix_codegen::render(&generated, "the live portal");
    line(format!(
        "{:<12}{} lines of Rust (`cargo run -p bitrix-codegen -- generate --schema <snapshot>` prints them)",
        "source",
        count(source.lines().count() as u64)
    ));
    for field in new_fields {
        let model = fields.iter().find(|f| f.code == field.code);
        ensure(model.is_some(), || {
            format!("the generated types lack the new field {}", field.code)
        })?;
        if field.user_type == "enumeration" {
            ensure(
                model.is_some_and(|m| {
                    m.enumeration
                        .as_ref()
                        .is_some_and(|e| e.variants.len() == PRIORITY_ITEMS.len())
                }),
                || format!("{} should become an enum of 3 variants", field.code),
            )?;
        }
    }
    if !new_fields.is_empty() {
        line(format!(
            "the compile-time `Deal` of this program comes from the committed {DEMO_SNAPSHOT_PATH}, so it does not know the new fields yet"
        ));
    }
    Ok(())
}

/// Portal-independent code: works with any portal's generated deal type.
fn describe<D: StandardDeal>(deal: &D) -> String {
    let amount = match (deal.opportunity(), deal.currency_id()) {
        (Some(a), Some(c)) => format!("{a} {c}"),
        (Some(a), None) => a.to_string(),
        _ => "-".into(),
    };
    format!(
        "#{:<7} {:<14} {:>18}  {}",
        deal.deal_id().map_or("?".into(), |id| id.to_string()),
        deal.stage_id().map_or("-", |s| s.as_str()),
        amount,
        deal.title().unwrap_or("(no title)")
    )
}

/// Your portal: a typed list of standard fields, and a write round trip of one deal with
/// standard fields only.
pub async fn standard_fields(
    portal: &Portal,
    live: &Snapshot,
    created: &mut Created,
    report: &mut Report,
) -> Outcome {
    let client = &portal.client;
    report.step("Typed list of standard fields through StandardDeal", None);
    line("typed CRUD on user fields needs types generated from your portal's own snapshot:");
    line("  cargo run -p bitrix-codegen -- snapshot --out schemas/my-portal/deal.json");
    line("  #[bitrix_entity(schema = \"schemas/my-portal/deal.json\")] pub struct Deal;");
    let query = client
        .list::<Deal>()
        .select([
            DealField::Title,
            DealField::StageId,
            DealField::Opportunity,
            DealField::CurrencyId,
        ])
        .order(Deal::ID, Order::Desc);
    let page = query.first_page().await?;
    line(format!(
        "{} deals on the portal; the newest:",
        page.total.map_or_else(|| "?".into(), count),
    ));
    for deal in page.items.iter().take(5) {
        line(format!("  {}", describe(deal)));
    }

    report.step("Create, read, update a deal (standard fields)", None);
    let required: Vec<String> = live
        .descriptors()
        .filter(|d| d.is_required() && !d.is_read_only())
        .map(|d| format!("{} ({})", d.code, d.label().unwrap_or(d.title())))
        .collect();
    if !required.is_empty() {
        line(format!(
            "skipped: your portal requires {}; a deal without them would be refused. Generate types from your portal's snapshot: its NewDeal builder makes these fields compile-time requirements",
            required.join(", ")
        ));
        return Ok(());
    }
    let title = "bitrix24-typed quickstart (safe to delete)";
    let params = json!({
        "fields": {"TITLE": title, "COMMENTS": "created by cargo run -p quickstart"},
        "params": {"REGISTER_SONET_EVENT": "N"},
    });
    line(format!("sent crm.deal.add {params}"));
    let id = DealId(id_of(
        "crm.deal.add",
        &client.call("crm.deal.add", &params).await?,
    )?);
    created.deals.push(id);
    let deal: Deal = client.get::<Deal>(id).await?;
    line(format!("came back {}", describe(&deal)));
    ensure(deal.title() == Some(title), || {
        format!("deal {id} came back with the title {:?}", deal.title())
    })?;
    let patch = DealPatch::new()
        .title(format!("{title} - updated"))
        .clear_comments();
    line(format!(
        "sent crm.deal.update fields {}",
        serde_json::to_string(&patch).unwrap_or_default()
    ));
    client.update(id, &patch).await?;
    let deal: Deal = client.get::<Deal>(id).await?;
    line(format!("came back {}", describe(&deal)));
    ensure(
        deal.title().is_some_and(|t| t.ends_with("updated")) && deal.comments().is_none(),
        || format!("deal {id} did not take the update: {:?}", deal.title()),
    )
}

/// Deletes the deals and user fields this run created. On the emulator, also checks that the
/// portal matches the committed snapshot again.
pub async fn clean_up(portal: &Portal, created: &Created) -> Outcome {
    let client = &portal.client;
    let mut problems = Vec::new();
    for &id in &created.deals {
        if let Err(e) = client.delete::<Deal>(id).await {
            problems.push(format!("deal {id}: {e}"));
        }
    }
    for &id in &created.deals {
        match client.get::<Deal>(id).await {
            Err(e) if e.is_not_found() => {}
            Ok(_) => problems.push(format!("deal {id} still exists after crm.deal.delete")),
            Err(e) => problems.push(format!("deal {id}: {e}")),
        }
    }
    line(format!("deleted {} deal(s)", created.deals.len()));
    for (id, code) in &created.user_fields {
        match client
            .call("crm.deal.userfield.delete", json!({ "id": id }))
            .await
        {
            Ok(_) => line(format!("crm.deal.userfield.delete {code} (id {id})")),
            Err(e) => problems.push(format!(
                "user field {code} (id {id}): {e}; delete it in the CRM settings"
            )),
        }
    }
    if portal.is_emulated() && problems.is_empty() {
        let webhook = portal.webhook.clone();
        let now =
            tokio::task::spawn_blocking(move || fetch_snapshot(&webhook, &EntityInfo::deal()))
                .await
                .map_err(|e| Failure(format!("the snapshot task failed: {e}")))??;
        let committed = Snapshot::parse(crate::DEMO_SNAPSHOT, &EntityInfo::deal())?;
        let drift = diff(&committed, &now);
        line(format!("drift against {DEMO_SNAPSHOT_PATH}: {drift}").trim_end());
        ensure(drift.is_empty(), || {
            "the portal should match the committed snapshot again".to_owned()
        })?;
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Failure(format!(
            "the clean-up failed:\n  {}",
            problems.join("\n  ")
        )))
    }
}
