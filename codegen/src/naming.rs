//! Rust names for Bitrix codes and labels: snake_case fields, PascalCase types and variants,
//! SCREAMING_SNAKE constants, keywords avoided, Cyrillic transliterated.

/// Names the generated code imports from `std` in its module header; no generated type may
/// take one of them.
pub const HEADER_NAMES: &[&str] = &[
    "Option", "Some", "None", "Result", "Ok", "String", "Vec", "BTreeMap", "Field", "Patch",
];

/// Strict and reserved Rust keywords (edition 2024): never usable as plain identifiers.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Whether `name` is a Rust keyword.
pub fn is_keyword(name: &str) -> bool {
    KEYWORDS.contains(&name) || name == "Self"
}

/// The snake_case identifier for a Bitrix code: `UF_CRM_1721244482250` ->
/// `uf_crm_1721244482250`, `stageId` -> `stage_id`, `TYPE` -> `type_` (keyword),
/// `1C_ID` -> `f_1c_id` (no leading digit).
pub fn snake_case(code: &str) -> String {
    let mut out = String::with_capacity(code.len() + 2);
    let chars: Vec<char> = transliterate(code).chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_alphanumeric() {
            let boundary = c.is_ascii_uppercase()
                && i > 0
                && (chars[i - 1].is_ascii_lowercase()
                    || (chars[i - 1].is_ascii_uppercase()
                        && chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase())));
            if boundary && !out.ends_with('_') && !out.is_empty() {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    let trimmed = out.trim_end_matches('_');
    let mut name = if trimmed.is_empty() {
        "field".to_owned()
    } else {
        trimmed.to_owned()
    };
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert_str(0, "f_");
    }
    if is_keyword(&name) {
        name.push('_');
    }
    name
}

/// PascalCase of a snake_case name or of free text: `uf_crm_17` -> `UfCrm17`,
/// `Холодный звонок` -> `KholodnyyZvonok`. Returns an empty string when nothing usable is
/// left (the caller picks a fallback).
pub fn pascal_case(text: &str) -> String {
    let latin = transliterate(text);
    let mut out = String::with_capacity(latin.len());
    let mut upper_next = true;
    let mut prev_lower = false;
    for c in latin.chars() {
        if c.is_ascii_alphanumeric() {
            if upper_next || (c.is_ascii_uppercase() && prev_lower) {
                out.push(c.to_ascii_uppercase());
            } else {
                out.push(c.to_ascii_lowercase());
            }
            upper_next = false;
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        } else {
            upper_next = true;
            prev_lower = false;
        }
    }
    out
}

/// SCREAMING_SNAKE_CASE of a snake_case identifier (`type_` -> `TYPE`).
pub fn const_case(snake: &str) -> String {
    let upper = snake.trim_end_matches('_').to_ascii_uppercase();
    if upper.is_empty() {
        "FIELD".to_owned()
    } else {
        upper
    }
}

/// Whether `name` is usable as a generated snake_case identifier (a rename target).
pub fn is_snake_ident(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name != "_"
        && !is_keyword(name)
}

/// Whether `name` is a plain Rust identifier the generated code can use as is: ASCII letters,
/// digits and `_`, not starting with a digit, not `_` alone, not a keyword. Every name the
/// generator turns into an identifier is checked with this first (see [`crate::model::build`]).
pub fn is_ident(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name != "_"
        && !is_keyword(name)
}

/// The PascalCase name of a snake_case field name, usable as a type-name suffix and an enum
/// variant: [`pascal_case`], `Field` when nothing is left, and an `F` in front of a leading
/// digit (a rename such as `_1` gives `F1`, as [`snake_case`] gives `f_1` for a code `1`).
/// Keywords (`Self`) are left to the caller.
pub fn field_pascal(snake: &str) -> String {
    match pascal_case(snake) {
        p if p.is_empty() => "Field".to_owned(),
        p if p.starts_with(|c: char| c.is_ascii_digit()) => format!("F{p}"),
        p => p,
    }
}

