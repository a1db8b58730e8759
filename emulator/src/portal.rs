//! The portal's data and the deal operations with the server's semantics: defaults on add,
//! silently dropped keys, stage rules, derived fields, list paging.

use std::collections::BTreeMap;

use chrono::FixedOffset;
use serde_json::{Map, Value};

use crate::catalog::{Catalog, Semantic};
use crate::config::Work;
use crate::entities::{DEAL, Entity, Missing};
use crate::error::ApiError;
use crate::filter::{Filter, parse_order, sort_ids};
use crate::lang::Lang;
use crate::multifields::{self, Entry};
use crate::schema::{FieldDef, Kind, Layout, Slot};
use crate::store::{Cell, Files, Row, Store};
use crate::values::{
    InputCtx, Parsed, RenderCtx, days_of, is_empty_input, parse_value, push_json_str, write_multi,
    write_single,
};

/// Rows per page of every list method.
pub(crate) const PAGE: usize = 50;

/// Everything the portal stores: one [`Table`] per CRM entity type, and what they share.
#[derive(Debug)]
pub(crate) struct Portal {
    /// The entity tables by `entityTypeId`.
    pub tables: BTreeMap<u32, Table>,
    pub catalog: Catalog,
    /// Uploaded files of every entity (one id space, as on the portal).
    pub files: Files,
    pub tz: FixedOffset,
    /// Escape `/` in JSON output.
    pub slashes: bool,
    /// The language of the portal's own texts.
    pub lang: Lang,
    /// `CODE` of the OAuth application (`app.info`): its client id, as for a local app.
    pub app_code: String,
    /// Sort indexes and primary flags of contact bindings (the contacts are `CONTACT_IDS`).
    pub contact_bindings: crate::attached::Bindings,
    /// Product rows of every owner.
    pub product_rows: crate::attached::ProductRows,
}

/// One CRM entity type's fields and records.
#[derive(Debug)]
pub(crate) struct Table {
    pub entity: Entity,
    pub layout: Layout,
    pub store: Store,
}

/// What a table's operations read from the portal around it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Env<'a> {
    pub catalog: &'a Catalog,
    pub tz: FixedOffset,
    pub slashes: bool,
    pub lang: Lang,
}

/// The legacy error for a missing record.
fn missing(m: Missing) -> ApiError {
    ApiError::new(400, m.code, m.message)
}

/// A list call's answer.
#[derive(Debug)]
pub(crate) struct ListPage<R = String> {
    /// Rows as JSON object text (or as the caller rendered them).
    pub rows: Vec<R>,
    pub total: usize,
    pub next: Option<usize>,
    pub work: Work,
    /// Rows the filter examined.
    pub scanned: u64,
}

/// Who is calling (ASSIGNED_BY_ID defaults, CREATED_BY_ID, ...).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Caller {
    pub user_id: i64,
    /// An OAuth application rather than the incoming webhook (`app.info` tells them apart).
    pub app: bool,
}

impl Portal {
    /// A portal with these deal fields and no records.
    pub(crate) fn new(deal_layout: Layout, tz: FixedOffset) -> Portal {
        let mut tables = BTreeMap::new();
        tables.insert(
            DEAL,
            Table {
                entity: Entity::standard(DEAL).expect("deals are a standard entity"),
                layout: deal_layout,
                store: Store::default(),
            },
        );
        Portal {
            tables,
            catalog: Catalog::demo(),
            files: Files::default(),
            tz,
            slashes: true,
            lang: Lang::Ru,
            app_code: String::new(),
            contact_bindings: Default::default(),
            product_rows: Default::default(),
        }
    }

    /// Adds (or replaces) the table of an entity type, without records.
    pub(crate) fn install(&mut self, entity: Entity, mut layout: Layout) {
        layout.descriptor_order = entity.type_id != DEAL;
        self.tables.insert(
            entity.type_id,
            Table {
                entity,
                layout,
                store: Store::default(),
            },
        );
    }

    /// The table behind a legacy method prefix (`crm.lead`).
    pub(crate) fn legacy_table(&self, prefix: &str) -> Option<u32> {
        self.tables
            .values()
            .find(|t| t.entity.legacy == Some(prefix))
            .map(|t| t.entity.type_id)
    }

