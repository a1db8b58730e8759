//! The item route (`crm.item.*`) against a raw fake server: exact methods, `entityTypeId`,
//! camelCase keys, envelopes, the `>id` export with its batch references, decimal and id
//! decoding from JSON numbers, the client-wide override and the refusals that happen before
//! any request.

#[macro_use]
#[path = "items/entities.rs"]
pub(crate) mod entities;

use std::str::FromStr;
use std::sync::{Arc, Mutex};

use crate::common::fast_retry;
use crate::faults::{Script, json_answer, routed, script_client};
use bitrix_runtime::types::{
    EmailType, FileUpload, ItemId, LeadId, Multifield, MultifieldOps, PhoneType,
};
use bitrix_runtime::{AddParams, Api, Client, Error, Patch, UpdateParams};
use entities::{Lead, LeadPatch, NewLead, Spa};
use futures::TryStreamExt;
use rust_decimal::Decimal;
use serde_json::{Value, json};

/// One request as the server saw it: the method (last path segment) and the JSON body.
pub(crate) type Seen = Arc<Mutex<Vec<(String, Value)>>>;

/// A fake portal that records every request and answers `answer(method, body)`.
pub(crate) async fn portal(
    answer: impl Fn(&str, &Value) -> Value + Send + Sync + 'static,
) -> (Script, Seen) {
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let script = routed(Arc::new(move |request: &str| {
        let path = request.split_whitespace().nth(1).unwrap_or("");
        let method = path
            .rsplit('/')
            .next()
            .unwrap_or("")
            .trim_end_matches(".json")
            .to_owned();
        let body = request
            .split_once("\r\n\r\n")
            .and_then(|(_, b)| serde_json::from_str(b).ok())
            .unwrap_or(Value::Null);
        let reply = answer(&method, &body);
        log.lock().unwrap().push((method, body));
        Some(json_answer(200, reply))
    }))
    .await;
    (script, seen)
}

pub(crate) fn requests(seen: &Seen) -> Vec<(String, Value)> {
    seen.lock().unwrap().clone()
}

fn item_row(id: u64) -> Value {
    json!({"id": id, "title": format!("Lead {id}"), "stageId": "NEW", "opportunity": 10.5})
}

fn items(ids: std::ops::RangeInclusive<u64>) -> Value {
    json!({"items": ids.map(item_row).collect::<Vec<_>>()})
}

/// The `cmd` of a batch body, command by command.
pub(crate) fn commands(body: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = body["cmd"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
                .collect()
        })
        .unwrap_or_default();
    out.sort_by_key(|(k, _)| (k.len(), k.clone()));
    out
}