/// Whether `name` is usable as a PascalCase identifier (an enum variant rename target).
pub fn is_pascal_ident(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_uppercase())
        && name.chars().all(|c| c.is_ascii_alphanumeric())
        && !is_keyword(name)
}

/// The `crm.item.*` name of a legacy UPPER_CASE code by the portal's rules
/// (`universal/index.md`, "Field Naming Conventions"):
/// - standard fields lose their underscores: `ASSIGNED_BY_ID` -> `assignedById`,
///   `PARENT_ID_153` -> `parentId153`;
/// - user fields, "regular conversion", when only digits or only letters follow `UF_CRM_` and
///   the object number: `UF_CRM_3_1747309727` -> `ufCrm3_1747309727` (an underscore between
///   numeric blocks stays), `UF_CRM_3_DIGIT` -> `ufCrm3Digit`;
/// - else "simplified conversion", only the prefix changes: `UF_CRM_1747309879` ->
///   `ufCrm_1747309879`, `UF_CRM_3_DIGIT10` -> `ufCrm_3_DIGIT10`.
///
/// The standard renames (`DATE_CREATE` -> `createdTime`) are in
/// [`crate::entities::item_name`]. The portal's last rule (a converted name another field
/// already has stays UPPER_CASE) needs the whole snapshot and is not applied.
pub fn item_name(code: &str) -> String {
    let Some(rest) = code.strip_prefix("UF_CRM_") else {
        return camel(code);
    };
    let (number, tail) = match rest.split_once('_') {
        Some((n, t)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => (n, t),
        _ => ("", rest),
    };
    let letters = !tail.is_empty()
        && tail.chars().all(|c| c == '_' || c.is_ascii_alphabetic())
        && tail.chars().any(|c| c.is_ascii_alphabetic());
    let digits = !number.is_empty()
        && !tail.is_empty()
        && tail.chars().all(|c| c == '_' || c.is_ascii_digit())
        && tail.chars().any(|c| c.is_ascii_digit());
    if letters || digits {
        // Regular: `ufCrm` + object number + the blocks; an underscore stays only between
        // two numeric blocks.
        let mut out = format!("ufCrm{number}");
        let mut previous_numeric = !number.is_empty();
        for block in tail.split('_').filter(|b| !b.is_empty()) {
            let numeric = block.bytes().all(|b| b.is_ascii_digit());
            if numeric && previous_numeric {
                out.push('_');
            }
            out.push_str(&capitalized(block));
            previous_numeric = numeric;
        }
        out
    } else {
        format!("ufCrm_{rest}")
    }
}

/// `Block` from `BLOCK` (digits unchanged).
fn capitalized(block: &str) -> String {
    let lower = block.to_lowercase();
    let mut chars = lower.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// camelCase of `UPPER_SNAKE` text without its underscores (`ASSIGNED_BY_ID` ->
/// `assignedById`).
fn camel(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, part) in text.split('_').enumerate() {
        if i == 0 {
            out.push_str(&part.to_lowercase());
        } else {
            out.push_str(&capitalized(part));
        }
    }
    out
}

/// The legacy UPPER_CASE code of a `crm.item.*` name, for descriptors without `upperName`:
/// the inverse of [`item_name`] (`stageId` -> `STAGE_ID`, `ufCrm2_163` -> `UF_CRM_2_163`,
/// `ufCrm_163` -> `UF_CRM_163`, `parentId153` -> `PARENT_ID_153`). A name that already is
/// upper case (`UF_CRM_5`, from `useOriginalUfNames=Y`) is kept.
pub fn upper_name(name: &str) -> String {
    if !name.chars().any(|c| c.is_lowercase()) {
        return name.to_owned();
    }
    if let Some(id) = name.strip_prefix("parentId") {
        if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
            return format!("PARENT_ID_{id}");
        }
    }
    if let Some(rest) = name.strip_prefix("ufCrm_") {
        // Simplified conversion: the rest is the original.
        return format!("UF_CRM_{rest}");
    }
    if let Some(rest) = name.strip_prefix("ufCrm") {
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let tail = rest[digits.len()..].trim_start_matches('_');
        let tail = upper_snake(tail);
        return match (digits.is_empty(), tail.is_empty()) {
            (true, _) => format!("UF_CRM_{tail}"),
            (false, true) => format!("UF_CRM_{digits}"),
            (false, false) => format!("UF_CRM_{digits}_{tail}"),
        };
    }
    upper_snake(name)
}

