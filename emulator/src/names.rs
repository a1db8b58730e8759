//! The two field-name forms of the server: a legacy code (`DATE_CREATE`, `UF_CRM_3_DIGIT`) and
//! its `crm.item.*` name (`createdTime`, `ufCrm3Digit`), and the `upperName` an item descriptor
//! shows. Only data and string rules: the lowest layer, used by the field layout and the
//! entity definitions.

/// Legacy codes whose `crm.item.*` name is not their camelCase form.
const ITEM_NAMES: &[(&str, &str)] = &[
    ("DATE_CREATE", "createdTime"),
    ("DATE_MODIFY", "updatedTime"),
    ("CREATED_BY_ID", "createdBy"),
    ("MODIFY_BY_ID", "updatedBy"),
    ("MOVED_BY_ID", "movedBy"),
    // Lead and quote statuses are the stages of crm.item.
    ("STATUS_ID", "stageId"),
    ("STATUS_SEMANTIC_ID", "stageSemanticId"),
];

/// The `crm.item.*` name of a legacy field code: `TITLE` -> `title`, `DATE_CREATE` ->
/// `createdTime`, `PARENT_ID_153` -> `parentId153`, `UF_CRM_1720019876534` ->
/// `ufCrm_1720019876534`, `UF_CRM_6_1721245000111` -> `ufCrm6_1721245000111`.
pub(crate) fn item_name(code: &str) -> String {
    if let Some((_, name)) = ITEM_NAMES.iter().find(|(c, _)| *c == code) {
        return (*name).to_owned();
    }
    if let Some(rest) = code.strip_prefix("UF_CRM_") {
        return uf_item_name(rest);
    }
    camel_case(code)
}

/// `DISCOUNT_TYPE_ID` -> `discountTypeId`: blocks lower-cased, every block but the first
/// capitalised.
pub(crate) fn camel_case(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    for (n, part) in code.split('_').filter(|p| !p.is_empty()).enumerate() {
        let lower = part.to_ascii_lowercase();
        if n == 0 {
            out.push_str(&lower);
        } else {
            let mut chars = lower.chars();
            if let Some(c) = chars.next() {
                out.push(c.to_ascii_uppercase());
                out.extend(chars);
            }
        }
    }
    out
}

/// A user field's item name from the part after `UF_CRM_`, by the two conversions of
/// `universal/index.md`. Regular, when only digits or only letters follow the object number
/// (`3_1747309727` -> `ufCrm3_1747309727`, `3_DIGIT` -> `ufCrm3Digit`, and without a number
/// `MY_FIELD` -> `ufCrmMyField`): the blocks are capitalised and an underscore is kept only
/// between two numeric blocks. Simplified otherwise (mixed blocks, or digits with no object
/// number: `1747309879` -> `ufCrm_1747309879`, `3_DIGIT10` -> `ufCrm_3_DIGIT10`): only the
/// prefix changes.
fn uf_item_name(rest: &str) -> String {
    let (number, tail) = match rest.split_once('_') {
        Some((n, t)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => (n, t),
        _ => ("", rest),
    };
    let blocks: Vec<&str> = tail.split('_').filter(|b| !b.is_empty()).collect();
    let all =
        |f: fn(&u8) -> bool| !blocks.is_empty() && blocks.iter().all(|b| b.bytes().all(|c| f(&c)));
    let regular = all(u8::is_ascii_alphabetic) || (!number.is_empty() && all(u8::is_ascii_digit));
    if !regular {
        return format!("ufCrm_{rest}");
    }
    let mut out = format!("ufCrm{number}");
    let mut numeric_before = !number.is_empty();
    for block in blocks {
        let numeric = block.bytes().all(|c| c.is_ascii_digit());
        if numeric && numeric_before {
            out.push('_');
        }
        let lower = block.to_ascii_lowercase();
        out.push_str(&lower[..1].to_ascii_uppercase());
        out.push_str(&lower[1..]);
        numeric_before = numeric;
    }
    out
}

/// The `upperName` a `crm.item.fields` descriptor shows: the user field's own code, or the
/// item name in upper snake case (`createdTime` -> `CREATED_TIME`, `parentId153` ->
/// `PARENT_ID_153`).
pub(crate) fn upper_name(item: &str, code: &str, uf: bool) -> String {
    if uf {
        return code.to_owned();
    }
    let mut out = String::with_capacity(item.len() + 4);
    let mut prev: Option<char> = None;
    for c in item.chars() {
        let boundary = match prev {
            Some(p) => {
                (c.is_ascii_uppercase() && !p.is_ascii_uppercase())
                    || (c.is_ascii_digit() && !p.is_ascii_digit())
            }
            None => false,
        };
        if boundary {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
        prev = Some(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_names_follow_the_documented_examples() {
        for (code, item) in [
            ("TITLE", "title"),
            ("STAGE_ID", "stageId"),
            ("DATE_CREATE", "createdTime"),
            ("CREATED_BY_ID", "createdBy"),
            ("MODIFY_BY_ID", "updatedBy"),
            ("IS_MANUAL_OPPORTUNITY", "isManualOpportunity"),
            ("PARENT_ID_153", "parentId153"),
            ("ADDRESS_2", "address2"),
            ("BEGINDATE", "begindate"),
            ("UF_CRM_1720019876534", "ufCrm_1720019876534"),
            ("UF_CRM_2_1639669411830", "ufCrm2_1639669411830"),
            ("UF_CRM_64A29A1CD5CC2", "ufCrm_64A29A1CD5CC2"),
            ("STATUS_ID", "stageId"),
            // The table of `universal/index.md`.
            ("UF_CRM_3_DIGIT", "ufCrm3Digit"),
            ("UF_CRM_10_DIGIT", "ufCrm10Digit"),
            ("UF_CRM_3_1747309727", "ufCrm3_1747309727"),
            ("UF_CRM_10_5186744711", "ufCrm10_5186744711"),
            ("UF_CRM_3_DIGIT10", "ufCrm_3_DIGIT10"),
            ("UF_CRM_3_DIGIT_10", "ufCrm_3_DIGIT_10"),
            ("UF_CRM_1747309879", "ufCrm_1747309879"),
            ("UF_CRM_MY_FIELD", "ufCrmMyField"),
        ] {
            assert_eq!(item_name(code), item, "{code}");
        }
    }

    #[test]
    fn upper_names_follow_the_documented_descriptors() {
        assert_eq!(
            upper_name("createdTime", "DATE_CREATE", false),
            "CREATED_TIME"
        );
        assert_eq!(
            upper_name("parentId153", "PARENT_ID_153", false),
            "PARENT_ID_153"
        );
        assert_eq!(
            upper_name("assignedById", "ASSIGNED_BY_ID", false),
            "ASSIGNED_BY_ID"
        );
        assert_eq!(upper_name("address2", "ADDRESS_2", false), "ADDRESS_2");
        assert_eq!(
            upper_name("ufCrm2_1639669411830", "UF_CRM_2_1639669411830", true),
            "UF_CRM_2_1639669411830"
        );
    }
}