    /// What the tables read from the portal.
    pub(crate) fn env(&self) -> Env<'_> {
        Env {
            catalog: &self.catalog,
            tz: self.tz,
            slashes: self.slashes,
            lang: self.lang,
        }
    }

    /// The table of an entity type.
    pub(crate) fn table(&self, entity_type_id: u32) -> Result<&Table, ApiError> {
        self.tables
            .get(&entity_type_id)
            .ok_or_else(ApiError::not_found)
    }

    /// The table of an entity type, for writing.
    pub(crate) fn table_mut(&mut self, entity_type_id: u32) -> Result<&mut Table, ApiError> {
        self.tables
            .get_mut(&entity_type_id)
            .ok_or_else(ApiError::not_found)
    }

    /// The deals.
    pub(crate) fn deals(&self) -> &Table {
        &self.tables[&DEAL]
    }

    /// The deals, for writing.
    pub(crate) fn deals_mut(&mut self) -> &mut Table {
        self.tables
            .get_mut(&DEAL)
            .expect("the deal table always exists")
    }

    /// A table to write, the portal around it and the files store, borrowed apart.
    fn parts(
        &mut self,
        entity_type_id: u32,
    ) -> Result<(&mut Table, Env<'_>, &mut Files), ApiError> {
        let Portal {
            tables,
            catalog,
            files,
            tz,
            slashes,
            lang,
            ..
        } = self;
        let env = Env {
            catalog,
            tz: *tz,
            slashes: *slashes,
            lang: *lang,
        };
        let table = tables
            .get_mut(&entity_type_id)
            .ok_or_else(ApiError::not_found)?;
        Ok((table, env, files))
    }

    /// `crm.<entity>.add`.
    pub(crate) fn add(
        &mut self,
        entity_type_id: u32,
        fields: &Map<String, Value>,
        caller: Caller,
    ) -> Result<u32, ApiError> {
        let (table, env, files) = self.parts(entity_type_id)?;
        table.add(&env, files, fields, caller)
    }

    /// `crm.<entity>.update`.
    pub(crate) fn update(
        &mut self,
        entity_type_id: u32,
        id: u32,
        fields: &Map<String, Value>,
        caller: Caller,
    ) -> Result<(), ApiError> {
        let (table, env, files) = self.parts(entity_type_id)?;
        table.update(&env, files, id, fields, caller)
    }

    /// Moves a deal to another pipeline (`crm.item.update` with `categoryId`; the legacy
    /// update cannot): the given stage if it is one of the pipeline's, else its first stage.
    /// An unknown pipeline or the deal's own is left alone.
    pub(crate) fn move_deal(
        &mut self,
        id: u32,
        category: i64,
        stage: Option<&str>,
        caller: Caller,
    ) -> Result<(), ApiError> {
        let (table, env, _) = self.parts(DEAL)?;
        let Ok(category) = u32::try_from(category) else {
            return Ok(());
        };
        if !env.catalog.has_category(category) {
            return Ok(());
        }
        let Some(mut row) = table.store.rows.get(&id).cloned() else {
            return Err(missing(table.entity.update_missing));
        };
        let std = table.layout.std.clone();
        let current = table.cell(&row, std.category_id);
        if !current.is_null() && current.as_int() == i64::from(category) {
            return Ok(());
        }
        let Some(stage) = stage
            .filter(|s| env.catalog.stage_in(category, s).is_some())
            .or_else(|| {
                env.catalog
                    .first_stage(category)
                    .map(|s| s.status_id.as_str())
            })
            .map(str::to_owned)
        else {
            return Ok(());
        };
        let prev = table.cell(&row, std.stage_id);
        table.set(&mut row, std.previous_stage_id, prev);
        table.set(&mut row, std.category_id, Cell::int(i64::from(category)));
        let c = table.text(&stage);
        table.set(&mut row, std.stage_id, c);
        table.derive_stage(&env, &mut row, category, &stage);
        let now = Table::now();
        table.set(&mut row, std.moved_time, Cell::int(now));
        table.set(&mut row, std.moved_by_id, Cell::int(caller.user_id));
        table.set(&mut row, std.date_modify, Cell::int(now));
        table.set(&mut row, std.modify_by_id, Cell::int(caller.user_id));
        table.store.rows.insert(id, row);
        Ok(())
    }

    /// `crm.<entity>.delete`.
    pub(crate) fn delete(&mut self, entity_type_id: u32, id: u32) -> Result<(), ApiError> {
        self.table_mut(entity_type_id)?.delete(id)?;
        // The record's product rows and binding flags go with it.
        self.product_rows.remove_owner(entity_type_id, id);
        self.contact_bindings.remove(&(entity_type_id, id));
        Ok(())
    }

    /// `crm.<entity>.get`.
    pub(crate) fn get(&self, entity_type_id: u32, id: u32) -> Result<Value, ApiError> {
        self.table(entity_type_id)?.get(&self.env(), id)
    }

    /// `crm.<entity>.list`.
    pub(crate) fn list(
        &self,
        entity_type_id: u32,
        select: Option<&Value>,
        filter: &Map<String, Value>,
        order: &Map<String, Value>,
        start: i64,
    ) -> Result<ListPage, ApiError> {
        Ok(self
            .table(entity_type_id)?
            .list(&self.env(), select, filter, order, start))
    }
}

impl Table {
    fn now() -> i64 {
        crate::clock::now()
    }

    fn today(env: &Env) -> i64 {
        let now = chrono::DateTime::from_timestamp(crate::clock::now(), 0).unwrap_or_default();
        days_of(now.with_timezone(&env.tz).date_naive())
    }

    fn set(&self, row: &mut Row, index: Option<usize>, cell: Cell) {
        if let Some(i) = index {
            if let Slot::Single(s) = self.layout.fields[i].slot {
                row.set_single(s, cell);
            }
        }
    }

    fn cell(&self, row: &Row, index: Option<usize>) -> Cell {
        match index.map(|i| self.layout.fields[i].slot) {
            Some(Slot::Single(s)) => row.single(s),
            _ => Cell::NULL,
        }
    }

    fn text(&mut self, s: &str) -> Cell {
        Cell::text(self.store.strings.intern(s))
    }

    fn cell_text(&self, row: &Row, index: Option<usize>) -> Option<&str> {
        let c = self.cell(row, index);
        (!c.is_null()).then(|| self.store.strings.get(c.as_text()))
    }

    fn files_of(&self, f: &FieldDef, row: Option<&Row>) -> Vec<i64> {
        if f.kind != Kind::File {
            return Vec::new();
        }
        let Some(row) = row else { return Vec::new() };
        match f.slot {
            Slot::Single(s) => {
                let c = row.single(s);
                if c.is_null() {
                    Vec::new()
                } else {
                    vec![c.as_int()]
                }
            }
            Slot::Multi(s) => row.multi(s).iter().map(|c| c.as_int()).collect(),
            Slot::Key => Vec::new(),
        }
    }