fn upper_snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let mut prev_lower = false;
    for c in name.chars() {
        if c.is_uppercase() && prev_lower && !out.ends_with('_') {
            out.push('_');
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        out.extend(c.to_uppercase());
    }
    out
}

/// Latin transliteration of Cyrillic text (a simple, readable scheme close to the Russian
/// passport one); other characters pass through. HTML entities such as `&quot;` are dropped.
pub fn transliterate(text: &str) -> String {
    let text = strip_entities(text);
    let mut out = String::with_capacity(text.len() * 2);
    for c in text.chars() {
        let lower = c.to_lowercase().next().unwrap_or(c);
        let latin = match lower {
            'а' => "a",
            'б' => "b",
            'в' => "v",
            'г' => "g",
            'д' => "d",
            'е' => "e",
            'ё' => "e",
            'ж' => "zh",
            'з' => "z",
            'и' => "i",
            'й' => "y",
            'к' => "k",
            'л' => "l",
            'м' => "m",
            'н' => "n",
            'о' => "o",
            'п' => "p",
            'р' => "r",
            'с' => "s",
            'т' => "t",
            'у' => "u",
            'ф' => "f",
            'х' => "kh",
            'ц' => "ts",
            'ч' => "ch",
            'ш' => "sh",
            'щ' => "shch",
            'ъ' => "",
            'ы' => "y",
            'ь' => "",
            'э' => "e",
            'ю' => "yu",
            'я' => "ya",
            'і' => "i",
            'ї' => "yi",
            'є' => "ye",
            'ґ' => "g",
            'ў' => "u",
            _ => {
                out.push(c);
                continue;
            }
        };
        if c != lower {
            // Keep the capital: "Щ" -> "Shch".
            let mut it = latin.chars();
            if let Some(first) = it.next() {
                out.push(first.to_ascii_uppercase());
                out.extend(it);
            }
        } else {
            out.push_str(latin);
        }
    }
    out
}

