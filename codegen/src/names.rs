//! Readable names for user fields and enumeration items, kept across snapshot refreshes.
//!
//! The same renames are accepted by the macro (`rename(...)` and `names = "file"`), by
//! `build.rs` ([`crate::build`]) and by the CLI (`--names FILE`). A names file is JSON:
//!
//! ```json
//! {
//!   "fields": { "UF_CRM_1721244482250": "greeting", "UF_CRM_1721244590123": "sales_channel" },
//!   "items": { "UF_CRM_1721244590123": { "3476": "Website", "3478": "ColdCall" } }
//! }
//! ```
//!
//! Field names are snake_case (ASCII lowercase letters, digits and `_`, not starting with a
//! digit, not a keyword), item names PascalCase (ASCII letters and digits, starting with an
//! uppercase letter, not a keyword); anything else is an error naming the rename. A field name
//! may start with `_` and a digit (`_1`): the field's enum variant and type-name suffix then
//! get an `F` in front (`DealField::F1`, `DealF1`), as a code starting with a digit gets `f_`. A rename that names a field or item the
//! snapshot no longer has is an error, so a deleted field is noticed instead of silently
//! falling back to its code.

use serde_json::Value;

/// Renames, each remembering where it came from (a names file, or none for inline renames).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Renames {
    entries: Vec<Rename>,
    sources: Vec<Option<String>>,
}

/// One rename: a field (`UF_CRM_1721244482250` -> `greeting`) or an enumeration item
/// (`UF_CRM_1721244590123` item `3476` -> `Website`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rename {
    /// A field's Rust name (snake_case).
    Field {
        /// Bitrix code.
        code: String,
        /// New snake_case name.
        name: String,
    },
    /// An enumeration item's variant name (PascalCase).
    Item {
        /// Bitrix code of the enumeration field.
        code: String,
        /// Item `ID`.
        item: String,
        /// New PascalCase variant name.
        name: String,
    },
}

impl Renames {
    /// No renames.
    pub fn new() -> Self {
        Self::default()
    }

    fn push(&mut self, rename: Rename, source: Option<String>) -> usize {
        self.entries.push(rename);
        self.sources.push(source);
        self.entries.len() - 1
    }

    /// Renames field `code` to `name`; returns the index used in
    /// [`Origin::Rename`](crate::Origin::Rename).
    pub fn field(&mut self, code: impl Into<String>, name: impl Into<String>) -> usize {
        self.push(
            Rename::Field {
                code: code.into(),
                name: name.into(),
            },
            None,
        )
    }

    /// Renames item `item` of enumeration field `code` to variant `name`; returns the index.
    pub fn item(
        &mut self,
        code: impl Into<String>,
        item: impl Into<String>,
        name: impl Into<String>,
    ) -> usize {
        self.push(
            Rename::Item {
                code: code.into(),
                item: item.into(),
                name: name.into(),
            },
            None,
        )
    }

    /// Every rename, in insertion order.
    pub fn entries(&self) -> &[Rename] {
        &self.entries
    }

    /// The names file the rename at `index` came from.
    pub fn source(&self, index: usize) -> Option<&str> {
        self.sources.get(index).and_then(|s| s.as_deref())
    }

    /// Adds the renames of a names file (see the module docs); `source` names the file in
    /// messages. Returns the range of indices added.
    pub fn add_file(&mut self, text: &str, source: &str) -> Result<std::ops::Range<usize>, String> {
        let start = self.entries.len();
        let value: Value = serde_json::from_str(text).map_err(|e| {
            format!(
                "{source}: malformed JSON at line {}, column {}: {e}",
                e.line(),
                e.column()
            )
        })?;
        let Value::Object(root) = value else {
            return Err(format!(
                "{source}: expected a JSON object with `fields` and `items`"
            ));
        };
        let mut problems = Vec::new();
        for key in root.keys() {
            if key != "fields" && key != "items" {
                problems.push(format!(
                    "unknown key `{key}` (expected `fields` and `items`)"
                ));
            }
        }
        if let Some(fields) = root.get("fields") {
            match fields {
                Value::Object(map) => {
                    for (code, name) in map {
                        match name.as_str() {
                            Some(name) => {
                                self.push(
                                    Rename::Field {
                                        code: code.clone(),
                                        name: name.to_owned(),
                                    },
                                    Some(source.to_owned()),
                                );
                            }
                            None => problems.push(format!("fields.{code} must be a string")),
                        }
                    }
                }
                _ => problems.push("`fields` must be an object of CODE: \"name\"".into()),
            }
        }
        if let Some(items) = root.get("items") {
            match items {
                Value::Object(map) => {
                    for (code, by_id) in map {
                        let Value::Object(by_id) = by_id else {
                            problems.push(format!(
                                "items.{code} must be an object of ITEM_ID: \"Variant\""
                            ));
                            continue;
                        };
                        for (item, name) in by_id {
                            match name.as_str() {
                                Some(name) => {
                                    self.push(
                                        Rename::Item {
                                            code: code.clone(),
                                            item: item.clone(),
                                            name: name.to_owned(),
                                        },
                                        Some(source.to_owned()),
                                    );
                                }
                                None => {
                                    problems.push(format!("items.{code}.{item} must be a string"))
                                }
                            }
                        }
                    }
                }
                _ => problems
                    .push("`items` must be an object of CODE: { ITEM_ID: \"Variant\" }".into()),
            }
        }
        if problems.is_empty() {
            Ok(start..self.entries.len())
        } else {
            self.entries.truncate(start);
            self.sources.truncate(start);
            Err(format!("{source}: {}", problems.join("; ")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_file_adds_field_and_item_renames_with_their_source() {
        let mut r = Renames::new();
        r.field("TITLE", "name");
        let added = r
            .add_file(
                r#"{"fields": {"UF_CRM_1": "greeting"}, "items": {"UF_CRM_2": {"3476": "Website"}}}"#,
                "names.json",
            )
            .unwrap();
        assert_eq!(added, 1..3);
        assert_eq!(r.source(0), None);
        assert_eq!(r.source(1), Some("names.json"));
        assert_eq!(
            r.entries()[2],
            Rename::Item {
                code: "UF_CRM_2".into(),
                item: "3476".into(),
                name: "Website".into()
            }
        );
    }

    #[test]
    fn names_file_problems_are_all_reported_and_nothing_is_added() {
        let mut r = Renames::new();
        let err = r
            .add_file(
                r#"{"fields": {"A": 1}, "items": {"B": []}, "extra": 0}"#,
                "n.json",
            )
            .unwrap_err();
        assert!(err.starts_with("n.json: "), "{err}");
        assert!(err.contains("unknown key `extra`"), "{err}");
        assert!(err.contains("fields.A must be a string"), "{err}");
        assert!(err.contains("items.B must be an object"), "{err}");
        assert!(r.entries().is_empty());
        let err = r.add_file("{", "n.json").unwrap_err();
        assert!(err.contains("malformed JSON at line 1"), "{err}");
    }
}