/// A query string with its percent escapes decoded (for readable assertions).
pub(crate) fn decoded(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 3 <= bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn crud_on_the_item_api_speaks_its_wire_shape() {
    let (script, seen) = portal(|method, _| match method {
        "crm.item.add" => json!({"result": {"item": {"id": 394, "title": "Big"}}}),
        "crm.item.get" => json!({"result": {"item": {
            "id": 394, "title": "Big", "stageId": "NEW", "opportunity": 999.9,
            "opened": "Y", "createdTime": "2024-07-18T14:00:14+02:00", "ufCrmFlag": true,
            "ufCrmDoc": {"id": 77, "url": "/show/77", "urlMachine": "https://portal/rest/77"},
            "newField": 5,
            "fm": [
                {"id": 3, "typeId": "PHONE", "valueType": "WORK", "value": "+7 1"},
                {"id": 4, "typeId": "IM", "valueType": "TELEGRAM", "value": "@me"},
                {"id": 5, "typeId": "PHONE", "valueType": "PAGER", "value": "+7 2"}
            ]
        }}}),
        "crm.item.update" => json!({"result": {"item": {"id": 394}}}),
        "crm.item.delete" => json!({"result": []}),
        _ => json!({"error": "ERROR_METHOD_NOT_FOUND", "error_description": method}),
    })
    .await;
    let client = script_client(&script, fast_retry()).with_api(Api::Item);
    assert_eq!(client.api(), Some(Api::Item));

    let new = NewLead {
        title: Some("Big".into()),
        opportunity: Some(Decimal::from_str("999.90").unwrap()),
        opened: Some(true),
        uf_crm_doc: Some(FileUpload::new("a.txt", b"hi".to_vec())),
        phone: Some(
            MultifieldOps::new()
                .add(PhoneType::Work, "+1 1")
                .add(PhoneType::Mobile, "+1 2"),
        ),
        email: Some((EmailType::Home, "a@b.c").into()),
        ..NewLead::default()
    };
    assert_eq!(client.add(&new).await.unwrap(), LeadId(394));

    let lead: Lead = client.get(LeadId(394)).await.unwrap();
    assert_eq!(lead.id, Some(LeadId(394)));
    assert_eq!(lead.status_id.as_ref().map(|s| s.as_str()), Some("NEW"));
    assert_eq!(lead.opportunity, Some(Decimal::from_str("999.9").unwrap()));
    assert_eq!(lead.opened, Some(true));
    assert_eq!(lead.uf_crm_flag, Some(true));
    assert_eq!(
        lead.date_create.map(|d| d.to_rfc3339()),
        Some("2024-07-18T14:00:14+02:00".into())
    );
    let doc = lead.uf_crm_doc.unwrap();
    assert_eq!(doc.id.0, 77);
    assert_eq!(doc.show_url.as_deref(), Some("/show/77"));
    assert_eq!(doc.download_url.as_deref(), Some("https://portal/rest/77"));
    assert_eq!(lead.extra.get("newField"), Some(&json!(5)));
    // `fm` fills the multifields its entries name; the others stay in `extra`.
    let phones = lead.phone.unwrap();
    assert_eq!(
        phones
            .iter()
            .map(|p| (p.id, &p.value_type))
            .collect::<Vec<_>>(),
        [(Some(3), &PhoneType::Work), (Some(5), &PhoneType::Pager)]
    );
    assert_eq!(lead.email, None);
    assert_eq!(
        lead.extra.get("fm"),
        Some(&json!([{"id": 4, "typeId": "IM", "valueType": "TELEGRAM", "value": "@me"}]))
    );

    let patch = LeadPatch {
        title: Patch::Set("Bigger".into()),
        phone: Patch::Set(
            MultifieldOps::new()
                .change(223, PhoneType::Fax, "+1 3")
                .delete(224)
                .add(PhoneType::Home, "+1 4"),
        ),
        ..LeadPatch::default()
    };
    client.update(LeadId(394), &patch).await.unwrap();
    client.delete::<Lead>(LeadId(394)).await.unwrap();

    let seen = requests(&seen);
    let methods: Vec<&str> = seen.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(
        methods,
        [
            "crm.item.add",
            "crm.item.get",
            "crm.item.update",
            "crm.item.delete"
        ]
    );
    assert_eq!(
        seen[0].1,
        json!({"entityTypeId": 1, "fields": {
            "title": "Big", "opportunity": "999.90", "opened": "Y",
            "ufCrmDoc": ["a.txt", "aGk="],
            "fm": {
                "n0": {"typeId": "PHONE", "valueType": "WORK", "value": "+1 1"},
                "n1": {"typeId": "PHONE", "valueType": "MOBILE", "value": "+1 2"},
                "n2": {"typeId": "EMAIL", "valueType": "HOME", "value": "a@b.c"}
            }
        }})
    );
    assert_eq!(seen[1].1, json!({"entityTypeId": 1, "id": 394}));
    assert_eq!(
        seen[2].1,
        json!({"entityTypeId": 1, "id": 394, "fields": {
            "title": "Bigger",
            "fm": {
                "223": {"typeId": "PHONE", "valueType": "FAX", "value": "+1 3"},
                "224": {"typeId": "PHONE", "value": ""},
                "n0": {"typeId": "PHONE", "valueType": "HOME", "value": "+1 4"}
            }
        }})
    );
    assert_eq!(seen[3].1, json!({"entityTypeId": 1, "id": 394}));
}

#[tokio::test]
async fn the_legacy_api_stays_the_default_with_its_own_forms() {
    let (script, seen) = portal(|method, _| match method {
        "crm.lead.add" => json!({"result": "12"}),
        "crm.lead.get" => json!({"result": {"ID": "12", "OPPORTUNITY": "1000000.10",
            "PHONE": [{"ID": "3", "VALUE_TYPE": "WORK", "VALUE": "+7", "TYPE_ID": "PHONE"}]}}),
        _ => json!({"error": "ERROR_METHOD_NOT_FOUND", "error_description": method}),
    })
    .await;
    let client = script_client(&script, fast_retry());
    assert_eq!(client.api(), None);
    let new = NewLead {
        title: Some("Small".into()),
        phone: Some((PhoneType::Work, "+7").into()),
        ..NewLead::default()
    };
    assert_eq!(client.add(&new).await.unwrap(), LeadId(12));
    let lead: Lead = client.get(LeadId(12)).await.unwrap();
    assert_eq!(
        lead.opportunity,
        Some(Decimal::from_str("1000000.10").unwrap())
    );
    assert_eq!(
        lead.phone,
        Some(vec![Multifield {
            id: Some(3),
            value_type: PhoneType::Work,
            value: "+7".into()
        }])
    );
    let seen = requests(&seen);
    assert_eq!(seen[0].0, "crm.lead.add");
    assert_eq!(
        seen[0].1,
        json!({"fields": {"TITLE": "Small", "PHONE": [{"VALUE_TYPE": "WORK", "VALUE": "+7"}]}})
    );
    assert_eq!(seen[1], ("crm.lead.get".into(), json!({"id": 12})));
}

#[tokio::test]
async fn item_lists_send_item_names_and_export_by_id() {
    let (script, seen) = portal(|method, body| match method {
        "crm.item.list" if body["select"] == json!(["id"]) => {
            json!({"result": {"items": []}, "total": 7})
        }
        "crm.item.list" => json!({"result": items(1..=3), "total": 3}),
        "batch" => {
            let cmds = commands(body);
            if cmds.iter().any(|(k, _)| k == "far") {
                json!({"result": {"result": {"c0": items(1..=50), "far": {"items": [{"id": 120}]}},
                    "result_error": [], "result_total": [], "result_next": [], "result_time": []}})
            } else {
                json!({"result": {"result": {"c0": items(51..=100), "c1": items(101..=120)},
                    "result_error": [], "result_total": [], "result_next": [], "result_time": []}})
            }
        }
        _ => json!({"error": "ERROR_METHOD_NOT_FOUND", "error_description": method}),
    })
    .await;
    let client = script_client(&script, fast_retry()).with_api(Api::Item);
    let query = client
        .list::<Lead>()
        .filter(Lead::STATUS_ID.eq("NEW").and(Lead::UF_CRM_FLAG.eq(true)))
        .select([Lead::TITLE.field(), Lead::PHONE.field()]);
    assert!(query.uses_fast_export());

    let page = query.first_page().await.unwrap();
    assert_eq!(page.items.len(), 3);
    assert_eq!(page.items[2].id, Some(LeadId(3)));
    assert_eq!(page.total, Some(3));
    assert_eq!(query.count().await.unwrap(), 7);

    let rows: Vec<Lead> = query.stream().try_collect().await.unwrap();
    assert_eq!(rows.len(), 120);
    assert!(rows.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(
        rows[0].opportunity,
        Some(Decimal::from_str("10.5").unwrap())
    );

    let seen = requests(&seen);
    assert_eq!(
        seen[0],
        (
            "crm.item.list".into(),
            json!({"entityTypeId": 1, "filter": {"=stageId": "NEW", "=ufCrmFlag": 1},
                   "select": ["*", "id", "title"], "start": 0})
        )
    );
    assert_eq!(
        seen[1].1,
        json!({"entityTypeId": 1, "filter": {"=stageId": "NEW", "=ufCrmFlag": 1},
               "select": ["id"], "start": 0})
    );
    // The export: the first page with the far-end probe, then pages chained by item id.
    assert_eq!(seen[2].0, "batch");
    let first = commands(&seen[2].1);
    assert_eq!(first[0].0, "c0");
    let c0 = decoded(&first[0].1);
    assert!(c0.starts_with("crm.item.list?entityTypeId=1&"), "{c0}");
    for part in [
        "filter[=stageId]=NEW",
        "filter[=ufCrmFlag]=1",
        "order[id]=ASC",
        "select[0]=*",
        "select[1]=id",
        "select[2]=title",
        "start=-1",
    ] {
        assert!(c0.contains(part), "{part} in {c0}");
    }
    assert!(!c0.contains(">id"), "{c0}");
    let far = decoded(&first[1].1);
    assert!(
        far.contains("order[id]=DESC") && far.contains("select[0]=id"),
        "{far}"
    );
    let next = commands(&seen[3].1);
    assert!(next.len() >= 2, "{next:?}");
    assert!(decoded(&next[0].1).contains("filter[>id]=50"), "{next:?}");
    assert!(
        decoded(&next[1].1).contains("filter[>id]=$result[c0][items][49][id]"),
        "{next:?}"
    );
    assert_eq!(seen.len(), 4);
}

#[tokio::test]
async fn item_batches_read_the_item_envelopes() {
    let (script, seen) = portal(|_, _| {
        json!({"result": {"result": {
            "c0": {"item": {"id": 5}},
            "c1": {"item": {"id": 6, "title": "Six", "opportunity": 0.1}},
            "c2": {"item": {"id": 6}},
            "c3": [],
            "c4": {"items": [item_row(6), item_row(7)]}
        }, "result_error": [], "result_total": {"c4": 2}, "result_next": [], "result_time": []}})
    })
    .await;
    let client = script_client(&script, fast_retry()).with_api(Api::Item);
    let mut batch = client.batch();
    let new = NewLead {
        title: Some("Five".into()),
        ..NewLead::default()
    };
    let added = batch.add(&new);
    let read = batch.get::<Lead>(LeadId(6));
    let patch = LeadPatch {
        title: Patch::Set("Six".into()),
        ..LeadPatch::default()
    };
    let updated = batch.update(LeadId(6), &patch);
    let deleted = batch.delete::<Lead>(LeadId(7));
    let page = batch.list(&client.list::<Lead>().filter(Lead::ID.gt(LeadId(5))));
    let results = batch.send().await.unwrap();
    assert_eq!(results.get(added).unwrap(), LeadId(5));
    let six = results.get(read).unwrap();
    assert_eq!(six.title.as_deref(), Some("Six"));
    assert_eq!(six.opportunity, Some(Decimal::from_str("0.1").unwrap()));
    results.get(updated).unwrap();
    results.get(deleted).unwrap();
    let page = results.get(page).unwrap();
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.total, Some(2));

    let seen = requests(&seen);
    assert_eq!(seen.len(), 1);
    let cmds: Vec<String> = commands(&seen[0].1)
        .into_iter()
        .map(|(_, c)| decoded(&c))
        .collect();
    assert_eq!(cmds[0], "crm.item.add?entityTypeId=1&fields[title]=Five");
    assert_eq!(cmds[1], "crm.item.get?entityTypeId=1&id=6");
    assert_eq!(
        cmds[2],
        "crm.item.update?entityTypeId=1&id=6&fields[title]=Six"
    );
    assert_eq!(cmds[3], "crm.item.delete?entityTypeId=1&id=7");
    assert!(
        cmds[4].starts_with("crm.item.list?entityTypeId=1&filter[>id]=5&select[0]=*"),
        "{}",
        cmds[4]
    );
}

#[tokio::test]
async fn entities_without_legacy_methods_never_take_them() {
    let (script, seen) = portal(|method, _| match method {
        "crm.item.get" => json!({"result": {"item": {"id": 9, "ufCrm7Amount": 12345678.25}}}),
        _ => json!({"error": "ERROR_METHOD_NOT_FOUND", "error_description": method}),
    })
    .await;
    // The override to the legacy API applies to leads, not to the smart process.
    let client = Client::builder()
        .webhook(format!("{}/rest/1/scriptcode42/", script.addr))
        .plan(bitrix_runtime::Plan::Unlimited)
        .retry(fast_retry())
        .api(Api::Legacy)
        .build()
        .unwrap();
    let spa: Spa = client.get(ItemId(9)).await.unwrap();
    assert_eq!(spa.id, Some(ItemId(9)));
    assert_eq!(
        spa.uf_crm_7_amount,
        Some(Decimal::from_str("12345678.25").unwrap())
    );
    let spa: Spa = client.with_api(Api::Legacy).get(ItemId(9)).await.unwrap();
    assert_eq!(spa.id, Some(ItemId(9)));
    let seen = requests(&seen);
    assert_eq!(seen.len(), 2);
    for (method, body) in seen {
        assert_eq!(method, "crm.item.get");
        assert_eq!(body, json!({"entityTypeId": 1030, "id": 9}));
    }
}

#[tokio::test]
async fn impossible_writes_are_refused_before_any_request() {
    let (script, seen) = portal(|_, _| json!({"result": true})).await;
    let legacy = script_client(&script, fast_retry());
    let item = legacy.with_api(Api::Item);
    // A create payload cannot change stored multifield values, on either API.
    let new = NewLead {
        phone: Some(MultifieldOps::new().change(3, PhoneType::Work, "+7")),
        ..NewLead::default()
    };
    for client in [&legacy, &item] {
        let e = client.add(&new).await.unwrap_err();
        assert!(matches!(e, Error::InvalidRequest { .. }), "{e}");
        assert!(e.to_string().contains("PHONE"), "{e}");
    }
    // Nonsense multifield writes never serialize.
    let patch = LeadPatch {
        phone: Patch::Set(MultifieldOps::new().delete(0)),
        ..LeadPatch::default()
    };
    let e = item.update(LeadId(1), &patch).await.unwrap_err();
    assert!(matches!(e, Error::InvalidRequest { .. }), "{e}");
    // crm.item.* has no REGISTER_* parameters.
    let title = NewLead {
        title: Some("x".into()),
        ..NewLead::default()
    };
    let params = AddParams {
        register_sonet_event: Some(false),
        ..AddParams::default()
    };
    let e = item.add_with(&title, params).await.unwrap_err();
    assert!(e.to_string().contains("REGISTER_SONET_EVENT"), "{e}");
    let params = UpdateParams {
        register_history_event: Some(true),
        ..UpdateParams::default()
    };
    let patch = LeadPatch {
        title: Patch::Set("y".into()),
        ..LeadPatch::default()
    };
    let e = item
        .update_with(LeadId(1), &patch, params)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("REGISTER_HISTORY_EVENT"), "{e}");
    assert!(requests(&seen).is_empty());
}