fn strip_entities(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains('&') {
        return text.into();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('&') {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        match tail.find(';') {
            Some(end)
                if end <= 10
                    && tail[1..end]
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '#') =>
            {
                out.push(' ');
                rest = &tail[end + 1..];
            }
            _ => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_table() {
        let cases = [
            ("ID", "id"),
            ("TITLE", "title"),
            ("STAGE_ID", "stage_id"),
            ("UF_CRM_1721244482250", "uf_crm_1721244482250"),
            ("UF_CRM_69EE4F347BF80", "uf_crm_69ee4f347bf80"),
            ("UF_CRM_7_1777887301589", "uf_crm_7_1777887301589"),
            ("PARENT_ID_1220", "parent_id_1220"),
            ("stageId", "stage_id"),
            ("parentId1220", "parent_id1220"),
            ("HTTPSUrl", "https_url"),
            ("TYPE", "type_"),
            ("MOD", "mod_"),
            ("SELF", "self_"),
            ("1C_ID", "f_1c_id"),
            ("__X__", "x"),
            ("UF_CRM_Цена", "uf_crm_tsena"),
            ("!!!", "field"),
            ("", "field"),
        ];
        for (code, expected) in cases {
            assert_eq!(snake_case(code), expected, "{code}");
        }
    }

    #[test]
    fn pascal_case_table() {
        let cases = [
            ("uf_crm_1721244482250", "UfCrm1721244482250"),
            ("title", "Title"),
            ("Холодный звонок", "KholodnyyZvonok"),
            ("Выставка \"Иннопром\"", "VystavkaInnoprom"),
            ("Щедрый клиент", "ShchedryyKlient"),
            ("&quot;VIP&quot; клиент", "VipKlient"),
            ("50% скидка", "50Skidka"),
            ("camelCaseValue", "CamelCaseValue"),
            ("   ", ""),
            ("日本", ""),
        ];
        for (text, expected) in cases {
            assert_eq!(pascal_case(text), expected, "{text}");
        }
    }

    #[test]
    fn const_case_table() {
        assert_eq!(const_case("uf_crm_17"), "UF_CRM_17");
        assert_eq!(const_case("type_"), "TYPE");
        assert_eq!(const_case("_"), "FIELD");
    }

    #[test]
    fn rename_targets_are_validated() {
        assert!(is_snake_ident("greeting"));
        assert!(is_snake_ident("sales_channel_2"));
        assert!(!is_snake_ident("Greeting"));
        assert!(!is_snake_ident("type"));
        assert!(!is_snake_ident("2x"));
        assert!(!is_snake_ident("with space"));
        assert!(!is_snake_ident(""));
        assert!(is_pascal_ident("Website"));
        assert!(!is_pascal_ident("website"));
        assert!(!is_pascal_ident("Self"));
        assert!(is_ident("_9x") && is_ident("F1") && is_ident("self_"));
        for bad in [
            "", "_", "9x", "Foo-Bar", "Deal!", "self", "gen", "Цена", "a b",
        ] {
            assert!(!is_ident(bad), "{bad}");
        }
    }

    #[test]
    fn field_pascal_never_starts_with_a_digit() {
        assert_eq!(field_pascal("_1"), "F1");
        assert_eq!(field_pascal("_9x"), "F9x");
        assert_eq!(field_pascal("_"), "Field");
        assert_eq!(field_pascal("sales_channel"), "SalesChannel");
    }

    #[test]
    fn item_names_follow_the_portal_rule_and_invert() {
        for (code, item) in [
            ("ASSIGNED_BY_ID", "assignedById"),
            ("TITLE", "title"),
            ("UF_CRM_1721244707107", "ufCrm_1721244707107"),
            ("UF_CRM_2_1639669411830", "ufCrm2_1639669411830"),
            ("UF_CRM_44_1721812760630", "ufCrm44_1721812760630"),
            ("PARENT_ID_153", "parentId153"),
            ("STAGE_ID", "stageId"),
            ("UTM_SOURCE", "utmSource"),
            // The table of `universal/index.md`.
            ("UF_CRM_3_DIGIT", "ufCrm3Digit"),
            ("UF_CRM_3_1747309727", "ufCrm3_1747309727"),
            ("UF_CRM_3_DIGIT10", "ufCrm_3_DIGIT10"),
            ("UF_CRM_3_DIGIT_10", "ufCrm_3_DIGIT_10"),
            ("UF_CRM_1747309879", "ufCrm_1747309879"),
            ("UF_CRM_10_5186744711", "ufCrm10_5186744711"),
            ("UF_CRM_69EE4F347BF80", "ufCrm_69EE4F347BF80"),
        ] {
            assert_eq!(item_name(code), item, "{code}");
            assert_eq!(upper_name(item), code, "{item}");
        }
        assert_eq!(upper_name("UF_CRM_5"), "UF_CRM_5");
        // Odd input never panics and stays deterministic.
        for odd in [
            "",
            "_",
            "UF_CRM_",
            "PARENT_ID_",
            "ЖЖ_ЖЖ",
            "__x__",
            "ufCrm",
            "parentId",
        ] {
            let _ = (item_name(odd), upper_name(odd));
        }
    }
}