    /// Applies `fields` to `row`; returns the indexes of the fields written. Unknown, read-only
    /// and (on update) immutable keys are dropped silently, like the server does.
    fn apply(
        &mut self,
        env: &Env,
        files: &mut Files,
        row: &mut Row,
        fields: &Map<String, Value>,
        update: bool,
    ) -> Result<Vec<usize>, ApiError> {
        let mut written = Vec::new();
        let contact_ids_given = self
            .layout
            .std
            .contact_ids
            .is_some_and(|i| fields.contains_key(&self.layout.fields[i].code));
        for (code, value) in fields {
            let Some(index) = self.layout.index(code) else {
                continue;
            };
            let f = &self.layout.fields[index];
            if f.read_only || f.kind == Kind::Id || (update && f.immutable) {
                continue;
            }
            if update && f.required && is_empty_input(value) {
                return Err(ApiError::legacy(env.lang.required_field(f.label())));
            }
            if f.kind == Kind::Multifield {
                if let Slot::Multi(s) = f.slot {
                    self.write_multifield(row, s, index, value);
                    written.push(index);
                }
                continue;
            }
            // CONTACT_ID is the first of CONTACT_IDS: setting it alone binds that contact.
            if let (true, Some(ids_index)) = (
                Some(index) == self.layout.std.contact_id,
                self.layout.std.contact_ids,
            ) {
                if !contact_ids_given {
                    if let Slot::Multi(s) = self.layout.fields[ids_index].slot {
                        let id = crate::values::php_intval(value);
                        row.set_multi(s, if id > 0 { vec![Cell::int(id)] } else { vec![] });
                        written.push(ids_index);
                    }
                }
                continue;
            }
            let current = self.files_of(f, Some(row));
            let mut ctx = InputCtx {
                strings: &mut self.store.strings,
                files: &mut *files,
                catalog: env.catalog,
                tz: env.tz,
                lang: env.lang,
            };
            let f = &self.layout.fields[index];
            match parse_value(f, value, &mut ctx, &current)? {
                Parsed::Skip => {}
                Parsed::Single(c) => {
                    if let Slot::Single(s) = f.slot {
                        row.set_single(s, c);
                        written.push(index);
                    }
                }
                Parsed::Multi(cells) => {
                    if let Slot::Multi(s) = f.slot {
                        row.set_multi(s, cells);
                        written.push(index);
                    }
                }
            }
        }
        Ok(written)
    }

    /// Puts a smart-process record into one of its pipelines (`entity.pipelines`; deals use
    /// the catalog): an unknown pipeline is the default one (on update: the record's own), a
    /// stage outside the pipeline is its first stage (on update: the old stage when the
    /// pipeline did not change); a stage change sets the previous stage and the move stamps.
    fn place_in_pipeline(
        &mut self,
        row: &mut Row,
        old: Option<(Cell, Option<String>)>,
        caller: Caller,
        now: i64,
    ) {
        if self.entity.pipelines.is_empty() {
            return;
        }
        let std = self.layout.std.clone();
        let pipeline_of = |c: Cell| {
            (!c.is_null())
                .then(|| {
                    self.entity
                        .pipelines
                        .iter()
                        .position(|p| i64::from(p.category.id) == c.as_int())
                })
                .flatten()
        };
        let old_pipeline = old.as_ref().and_then(|(c, _)| pipeline_of(*c));
        let default = self.entity.pipelines.iter().position(|p| p.is_default);
        let chosen = pipeline_of(self.cell(row, std.category_id))
            .or(old_pipeline)
            .or(default)
            .unwrap_or(0);
        let pipeline = &self.entity.pipelines[chosen];
        let old_stage = old.as_ref().and_then(|(_, s)| s.clone());
        let given = self.cell_text(row, std.stage_id).map(str::to_owned);
        let stage = given
            .filter(|s| pipeline.stage(s).is_some())
            .or_else(|| old_stage.clone().filter(|s| pipeline.stage(s).is_some()))
            .or_else(|| pipeline.stages.first().map(|s| s.status_id.clone()));
        let category = Cell::int(i64::from(pipeline.category.id));
        self.set(row, std.category_id, category);
        if let Some(stage) = stage {
            let c = self.text(&stage);
            self.set(row, std.stage_id, c);
            if let (Some(_), Some(prev)) = (&old, &old_stage) {
                if *prev != stage {
                    let p = self.text(prev);
                    self.set(row, std.previous_stage_id, p);
                    self.set(row, std.moved_time, Cell::int(now));
                    self.set(row, std.moved_by_id, Cell::int(caller.user_id));
                }
            }
        }
    }

    /// Applies a multifield write (see [`crate::multifields`]) and the `HAS_PHONE`-style
    /// flags that follow it.
    fn write_multifield(&mut self, row: &mut Row, slot: u16, index: usize, value: &Value) {
        let current: Vec<Entry> = row
            .multi(slot)
            .iter()
            .map(|c| Entry::decode(self.store.strings.get(c.as_text())))
            .collect();
        let code = self.layout.fields[index].code.clone();
        let entries = multifields::apply(&code, current, value, &mut self.store.next_multifield_id);
        let flag = match code.as_str() {
            "PHONE" => Some(("HAS_PHONE", !entries.is_empty())),
            "EMAIL" => Some(("HAS_EMAIL", !entries.is_empty())),
            "IM" => Some((
                "HAS_IMOL",
                entries
                    .iter()
                    .any(|e| matches!(e.value_type.as_str(), "IMOL" | "OPENLINE")),
            )),
            _ => None,
        };
        let cells = entries
            .iter()
            .map(|e| Cell::text(self.store.strings.intern(&e.encode())))
            .collect();
        row.set_multi(slot, cells);
        if let Some((flag, on)) = flag {
            let i = self.layout.index(flag);
            self.set(row, i, Cell::int(i64::from(on)));
        }
    }