pub(crate) fn batch_of(result: Value) -> Value {
    json!({"result": {"result": result, "result_error": [], "result_total": [],
        "result_next": [], "result_time": []}})
}

#[tokio::test]
async fn item_exports_page_by_offset_resume_by_id_and_partition() {
    let (script, seen) = portal(|method, body| {
        let cmds: Vec<(String, String)> = commands(body)
            .into_iter()
            .map(|(k, c)| (k, decoded(&c)))
            .collect();
        let has = |key: &str| cmds.iter().any(|(k, _)| k == key);
        match method {
            "crm.item.list" => json!({"result": items(1..=50), "total": 60, "next": 50}),
            "batch" if has("min") => batch_of(json!({
                "min": {"items": [{"id": 1}]}, "max": {"items": [{"id": 200}]}
            })),
            "batch" if has("far") && cmds[0].1.contains("filter[>id]=100") => batch_of(json!({
                "c0": items(101..=120), "far": {"items": [{"id": 120}]}
            })),
            "batch" if has("far") => batch_of(json!({"c0": {"items": []}, "far": {"items": []}})),
            "batch" => batch_of(json!({"c0": items(51..=60)})),
            _ => json!({"error": "ERROR_METHOD_NOT_FOUND", "error_description": method}),
        }
    })
    .await;
    let client = script_client(&script, fast_retry()).with_api(Api::Item);

    // Offset pages (an order by another field than the id), the id as the tie-breaker.
    let by_title = client
        .list::<Lead>()
        .order(Lead::TITLE.field(), bitrix_runtime::Order::Desc);
    assert!(!by_title.uses_fast_export());
    let rows: Vec<Lead> = by_title.stream().try_collect().await.unwrap();
    assert_eq!(rows.len(), 60);
    let offset = requests(&seen);
    assert_eq!(
        offset[0].1,
        json!({"entityTypeId": 1, "order": {"title": "DESC", "id": "ASC"}, "select": ["*"], "start": 0})
    );
    let page = decoded(&commands(&offset[1].1)[0].1);
    assert!(
        page.contains("order[title]=DESC&order[id]=ASC") && page.contains("start=50"),
        "{page}"
    );

    // A resumed fast export continues after the id, by `>id`.
    let mut stream = client
        .list::<Lead>()
        .stream()
        .resume_from(bitrix_runtime::ResumePoint::after_id(100));
    let mut ids = Vec::new();
    while let Some(row) = futures::StreamExt::next(&mut stream).await {
        ids.push(row.unwrap().id.unwrap().0);
    }
    assert_eq!(ids, (101..=120).collect::<Vec<_>>());
    assert_eq!(stream.resume_point().unwrap().last_id(), Some(120));

    // Partitions: the id range in one request, then one `>id` scan per part, bounded by `<=id`.
    let before = requests(&seen).len();
    let rows: Vec<Lead> = client
        .list::<Lead>()
        .stream_parallel(2)
        .try_collect()
        .await
        .unwrap();
    // The lower part (ids 1..=100) is empty on this portal; the upper one holds 101..=120.
    let mut ids: Vec<u64> = rows.iter().map(|r| r.id.unwrap().0).collect();
    ids.sort_unstable();
    assert_eq!(ids, (101..=120).collect::<Vec<_>>());
    let parallel = &requests(&seen)[before..];
    let range: Vec<String> = commands(&parallel[0].1)
        .into_iter()
        .map(|(_, c)| decoded(&c))
        .collect();
    assert!(
        range
            .iter()
            .any(|c| c.contains("order[id]=ASC") && c.contains("select[0]=id")),
        "{range:?}"
    );
    assert!(
        range.iter().any(|c| c.contains("order[id]=DESC")),
        "{range:?}"
    );
    let parts: Vec<String> = parallel[1..]
        .iter()
        .map(|(_, body)| decoded(&commands(body)[0].1))
        .collect();
    assert_eq!(parts.len(), 2, "{parts:?}");
    assert!(
        parts.iter().any(|p| p.contains("filter[<=id]=100")),
        "{parts:?}"
    );
    assert!(
        parts.iter().all(|p| p.contains("filter[>id]=")),
        "{parts:?}"
    );
}

