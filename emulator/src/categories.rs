//! What `crm.category.*` shares between the deals' pipelines ([`crate::reference`]) and the
//! smart processes' ([`crate::pipelines`]): reading its parameters, its errors, and the shape
//! of its `fields` answer.

use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::rest::{array_param, param};
use crate::schema::descriptor;
use crate::values::{php_intval, php_string};

/// A required argument of a module controller (`crm.category.*`).
pub(crate) fn required<'a>(
    params: &'a Map<String, Value>,
    name: &str,
) -> Result<&'a Value, ApiError> {
    param(params, name).ok_or_else(|| {
        ApiError::new(
            400,
            "INVALID_ARG_VALUE",
            format!("Required parameter \"{name}\" is missing"),
        )
    })
}

/// The pipeline's `id`.
pub(crate) fn category_id(params: &Map<String, Value>) -> Result<u32, ApiError> {
    let id = php_intval(required(params, "id")?);
    u32::try_from(id).map_err(|_| element_not_found())
}

/// The `fields` of `crm.category.add/update`.
pub(crate) fn category_fields_param(
    params: &Map<String, Value>,
) -> Result<Map<String, Value>, ApiError> {
    required(params, "fields")?;
    array_param(params, "fields")?.ok_or_else(|| ApiError::must_be_array("fields"))
}

/// `name` if given: it may not be empty or only spaces.
pub(crate) fn category_name(fields: &Map<String, Value>) -> Result<Option<String>, ApiError> {
    match param(fields, "name") {
        None => Ok(None),
        Some(v) => match php_string(v) {
            Some(n) if !n.trim().is_empty() => Ok(Some(n.chars().take(255).collect())),
            _ => Err(name_required()),
        },
    }
}

/// `sort` if given; a negative one is 0.
pub(crate) fn category_sort(fields: &Map<String, Value>) -> Option<u32> {
    param(fields, "sort").map(|v| php_intval(v).clamp(0, i64::from(u32::MAX)) as u32)
}

pub(crate) fn name_required() -> ApiError {
    ApiError::new(400, "0", "Field 'NAME' is required")
}

/// 400 `NOT_FOUND` "Element not found" (a pipeline that does not exist).
pub(crate) fn element_not_found() -> ApiError {
    ApiError::new(400, "NOT_FOUND", "Element not found")
}

/// A `crm.category.fields` answer of `(name, type, required, read-only, upper name)` rows.
pub(crate) fn category_fields_of(rows: &[(&str, &str, bool, bool, &str)]) -> Value {
    let mut fields = Map::new();
    for &(key, ty, required, read_only, upper) in rows {
        let mut d = descriptor(ty, required, read_only, false, upper);
        d.insert("upperName".into(), Value::from(upper));
        fields.insert(key.into(), Value::Object(d));
    }
    json!({ "fields": fields })
}