    /// Sets the stage-derived fields (semantic, IS_NEW, CLOSED) for `stage` of `category`.
    fn derive_stage(&mut self, env: &Env, row: &mut Row, category: u32, stage: &str) {
        let std = self.layout.std.clone();
        let (semantic, is_first) = match env.catalog.stage_in(category, stage) {
            Some(s) => (
                s.semantic,
                env.catalog
                    .first_stage(category)
                    .is_some_and(|f| f.status_id == s.status_id),
            ),
            None => (Semantic::Process, false),
        };
        let letter = self.text(semantic.letter());
        self.set(row, std.stage_semantic_id, letter);
        self.set(row, std.is_new, Cell::int(i64::from(is_first)));
        self.set(
            row,
            std.closed,
            Cell::int(i64::from(semantic != Semantic::Process)),
        );
    }

    /// `crm.deal.add`.
    pub(crate) fn add(
        &mut self,
        env: &Env,
        files: &mut Files,
        fields: &Map<String, Value>,
        caller: Caller,
    ) -> Result<u32, ApiError> {
        let mut row = Row::with_singles(self.layout.singles);
        let written = self.apply(env, files, &mut row, fields, false)?;
        let std = self.layout.std.clone();
        let now = Self::now();
        let today = Self::today(env);
        let given = |i: Option<usize>| i.is_some_and(|i| written.contains(&i));
        self.place_in_pipeline(&mut row, None, caller, now);

        // Pipeline and stage: an unknown pipeline is the default one, a stage of another
        // pipeline is the pipeline's first stage.
        let deal = self.entity.type_id == DEAL;
        let mut category = 0u32;
        if let (true, Some(ci)) = (deal, std.category_id) {
            let c = self.cell(&row, Some(ci));
            if !c.is_null() && c.as_int() >= 0 && env.catalog.has_category(c.as_int() as u32) {
                category = c.as_int() as u32;
            }
            self.set(&mut row, Some(ci), Cell::int(i64::from(category)));
        }
        if deal && std.stage_id.is_some() {
            let stage = self
                .cell_text(&row, std.stage_id)
                .filter(|s| env.catalog.stage_in(category, s).is_some())
                .map(str::to_owned)
                .or_else(|| {
                    env.catalog
                        .first_stage(category)
                        .map(|s| s.status_id.clone())
                });
            if let Some(stage) = stage {
                let c = self.text(&stage);
                self.set(&mut row, std.stage_id, c);
                self.derive_stage(env, &mut row, category, &stage);
            }
        }
        // The first item of the field's directory (a deal snapshot without `statusType`:
        // the deal directories).
        let defaulted = [
            (std.type_id, "DEAL_TYPE"),
            (std.source_id, "SOURCE"),
            (self.layout.index("STATUS_ID"), "STATUS"),
            (self.layout.index("COMPANY_TYPE"), "COMPANY_TYPE"),
        ];
        for (index, fallback) in defaulted {
            let Some(list) = index.map(|i| {
                self.layout.fields[i]
                    .status_entity
                    .clone()
                    .unwrap_or_else(|| fallback.to_owned())
            }) else {
                continue;
            };
            if !given(index) || self.cell(&row, index).is_null() {
                if let Some(first) = env.catalog.values(&list).first().map(|s| (*s).to_owned()) {
                    let c = self.text(&first);
                    self.set(&mut row, index, c);
                }
            }
        }
        if self.cell(&row, std.currency_id).is_null() {
            let base = env.catalog.base_currency;
            let c = self.text(base);
            self.set(&mut row, std.currency_id, c);
        }
        if self.cell(&row, std.company_id).is_null() {
            self.set(&mut row, std.company_id, Cell::int(0));
        }
        if !given(std.begindate) || self.cell(&row, std.begindate).is_null() {
            self.set(&mut row, std.begindate, Cell::int(today));
        }
        if !given(std.closedate) || self.cell(&row, std.closedate).is_null() {
            self.set(&mut row, std.closedate, Cell::int(today + 7));
        }
        if self.cell(&row, std.assigned_by_id).is_null()
            || self.cell(&row, std.assigned_by_id).as_int() <= 0
        {
            self.set(&mut row, std.assigned_by_id, Cell::int(caller.user_id));
        }
        for i in [
            std.created_by_id,
            std.modify_by_id,
            std.moved_by_id,
            std.last_activity_by,
        ] {
            self.set(&mut row, i, Cell::int(caller.user_id));
        }
        for i in [
            std.date_create,
            std.date_modify,
            std.moved_time,
            std.last_activity_time,
        ] {
            self.set(&mut row, i, Cell::int(now));
        }
        // Standard Y/N fields default to N, except OPENED (Y).
        // Other standard fields and user fields get their defaults.
        for index in 0..self.layout.fields.len() {
            let f = &self.layout.fields[index];
            let Slot::Single(slot) = f.slot else { continue };
            if !row.single(slot).is_null() {
                continue;
            }
            if matches!(f.kind, Kind::Char | Kind::Bool) && !f.uf {
                let yes = matches!(f.code.as_str(), "OPENED" | "EXPORT");
                row.set_single(slot, Cell::int(i64::from(yes)));
            } else if f.kind == Kind::Cents {
                row.set_single(slot, Cell::int(0));
            } else if f.uf {
                if let Some(c) = self.uf_default(env, files, index) {
                    row.set_single(slot, c);
                }
            }
        }
        for index in 0..self.layout.fields.len() {
            let f = &self.layout.fields[index];
            if f.required && self.is_empty(f, &row) {
                return Err(ApiError::legacy(env.lang.required_field(f.label())));
            }
        }
        let id = self.store.next_id;
        self.store.next_id += 1;
        let title_empty = self.cell_text(&row, std.title).is_none_or(str::is_empty);
        if let (true, Some(title)) = (
            std.title.is_some() && title_empty,
            self.entity.default_title(env.lang, id),
        ) {
            let c = self.text(&title);
            self.set(&mut row, std.title, c);
        }
        self.store.rows.insert(id, row);
        Ok(id)
    }