#[tokio::test]
async fn an_entity_without_item_names_is_refused_on_the_item_api() {
    use entities::{Bare, BarePatch, NewBare};
    let (script, seen) = portal(|_, _| json!({"result": true})).await;
    let client = script_client(&script, fast_retry()).with_api(Api::Item);
    let id = bitrix_runtime::types::DealId(1);
    let new = NewBare {
        title: Some("x".into()),
        ..NewBare::default()
    };
    let patch = BarePatch {
        title: Patch::Set("y".into()),
        ..BarePatch::default()
    };
    let list = client.list::<Bare>();
    let mut batch = client.batch();
    batch.get::<Bare>(id);
    let errors = [
        client.get::<Bare>(id).await.unwrap_err(),
        client.add(&new).await.unwrap_err(),
        client.update(id, &patch).await.unwrap_err(),
        client.delete::<Bare>(id).await.unwrap_err(),
        client.fields::<Bare>().await.unwrap_err(),
        list.first_page().await.unwrap_err(),
        list.count().await.unwrap_err(),
        list.stream().try_collect::<Vec<_>>().await.unwrap_err(),
        list.stream_parallel(4)
            .try_collect::<Vec<_>>()
            .await
            .unwrap_err(),
        batch.send().await.unwrap_err(),
    ];
    for e in errors {
        assert!(matches!(e, Error::InvalidRequest { .. }), "{e}");
        assert!(e.to_string().contains("no crm.item.* field names"), "{e}");
    }
    assert!(requests(&seen).is_empty());
    // The legacy API still serves it.
    script_client(&script, fast_retry())
        .delete::<Bare>(id)
        .await
        .unwrap();
    assert_eq!(requests(&seen)[0].0, "crm.deal.delete");
}
