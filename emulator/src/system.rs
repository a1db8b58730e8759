//! The portal-level methods SDKs call before anything else: `server.time`, `profile`,
//! `user.current`, `user.admin`, `app.info`, `scope`, `methods` and `method.get`, with the
//! shapes of the official REST documentation (`api-reference/common/system/*`,
//! `common/users/profile.md`, `user/user-current.md`).

use chrono::Utc;
use serde_json::{Map, Value, json};

use crate::portal::{Caller, Portal};
use crate::rest::{METHODS, param};
use crate::values::{php_intval, render_datetime};

/// The scopes of the incoming webhook and of the OAuth application: what this portal serves.
/// (`basic` is never listed: its methods are available to everyone.)
pub(crate) const SCOPES: &[&str] = &["crm", "user"];

/// Every scope this portal has (`scope` with `full`): the user scope's limited versions too.
const PORTAL_SCOPES: &[&str] = &["crm", "user", "user_basic", "user_brief"];

/// The plan, as `app.info` reports it (`LICENSE` is the portal's language and the plan).
const PLAN: &str = "pro100";

/// The scopes a method belongs to; empty for the basic methods (`batch`, `scope`, ...).
pub(crate) fn scopes_of(method: &str) -> &'static [&'static str] {
    if method.starts_with("crm.") {
        &["crm"]
    } else if method.starts_with("user.") && method != "user.admin" {
        // user.current: "Scope: user, user_brief, user_basic".
        &["user", "user_brief", "user_basic"]
    } else {
        &[]
    }
}

/// Whether the caller may call `method` (it has one of the method's scopes, or it is basic).
fn available(method: &str) -> bool {
    let scopes = scopes_of(method);
    scopes.is_empty() || scopes.iter().any(|s| SCOPES.contains(s))
}

/// Every method this portal serves, `batch` included, in the order of [`METHODS`].
fn served() -> impl Iterator<Item = &'static str> {
    std::iter::once("batch").chain(METHODS.iter().copied())
}

/// PHP truthiness of a parameter (`"false"` is true in a form body, as the docs warn).
fn php_true(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => !s.is_empty() && s != "0",
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        Some(n) => php_intval(n) != 0,
    }
}

/// The webhook user's personal data (an administrator). The same person answers `profile` and
/// `user.current`.
struct Person {
    name: &'static str,
    last_name: &'static str,
    email: &'static str,
    position: &'static str,
}

const ADMIN: Person = Person {
    name: "Иван",
    last_name: "Петров",
    email: "i.petrov@example.com",
    position: "Руководитель отдела продаж",
};

/// Runs one of this module's methods; `None` when `method` is not one of them.
pub(crate) fn call(
    portal: &Portal,
    method: &str,
    params: &Map<String, Value>,
    caller: Caller,
) -> Option<Value> {
    let now = Utc::now().timestamp();
    Some(match method {
        // "2024-08-05T09:02:13+00:00": the server's zone, not the user's.
        "server.time" => Value::from(render_datetime(now, portal.tz)),
        "profile" => json!({
            "ID": caller.user_id.to_string(),
            "ADMIN": true,
            "NAME": ADMIN.name,
            "LAST_NAME": ADMIN.last_name,
            "PERSONAL_GENDER": "",
            "TIME_ZONE": "",
        }),
        "user.current" => user_current(portal, caller, now),
        "user.admin" => Value::Bool(true),
        "app.info" => app_info(portal, caller),
        "scope" => {
            let all = php_true(param(params, "full"));
            let list = if all { PORTAL_SCOPES } else { SCOPES };
            json!(list)
        }
        "methods" => json!(methods_list(params)),
        "method.get" => {
            // "The parameter key is lowercase only"; the name is compared as given.
            let name = params.get("name").and_then(Value::as_str).unwrap_or("");
            let exists = !name.is_empty() && served().any(|m| m == name);
            json!({"isExisting": exists, "isAvailable": exists && available(name)})
        }
        _ => return None,
    })
}