    fn uf_default(&mut self, env: &Env, files: &mut Files, index: usize) -> Option<Cell> {
        let f = &self.layout.fields[index];
        if f.kind == Kind::Enum {
            return f
                .items()
                .iter()
                .find(|i| i.def)
                .map(|i| Cell::int(i64::from(i.id)));
        }
        let default = f
            .uf_meta
            .as_ref()?
            .settings
            .get("DEFAULT_VALUE")
            .filter(|v| !is_empty_input(v) && !v.is_object())?
            .clone();
        let f = f.clone();
        let mut ctx = InputCtx {
            strings: &mut self.store.strings,
            files: &mut *files,
            catalog: env.catalog,
            tz: env.tz,
            lang: env.lang,
        };
        match parse_value(&f, &default, &mut ctx, &[]) {
            Ok(Parsed::Single(c)) if !c.is_null() => Some(c),
            _ => None,
        }
    }

    fn is_empty(&self, f: &FieldDef, row: &Row) -> bool {
        match f.slot {
            Slot::Key => false,
            Slot::Single(s) => {
                let c = row.single(s);
                c.is_null()
                    || (f.kind == Kind::Text && self.store.strings.get(c.as_text()).is_empty())
            }
            Slot::Multi(s) => row.multi(s).is_empty(),
        }
    }

    /// `crm.deal.update`.
    pub(crate) fn update(
        &mut self,
        env: &Env,
        files: &mut Files,
        id: u32,
        fields: &Map<String, Value>,
        caller: Caller,
    ) -> Result<(), ApiError> {
        let Some(mut row) = self.store.rows.get(&id).cloned() else {
            return Err(missing(self.entity.update_missing));
        };
        let std = self.layout.std.clone();
        let old_stage = self.cell_text(&row, std.stage_id).map(str::to_owned);
        let category = {
            let c = self.cell(&row, std.category_id);
            if c.is_null() {
                0
            } else {
                c.as_int().max(0) as u32
            }
        };
        let old_category = self.cell(&row, std.category_id);
        let written = self.apply(env, files, &mut row, fields, true)?;
        if written.is_empty() {
            return Ok(());
        }
        let now = Self::now();
        self.place_in_pipeline(
            &mut row,
            Some((old_category, old_stage.clone())),
            caller,
            now,
        );
        let title_empty = self.cell_text(&row, std.title).is_none_or(str::is_empty);
        if let (true, Some(title)) = (
            std.title.is_some() && title_empty,
            self.entity.default_title(env.lang, id),
        ) {
            let c = self.text(&title);
            self.set(&mut row, std.title, c);
        }
        // A stage of another pipeline is ignored: only crm.item.update moves a deal.
        if let (DEAL, Some(si)) = (self.entity.type_id, std.stage_id) {
            let new_stage = self.cell_text(&row, Some(si)).map(str::to_owned);
            if new_stage != old_stage {
                let valid = new_stage
                    .as_deref()
                    .is_some_and(|s| env.catalog.stage_in(category, s).is_some());
                if !valid {
                    let c = match &old_stage {
                        Some(s) => self.text(s),
                        None => Cell::NULL,
                    };
                    self.set(&mut row, Some(si), c);
                } else {
                    let new_stage = new_stage.expect("valid");
                    let prev = match &old_stage {
                        Some(s) => self.text(s),
                        None => Cell::NULL,
                    };
                    self.set(&mut row, std.previous_stage_id, prev);
                    self.derive_stage(env, &mut row, category, &new_stage);
                    self.set(&mut row, std.moved_time, Cell::int(now));
                    self.set(&mut row, std.moved_by_id, Cell::int(caller.user_id));
                }
            }
        }
        self.set(&mut row, std.date_modify, Cell::int(now));
        self.set(&mut row, std.modify_by_id, Cell::int(caller.user_id));
        self.store.rows.insert(id, row);
        Ok(())
    }

    /// `crm.deal.delete`.
    pub(crate) fn delete(&mut self, id: u32) -> Result<(), ApiError> {
        self.store
            .rows
            .remove(&id)
            .map(|_| ())
            .ok_or_else(|| missing(self.entity.delete_missing))
    }

    /// One deal as `crm.deal.get` shows it (every field but `CONTACT_IDS`).
    pub(crate) fn get(&self, env: &Env, id: u32) -> Result<Value, ApiError> {
        let row = self.store.rows.get(&id).ok_or_else(ApiError::not_found)?;
        let mut out = String::new();
        self.render_json(env, &mut out, id, row, &self.layout.output_order());
        Ok(serde_json::from_str(&out).expect("the renderer writes valid JSON"))
    }

    /// Writes a row as a JSON object with the given fields in order (PHP's encoding: `/`
    /// escaped when `env.slashes`).
    pub(crate) fn render_json(
        &self,
        env: &Env,
        out: &mut String,
        id: u32,
        row: &Row,
        fields: &[usize],
    ) {
        let ctx = RenderCtx {
            strings: &self.store.strings,
            tz: env.tz,
            slashes: env.slashes,
        };
        out.push('{');
        let mut first = true;
        for &i in fields {
            let f = &self.layout.fields[i];
            let mark = out.len();
            if !first {
                out.push(',');
            }
            push_json_str(out, &f.code, false);
            out.push(':');
            let written = if let (true, Some(ids)) = (
                Some(i) == self.layout.std.contact_id,
                self.layout.std.contact_ids,
            ) {
                // CONTACT_ID shows the first of CONTACT_IDS.
                let first_contact = match self.layout.fields[ids].slot {
                    Slot::Multi(s) => row.multi(s).first().copied(),
                    _ => None,
                };
                match first_contact {
                    Some(c) => out.push_str(&format!("\"{}\"", c.as_int())),
                    None => out.push_str("null"),
                }
                true
            } else {
                match f.slot {
                    Slot::Key => {
                        out.push_str(&format!("\"{id}\""));
                        true
                    }
                    Slot::Single(s) => write_single(out, f, row.single(s), id, &ctx),
                    // An empty multifield is absent, as in the documented crm.lead.get.
                    Slot::Multi(s) if f.kind == Kind::Multifield && row.multi(s).is_empty() => {
                        false
                    }
                    Slot::Multi(s) => {
                        write_multi(out, f, row.multi(s), id, &ctx);
                        true
                    }
                }
            };
            if written {
                first = false;
            } else {
                out.truncate(mark);
            }
        }
        out.push('}');
    }