/// `methods`: without parameters the caller's scopes plus the basic methods; `scope` selects
/// one scope (`""` the basic methods, an unknown code nothing) and wins over `full` (every
/// scope of the portal).
fn methods_list(params: &Map<String, Value>) -> Vec<&'static str> {
    if let Some(scope) = param(params, "scope") {
        let scope = scope.as_str().unwrap_or_default().to_owned();
        return served()
            .filter(|m| {
                let of = scopes_of(m);
                if scope.is_empty() {
                    of.is_empty()
                } else {
                    of.contains(&scope.as_str())
                }
            })
            .collect();
    }
    let full = php_true(param(params, "full"));
    served().filter(|m| full || available(m)).collect()
}

/// `user.current` with the `user` scope: the documented example's keys (`user.current`,
/// `user.get`) in their order, the values' types as there.
fn user_current(portal: &Portal, caller: Caller, now: i64) -> Value {
    let tz = portal.tz;
    let local = chrono::TimeZone::timestamp_opt(&tz, now, 0)
        .single()
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default();
    // Registered on 2024-01-15: a date shown at midnight UTC in the portal's offset.
    let registered = render_datetime(19_737 * 86_400, tz);
    json!({
        "ID": caller.user_id.to_string(),
        "ACTIVE": true,
        "NAME": ADMIN.name,
        "LAST_NAME": ADMIN.last_name,
        "SECOND_NAME": "",
        "EMAIL": ADMIN.email,
        "LAST_LOGIN": render_datetime(now, tz),
        "DATE_REGISTER": registered,
        "TIME_ZONE": "",
        "IS_ONLINE": "Y",
        "LAST_ACTIVITY_DATE": local,
        "PERSONAL_GENDER": "",
        "PERSONAL_WWW": "",
        "PERSONAL_BIRTHDAY": "",
        "PERSONAL_MOBILE": "",
        "PERSONAL_CITY": "",
        "WORK_PHONE": "",
        "WORK_POSITION": ADMIN.position,
        "UF_EMPLOYMENT_DATE": "",
        "UF_DEPARTMENT": [1],
        "USER_TYPE": "employee",
    })
}

/// `app.info`: an incoming webhook gets only `SCOPE` and `LICENSE` (as the official SDKs
/// expect: b24pysdk's `AppInfoWebhook`, b24phpsdk's "webhook credentials will return only
/// SCOPE, LICENSE"); an OAuth application its installation record, a local app's.
fn app_info(portal: &Portal, caller: Caller) -> Value {
    let license = format!("{}_{PLAN}", portal.lang);
    if !caller.app {
        return json!({"SCOPE": SCOPES, "LICENSE": license});
    }
    json!({
        "ID": 1,
        "CODE": portal.app_code,
        "VERSION": 1,
        "STATUS": "L",
        "INSTALLED": true,
        "PAYMENT_EXPIRED": "N",
        "DAYS": null,
        "LANGUAGE_ID": portal.lang.to_string(),
        "LICENSE": license,
        "LICENSE_TYPE": PLAN,
        "LICENSE_FAMILY": "pro",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_served_method_has_a_scope_the_caller_holds() {
        for m in served() {
            assert!(
                available(m),
                "{m} is served but not available to the webhook"
            );
        }
        assert!(methods_list(&Map::new()).contains(&"batch"));
        assert_eq!(scopes_of("crm.deal.get"), ["crm"]);
        assert!(scopes_of("server.time").is_empty());
    }

    #[test]
    fn php_truthiness_of_full() {
        assert!(php_true(Some(&json!("false"))));
        assert!(php_true(Some(&json!(true))));
        assert!(!php_true(Some(&json!("0"))));
        assert!(!php_true(Some(&json!(false))));
        assert!(!php_true(None));
    }
}