    /// Resolves `select`: `*` = standard single fields, `UF_*` = user fields, explicit codes in
    /// their order; `CONTACT_IDS` is never returned; `ID` always is.
    pub(crate) fn resolve_select(&self, select: Option<&Value>) -> Vec<usize> {
        let items: Vec<String> = match select {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            Some(Value::Object(o)) => o
                .values()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        let order = self.layout.output_order();
        let star = || {
            order
                .iter()
                .copied()
                .filter(|&i| !self.layout.fields[i].uf && !self.layout.fields[i].multiple)
                .collect::<Vec<_>>()
        };
        let mut out: Vec<usize> = Vec::new();
        if items.is_empty() {
            out = star();
        }
        for item in &items {
            let add: Vec<usize> = match item.as_str() {
                "*" => star(),
                "UF_*" => order
                    .iter()
                    .copied()
                    .filter(|&i| self.layout.fields[i].uf)
                    .collect(),
                code => self
                    .layout
                    .index(code)
                    .filter(|&i| self.layout.fields[i].code != "CONTACT_IDS")
                    .into_iter()
                    .collect(),
            };
            for i in add {
                if !out.contains(&i) {
                    out.push(i);
                }
            }
        }
        if let Some(id) = self.layout.index("ID") {
            if !out.contains(&id) {
                out.insert(0, id);
            }
        }
        out
    }

    /// `crm.deal.list`: one page of 50. `start` >= 0 counts the total (page = start / 50, as the
    /// legacy navigation rounds down); `start` < 0 skips counting (`total` 0, no `next`).
    pub(crate) fn list(
        &self,
        env: &Env,
        select: Option<&Value>,
        filter: &Map<String, Value>,
        order: &Map<String, Value>,
        start: i64,
    ) -> ListPage {
        let fields = self.resolve_select(select);
        self.list_with(env, filter, order, start, |id, row| {
            let mut s = String::with_capacity(64 * fields.len());
            self.render_json(env, &mut s, id, row, &fields);
            s
        })
    }

    /// One page of records matching `filter` in `order`, each rendered by `render`.
    pub(crate) fn list_with<R>(
        &self,
        env: &Env,
        filter: &Map<String, Value>,
        order: &Map<String, Value>,
        start: i64,
        render: impl Fn(u32, &Row) -> R,
    ) -> ListPage<R> {
        let mut filter = Filter::parse(&self.layout, filter, env.tz);
        let order = parse_order(&self.layout, order);
        let count = start >= 0;
        let offset = if count {
            (start as usize / PAGE) * PAGE
        } else {
            0
        };
        let layout = &self.layout;
        let strings = &self.store.strings;
        let rows = &self.store.rows;
        let by_id = match order.first() {
            None => Some(true),
            Some(&(i, asc)) if layout.fields[i].kind == Kind::Id => Some(asc),
            _ => None,
        };
        let mut page: Vec<u32> = Vec::with_capacity(PAGE);
        let mut total = 0usize;
        let mut scanned = 0u64;
        if let Some(asc) = by_id {
            let (lo, hi) = filter.id_bounds(layout);
            if lo <= hi {
                let range = rows.range(lo..=hi);
                let iter: Box<dyn Iterator<Item = (&u32, &Row)>> = if asc {
                    Box::new(range)
                } else {
                    Box::new(range.rev())
                };
                for (&id, row) in iter {
                    scanned += 1;
                    if !filter.matches(layout, strings, id, row) {
                        continue;
                    }
                    total += 1;
                    if total > offset && page.len() < PAGE {
                        page.push(id);
                    }
                    if !count && page.len() == PAGE {
                        break;
                    }
                }
            }
        } else {
            let mut ids: Vec<u32> = rows
                .iter()
                .filter(|(id, row)| filter.matches(layout, strings, **id, row))
                .map(|(id, _)| *id)
                .collect();
            scanned = rows.len() as u64;
            total = ids.len();
            sort_ids(layout, strings, rows, &mut ids, &order);
            page = ids.into_iter().skip(offset).take(PAGE).collect();
        }
        let out: Vec<R> = page.iter().map(|id| render(*id, &rows[id])).collect();
        let next = (count && offset + PAGE < total).then_some(offset + PAGE);
        ListPage {
            work: Work {
                write: false,
                returned: out.len() as u64,
                counted: if count { total as u64 } else { 0 },
                skipped: offset.min(total) as u64,
            },
            rows: out,
            total: if count { total } else { 0 },
            next,
            scanned,
        }
    }

    /// The values of one field of one deal (for tests and the seed checks).
    #[cfg(test)]
    pub(crate) fn raw_cells(&self, id: u32, code: &str) -> Vec<Cell> {
        let f = self.layout.get(code).expect("field exists");
        let row = &self.store.rows[&id];
        let mut buf = [Cell::NULL];
        crate::filter::cells_of(f, id, row, &mut buf).to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entities::DEAL;
    use crate::schema::{DEMO_SNAPSHOT, seed_portal_fields};
    use serde_json::json;

    fn seed_portal() -> Portal {
        Portal::new(
            Layout::from_value(&seed_portal_fields()).unwrap(),
            FixedOffset::east_opt(3 * 3600).unwrap(),
        )
    }

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    const ME: Caller = Caller {
        user_id: 1,
        app: false,
    };

    fn parsed(p: &ListPage) -> Vec<Value> {
        p.rows
            .iter()
            .map(|r| serde_json::from_str(r).unwrap())
            .collect()
    }

    #[test]
    fn add_applies_documented_defaults() {
        let mut p = seed_portal();
        let id = p.add(DEAL, &Map::new(), ME).unwrap();
        let d = p.get(DEAL, id).unwrap();
        assert_eq!(d["TITLE"], format!("Сделка #{id}"));
        assert_eq!(d["STAGE_ID"], "NEW");
        assert_eq!(d["CATEGORY_ID"], "0");
        assert_eq!(d["TYPE_ID"], "SALE");
        assert_eq!(d["SOURCE_ID"], "CALL");
        assert_eq!(d["OPENED"], "Y");
        assert_eq!(d["CLOSED"], "N");
        assert_eq!(d["IS_NEW"], "Y");
        assert_eq!(d["STAGE_SEMANTIC_ID"], "P");
        assert_eq!(d["OPPORTUNITY"], "0.00");
        assert_eq!(d["COMPANY_ID"], "0");
        assert_eq!(d["CONTACT_ID"], Value::Null);
        assert_eq!(d["LEAD_ID"], Value::Null);
        assert_eq!(d["ASSIGNED_BY_ID"], "1");
        assert_eq!(d["CURRENCY_ID"], "RUB");
        assert!(
            d["BEGINDATE"]
                .as_str()
                .unwrap()
                .ends_with("T03:00:00+03:00")
        );
        assert!(d.get("CONTACT_IDS").is_none());
    }

    #[test]
    fn unknown_read_only_and_immutable_keys_are_dropped() {
        let mut p = seed_portal();
        let id = p
            .add(
                DEAL,
                &obj(
                    json!({"TITLE": "A", "CATEGORY_ID": 1, "STAGE_ID": "C1:PREPARATION",
                    "IS_NEW": "N", "DATE_CREATE": "2001-01-01", "UF_CRM_TYPO": "x", "ID": 99}),
                ),
                ME,
            )
            .unwrap();
        assert_ne!(id, 99);
        let d = p.get(DEAL, id).unwrap();
        assert_eq!(d["CATEGORY_ID"], "1");
        assert_eq!(d["STAGE_ID"], "C1:PREPARATION");
        assert_eq!(d["IS_NEW"], "N");
        assert!(!d["DATE_CREATE"].as_str().unwrap().starts_with("2001"));
        // Update: CATEGORY_ID is immutable, a stage of another pipeline is ignored.
        p.update(
            DEAL,
            id,
            &obj(json!({"CATEGORY_ID": 0, "STAGE_ID": "WON"})),
            ME,
        )
        .unwrap();
        let d = p.get(DEAL, id).unwrap();
        assert_eq!(d["CATEGORY_ID"], "1");
        assert_eq!(d["STAGE_ID"], "C1:PREPARATION");
        p.update(DEAL, id, &obj(json!({"STAGE_ID": "C1:WON"})), ME)
            .unwrap();
        let d = p.get(DEAL, id).unwrap();
        assert_eq!(d["STAGE_ID"], "C1:WON");
        assert_eq!(d["STAGE_SEMANTIC_ID"], "S");
        assert_eq!(d["CLOSED"], "Y");
    }

    #[test]
    fn contact_ids_are_stored_but_never_returned() {
        let mut p = seed_portal();
        let id = p
            .add(DEAL, &obj(json!({"CONTACT_IDS": [84, 83]})), ME)
            .unwrap();
        let d = p.get(DEAL, id).unwrap();
        assert_eq!(d["CONTACT_ID"], "84");
        assert!(d.get("CONTACT_IDS").is_none());
        assert_eq!(p.deals().raw_cells(id, "CONTACT_IDS").len(), 2);
        let page = p
            .list(
                DEAL,
                Some(&json!(["ID", "CONTACT_IDS"])),
                &Map::new(),
                &Map::new(),
                0,
            )
            .unwrap();
        assert!(parsed(&page)[0].get("CONTACT_IDS").is_none());
    }

    #[test]
    fn required_user_field_is_enforced() {
        let v: Value = serde_json::from_str(DEMO_SNAPSHOT).unwrap();
        let mut p = Portal::new(
            Layout::from_value(&v).unwrap(),
            FixedOffset::east_opt(0).unwrap(),
        );
        let err = p.add(DEAL, &obj(json!({"TITLE": "x"})), ME).unwrap_err();
        assert_eq!(err.status, 400);
        assert_eq!(err.code, "");
        assert!(
            err.description.contains("Канал продаж"),
            "{}",
            err.description
        );
        let id = p
            .add(
                DEAL,
                &obj(json!({"TITLE": "x", "UF_CRM_1721244590123": "3478"})),
                ME,
            )
            .unwrap();
        assert_eq!(p.get(DEAL, id).unwrap()["UF_CRM_1721244590123"], "3478");
        let err = p
            .update(DEAL, id, &obj(json!({"UF_CRM_1721244590123": ""})), ME)
            .unwrap_err();
        assert!(err.description.contains("Канал продаж"));
    }

    #[test]
    fn list_pages_and_counts() {
        let mut p = seed_portal();
        for i in 0..120 {
            p.add(DEAL, &obj(json!({"TITLE": format!("Deal {i}")})), ME)
                .unwrap();
        }
        let page = p.list(DEAL, None, &Map::new(), &Map::new(), 0).unwrap();
        assert_eq!(page.rows.len(), 50);
        assert_eq!(page.total, 120);
        assert_eq!(page.next, Some(50));
        let last = p.list(DEAL, None, &Map::new(), &Map::new(), 100).unwrap();
        assert_eq!(last.rows.len(), 20);
        assert_eq!(last.next, None);
        // start=75 is page 2 (legacy navigation rounds down).
        let odd = p.list(DEAL, None, &Map::new(), &Map::new(), 75).unwrap();
        assert_eq!(parsed(&odd)[0]["ID"], "51");
        assert_eq!(odd.next, Some(100));
        let fast = p
            .list(
                DEAL,
                Some(&json!(["ID"])),
                &obj(json!({">ID": 100})),
                &obj(json!({"ID": "ASC"})),
                -1,
            )
            .unwrap();
        assert_eq!(fast.rows.len(), 20);
        assert_eq!(fast.total, 0);
        assert_eq!(fast.next, None);
        assert_eq!(fast.work.counted, 0);
        assert_eq!(parsed(&fast)[0], json!({"ID": "101"}));
        let desc = p
            .list(
                DEAL,
                Some(&json!(["ID"])),
                &Map::new(),
                &obj(json!({"ID": "desc"})),
                -1,
            )
            .unwrap();
        assert_eq!(parsed(&desc)[0], json!({"ID": "120"}));
    }

    #[test]
    fn list_filters_by_type() {
        let mut p = seed_portal();
        p.add(DEAL, &obj(json!({"TITLE": "[А] Сделка", "OPPORTUNITY": 15000, "STAGE_ID": "PREPARATION", "COMPANY_ID": 12})), ME).unwrap();
        p.add(
            DEAL,
            &obj(json!({"TITLE": "Продажа Б", "OPPORTUNITY": "25000.50", "COMPANY_ID": 3})),
            ME,
        )
        .unwrap();
        p.add(
            DEAL,
            &obj(json!({"TITLE": "сделка в", "IS_MANUAL_OPPORTUNITY": "Y"})),
            ME,
        )
        .unwrap();
        let ids = |f: Value| -> Vec<String> {
            parsed(
                &p.list(
                    DEAL,
                    Some(&json!(["ID"])),
                    f.as_object().unwrap(),
                    &Map::new(),
                    0,
                )
                .unwrap(),
            )
            .iter()
            .map(|r| r["ID"].as_str().unwrap().to_owned())
            .collect()
        };
        assert_eq!(ids(json!({"%TITLE": "СДЕЛКА"})), ["1", "3"]);
        assert_eq!(ids(json!({"=%TITLE": "%а"})), ["1"]);
        assert_eq!(
            ids(json!({">OPPORTUNITY": 10000, "<=OPPORTUNITY": 20000})),
            ["1"]
        );
        assert_eq!(ids(json!({"@COMPANY_ID": [3, 12]})), ["1", "2"]);
        assert_eq!(ids(json!({"!@COMPANY_ID": [3, 12]})), ["3"]);
        // LIKE on crm_status / crm_company is an exact match.
        assert_eq!(ids(json!({"%STAGE_ID": "PREP"})), Vec::<String>::new());
        assert_eq!(ids(json!({"%STAGE_ID": "PREPARATION"})), ["1"]);
        assert_eq!(ids(json!({"%COMPANY_ID": "1"})), Vec::<String>::new());
        assert_eq!(ids(json!({"IS_MANUAL_OPPORTUNITY": "Y"})), ["3"]);
        assert_eq!(ids(json!({"!IS_MANUAL_OPPORTUNITY": "Y"})), ["1", "2"]);
        assert_eq!(ids(json!({"COMMENTS": ""})), ["1", "2", "3"]);
        assert_eq!(ids(json!({"!UTM_SOURCE": ""})), Vec::<String>::new());
        assert_eq!(ids(json!({">ID": "$result[x][49][ID]"})), ["1", "2", "3"]);
        assert_eq!(
            ids(json!({"0": {"LOGIC": "OR", "ID": 1, "COMPANY_ID": 3}})),
            ["1", "2"]
        );
        assert_eq!(ids(json!({"CONTACT_IDS": 5})), ["1", "2", "3"]);
        assert_eq!(ids(json!({">DATE_CREATE": "2000-01-01"})), ["1", "2", "3"]);
        assert_eq!(
            ids(json!({"<DATE_CREATE": "2000-01-01"})),
            Vec::<String>::new()
        );
    }

    #[test]
    fn list_orders_like_the_documented_example() {
        let mut p = seed_portal();
        for (t, o) in [
            ("[С] Сделка", 18500),
            ("[А] Сделка", 20000),
            ("[Б] Продажа", 12500),
            ("[А] Сделка", 19999),
        ] {
            p.add(DEAL, &obj(json!({"TITLE": t, "OPPORTUNITY": o})), ME)
                .unwrap();
        }
        let page = p
            .list(
                DEAL,
                Some(&json!(["TITLE", "OPPORTUNITY"])),
                &Map::new(),
                &obj(json!({"TITLE": "ASC", "OPPORTUNITY": "ASC"})),
                0,
            )
            .unwrap();
        let got: Vec<(String, String)> = parsed(&page)
            .iter()
            .map(|r| {
                (
                    r["TITLE"].as_str().unwrap().into(),
                    r["OPPORTUNITY"].as_str().unwrap().into(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("[А] Сделка", "19999.00"),
                ("[А] Сделка", "20000.00"),
                ("[Б] Продажа", "12500.00"),
                ("[С] Сделка", "18500.00")
            ]
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
        );
        // Explicit select keeps the select order, with ID first when it was not selected.
        let first = parsed(&page).remove(0);
        let keys: Vec<&String> = first.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["ID", "TITLE", "OPPORTUNITY"]);
    }
}
