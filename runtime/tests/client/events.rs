//! Events over real HTTP: the `axum` endpoint's answers (200 / 400 / 401 / 503) for bodies
//! posted over loopback and for the emulator's deliveries, binding, offline drains across a
//! crash and a failing handler, and `auth_connector`.

#[cfg(feature = "axum")]
mod endpoint {
    use std::collections::HashMap;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use bitrix_runtime::events::{self, Change, EventEntity, EventKind, RecordAction, Verifier};
    use bitrix_runtime::types::DealId;

    use crate::common::{Deal, DealPatch, client, emulator};

    const TOKEN: &str = "51856fefc120afa4b628cc82d3935cce";

    /// Serves `router` on a loopback port; returns its address.
    async fn serve(router: axum::Router) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        format!("http://{addr}/")
    }

    fn body(id: u64, token: &str) -> String {
        let ts = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        format!(
            "event=ONCRMDEALADD&event_handler_id=185&data%5BFIELDS%5D%5BID%5D={id}&ts={ts}\
             &auth%5Bdomain%5D=some-domain.bitrix24.com&auth%5Bmember_id%5D=m1\
             &auth%5Bapplication_token%5D={token}"
        )
    }

    async fn post(url: &str, body: String) -> (u16, String) {
        let resp = reqwest::Client::new()
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    #[tokio::test]
    async fn the_endpoint_answers_by_verdict_and_queues_only_verified_events() {
        let (router, mut rx) = events::axum::endpoint(Verifier::new(TOKEN).member_id("m1"));
        let url = serve(router).await;

        assert_eq!(post(&url, body(1, TOKEN)).await.0, 200);
        let (status, text) = post(&url, body(2, "forged")).await;
        assert_eq!(status, 401);
        assert!(!text.contains("forged") && !text.contains(TOKEN), "{text}");
        assert_eq!(post(&url, "event=".into()).await.0, 400);
        // The accepted body again: a replay.
        assert_eq!(post(&url, body(1, TOKEN)).await.0, 401);

        let event = rx.recv().await.unwrap();
        assert_eq!(
            event.kind(),
            &EventKind::Record {
                entity: EventEntity::Deal,
                action: RecordAction::Add,
                id: 1
            }
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(rx.try_recv().is_none(), "only the verified event is queued");
    }

    #[tokio::test]
    async fn a_full_queue_answers_503_and_the_event_can_come_again() {
        let (router, mut rx) = events::axum::endpoint_with_capacity(Verifier::new(TOKEN), 1);
        let url = serve(router).await;
        assert_eq!(post(&url, body(1, TOKEN)).await.0, 200);
        let second = body(2, TOKEN);
        assert_eq!(post(&url, second.clone()).await.0, 503);
        assert_eq!(
            rx.recv().await.unwrap().kind().record(),
            Some((EventEntity::Deal, 1))
        );
        // Refused with 503, the body was not remembered: delivered again, it is accepted.
        assert_eq!(post(&url, second).await.0, 200);
        assert_eq!(
            rx.recv().await.unwrap().kind().record(),
            Some((EventEntity::Deal, 2))
        );
    }

    /// Counts (event name, id) pairs.
    fn tally<'a>(pairs: impl IntoIterator<Item = (&'a str, u64)>) -> HashMap<(String, u64), usize> {
        let mut counts = HashMap::new();
        for (name, id) in pairs {
            *counts.entry((name.to_owned(), id)).or_insert(0) += 1;
        }
        counts
    }

    /// An endpoint for the emulator's application, bound to the deal events `names`.
    async fn bound_endpoint(
        emu: &bitrix_emulator::Emulator,
        app: &bitrix_runtime::Client,
        names: &[&str],
    ) -> events::EventReceiver {
        let verifier = Verifier::new(emu.application_token()).member_id(emu.oauth().member_id);
        let (router, rx) = events::axum::endpoint(verifier);
        let url = serve(router).await;
        for name in names {
            let binding = events::EventBinding::online(*name, url.as_str());
            assert!(app.events().bind(&binding).await.unwrap());
        }
        rx
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_endpoint_gets_exactly_one_event_per_change_under_concurrent_writes() {
        const TASKS: usize = 8;
        const PER_TASK: usize = 5;
        let emu = emulator(0).await;
        let app = super::portal::app(&emu);
        let mut rx = bound_endpoint(&emu, &app, &["ONCRMDEALADD", "onCrmDealUpdate"]).await;

        let writer = client(&emu);
        let mut tasks = Vec::new();
        for t in 0..TASKS {
            let writer = writer.clone();
            tasks.push(tokio::spawn(async move {
                let ids = super::portal::create(&writer, PER_TASK).await;
                for &id in &ids {
                    let patch = DealPatch::new().title(format!("task {t} updated"));
                    writer.update(DealId(id), &patch).await.unwrap();
                }
                ids
            }));
        }
        let mut ids = Vec::new();
        for task in tasks {
            ids.extend(task.await.unwrap());
        }
        emu.events_idle().await;

        let mut received = Vec::new();
        while let Some(event) = rx.try_recv() {
            received.push(event);
        }
        let counts = tally(received.iter().map(|e| {
            let (_, id) = e.kind().record().expect("a deal record event");
            (e.name(), id)
        }));
        assert_eq!(received.len(), 2 * TASKS * PER_TASK, "{counts:?}");
        for id in &ids {
            for name in ["ONCRMDEALADD", "ONCRMDEALUPDATE"] {
                assert_eq!(counts.get(&(name.to_owned(), *id)), Some(&1), "{name} {id}");
            }
        }
        assert_eq!(emu.events_delivered(), (2 * TASKS * PER_TASK) as u64);
        assert!(
            received
                .iter()
                .all(|e| e.auth().application_token().is_some())
        );
    }

    #[derive(Debug, Clone, PartialEq, bitrix_runtime::Projection)]
    #[bitrix(entity = Deal)]
    struct Row {
        id: DealId,
        title: Option<String>,
    }

    #[tokio::test]
    async fn records_re_reads_the_changed_deals_once_each_and_reports_deletes() {
        let emu = emulator(0).await;
        let app = super::portal::app(&emu);
        let rx = bound_endpoint(
            &emu,
            &app,
            &["ONCRMDEALADD", "ONCRMDEALUPDATE", "ONCRMDEALDELETE"],
        )
        .await;
        let writer = client(&emu);
        let ids = super::portal::create(&writer, 3).await;
        writer
            .update(DealId(ids[1]), &DealPatch::new().title("renamed"))
            .await
            .unwrap();
        writer.delete::<Deal>(DealId(ids[2])).await.unwrap();
        emu.events_idle().await;

        let mut records = rx.records::<Row>(&app).linger(Duration::from_millis(200));
        let mut changes = Vec::new();
        for _ in 0..3 {
            changes.push(records.next().await.unwrap().unwrap());
        }
        assert_eq!(
            changes,
            vec![
                Change::Upserted(Row {
                    id: DealId(ids[0]),
                    title: Some("Event 0".into())
                }),
                Change::Upserted(Row {
                    id: DealId(ids[1]),
                    title: Some("renamed".into())
                }),
                Change::Deleted(DealId(ids[2])),
            ]
        );
    }
}

/// Binding, offline drains and `auth_connector` against the emulator (OAuth: `event.*` needs
/// an application).
mod portal {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use bitrix_runtime::events::{
        BoundHandler, DrainError, EventBinding, EventEntity, EventKind, EventName, OfflineEvent,
        RecordAction,
    };
    use bitrix_runtime::{ApiErrorCode, Client, Error, InMemoryTokenStore, Plan};

    use crate::common::{client, emulator, fast_retry, oauth_client, titled, tokens};

    pub(super) fn app(emu: &bitrix_emulator::Emulator) -> Client {
        oauth_client(emu, Arc::new(InMemoryTokenStore::new()))
    }

    /// Creates `n` deals through `client`; returns their ids.
    pub(super) async fn create(client: &Client, n: usize) -> Vec<u64> {
        let mut ids = Vec::new();
        for i in 0..n {
            ids.push(client.add(&titled(&format!("Event {i}"))).await.unwrap().0);
        }
        ids
    }

    fn deal_id(event: &OfflineEvent) -> u64 {
        match event.kind() {
            EventKind::Record {
                entity: EventEntity::Deal,
                id,
                ..
            } => *id,
            other => panic!("not a deal record event: {other:?}"),
        }
    }

    #[tokio::test]
    async fn bind_get_and_unbind_round_trip_with_typed_fields() -> Result<(), Error> {
        let emu = emulator(0).await;
        let events = app(&emu).events();
        let online = EventBinding::online(
            (EventEntity::Deal, RecordAction::Add),
            "http://127.0.0.1:9/hook",
        );
        let offline = EventBinding::offline("onCrmDealUpdate");
        assert!(events.bind(&online).await?);
        assert!(events.bind(&online).await?, "binding twice is accepted");
        assert!(events.bind(&offline).await?);
        let mut bound = events.get().await?;
        bound.sort_by(|a, b| a.event.cmp(&b.event));
        assert_eq!(bound.len(), 2, "{bound:?}");
        assert_eq!(
            bound[0],
            BoundHandler {
                event: EventName::from("ONCRMDEALADD"),
                handler: Some("http://127.0.0.1:9/hook".into()),
                auth_type: bound[0].auth_type,
                offline: false,
            }
        );
        assert_eq!(bound[1].event.as_str(), "ONCRMDEALUPDATE");
        assert!(bound[1].offline);

        assert_eq!(events.unbind(&online).await?, 1);
        assert_eq!(events.unbind(&online).await?, 0);
        let left = events.get().await?;
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].event.as_str(), "ONCRMDEALUPDATE");
        Ok(())
    }

    #[tokio::test]
    async fn a_webhook_client_is_told_that_events_need_an_oauth_application() {
        let emu = emulator(0).await;
        let err = client(&emu)
            .events()
            .bind(&EventBinding::offline("ONCRMDEALADD"))
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, Error::InvalidRequest { .. }), "{err:?}");
        assert!(
            text.contains("WRONG_AUTH_TYPE") && text.contains("OAuth"),
            "{text}"
        );
        assert!(text.contains(".oauth("), "says how to fix it: {text}");
    }

    #[tokio::test]
    async fn an_unknown_event_is_refused_by_name() {
        let emu = emulator(0).await;
        let err = app(&emu)
            .events()
            .bind(&EventBinding::offline("ONNOSUCHTHING"))
            .await
            .unwrap_err();
        assert_eq!(
            err.api_code(),
            Some(&ApiErrorCode::Other("ERROR_EVENT_NOT_FOUND".into())),
            "{err}"
        );
    }

    /// An emulator whose application has an offline binding of ONCRMDEALADD, after `n` deals
    /// were created (by the webhook); their ids.
    async fn offline_deals(n: usize) -> (bitrix_emulator::Emulator, Client, Vec<u64>) {
        let emu = emulator(0).await;
        let app = app(&emu);
        app.events()
            .bind(&EventBinding::offline("ONCRMDEALADD"))
            .await
            .unwrap();
        let ids = create(&client(&emu), n).await;
        (emu, app, ids)
    }

    /// One id per handled event, in order.
    type Seen = Arc<Mutex<Vec<u64>>>;

    /// A handler that records each event's deal id in `seen` and succeeds.
    fn record_into(
        seen: &Seen,
    ) -> impl FnMut(OfflineEvent) -> std::future::Ready<Result<(), std::io::Error>> + use<> {
        let seen = seen.clone();
        move |event| {
            seen.lock().unwrap().push(deal_id(&event));
            std::future::ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn a_drain_dropped_mid_handler_resumes_without_loss_or_duplicates() {
        let (_emu, app, ids) = offline_deals(25).await;

        let started: Seen = Arc::default();
        let done: Seen = Arc::default();
        let mut drain = app.events().offline().limit(10);
        // The 5th event's handler never finishes: the drain future is dropped mid-handler
        // (a crash while handling).
        // Once the 5th handler has started, the drain future is dropped (a crash).
        let fifth = Arc::new(tokio::sync::Notify::new());
        let run = {
            let (started, done, fifth) = (started.clone(), done.clone(), fifth.clone());
            drain.run_once(move |event| {
                let (started, done, fifth) = (started.clone(), done.clone(), fifth.clone());
                async move {
                    let id = deal_id(&event);
                    let n = {
                        let mut s = started.lock().unwrap();
                        s.push(id);
                        s.len()
                    };
                    if n == 5 {
                        fifth.notify_one();
                        std::future::pending::<()>().await;
                    }
                    done.lock().unwrap().push(id);
                    Ok::<(), std::io::Error>(())
                }
            })
        };
        tokio::select! {
            r = run => panic!("the drain ended before the crash: {r:?}"),
            () = fifth.notified() => {}
        }
        let process_id = drain
            .process_id()
            .expect("reserved under a process")
            .to_owned();
        assert_eq!(done.lock().unwrap().len(), 4);

        // A new drain (after a restart) resumes the process.
        let mut resumed = app.events().offline().limit(10).resume(process_id);
        loop {
            let report = resumed.run_once(record_into(&done)).await.unwrap();
            assert_eq!(report.cleared, report.delivered, "{report:?}");
            if report.delivered == 0 {
                break;
            }
        }
        let mut done = done.lock().unwrap().clone();
        done.sort_unstable();
        assert_eq!(done, ids, "every deal handled to the end exactly once");
        // The queue is empty: nothing left reserved or waiting.
        let mut fresh = app.events().offline();
        let report = fresh
            .run_once(|_| async { Ok::<(), std::io::Error>(()) })
            .await
            .unwrap();
        assert_eq!(report.delivered, 0);
    }

    #[tokio::test]
    async fn a_failing_handler_marks_its_event_and_stops_the_rest_stays_reserved() {
        let (_emu, app, ids) = offline_deals(6).await;
        let bad = ids[2];

        let seen: Seen = Arc::default();
        let handler = |seen: Seen| {
            move |event: OfflineEvent| {
                let seen = seen.clone();
                async move {
                    let id = deal_id(&event);
                    if id == bad {
                        return Err(std::io::Error::other(format!("cannot sync deal {id}")));
                    }
                    seen.lock().unwrap().push(id);
                    Ok(())
                }
            }
        };
        let mut drain = app.events().offline();
        let err = drain.run_once(handler(seen.clone())).await.unwrap_err();
        match &err {
            DrainError::Handler { event, report, .. } => {
                assert_eq!(deal_id(event), bad);
                assert_eq!((report.delivered, report.cleared, report.failed), (2, 2, 1));
            }
            other => panic!("{other}"),
        }
        assert!(err.to_string().contains("event.offline.error"), "{err}");
        let pid = drain.process_id().unwrap().to_owned();

        let mut resumed = app.events().offline().resume(pid);
        let report = resumed.run_once(handler(seen.clone())).await.unwrap();
        assert_eq!(report.delivered, 3, "the reserved rest, not the failed one");
        let mut seen_ids = seen.lock().unwrap().clone();
        seen_ids.sort_unstable();
        let expected: Vec<u64> = ids.iter().copied().filter(|&i| i != bad).collect();
        assert_eq!(seen_ids, expected);

        // The failed event waits among the errors.
        let mut errors = app.events().offline().errors(true);
        let again: Seen = Arc::default();
        let report = errors.run_once(record_into(&again)).await.unwrap();
        assert_eq!(report.delivered, 1);
        assert_eq!(*again.lock().unwrap(), vec![bad]);
    }

    #[tokio::test]
    async fn auth_connector_keeps_the_applications_own_writes_out_of_its_queue() {
        let emu = emulator(0).await;
        let app = app(&emu);
        app.events()
            .bind(&EventBinding::offline("ONCRMDEALADD").auth_connector("sync"))
            .await
            .unwrap();
        let syncing = Client::builder()
            .oauth(tokens(&emu))
            .plan(Plan::Unlimited)
            .retry(fast_retry())
            .auth_connector("sync")
            .build()
            .unwrap();
        let own = create(&syncing, 2).await;
        // A batch carries the key too.
        let mut batch = syncing.batch();
        let handle = batch.add(&titled("own, in a batch"));
        let own_batch = batch.send().await.unwrap().get(handle).unwrap().0;
        let foreign = create(&client(&emu), 2).await;

        let seen: Seen = Arc::default();
        let mut drain = app.events().offline().auth_connector("sync");
        drain.run_once(record_into(&seen)).await.unwrap();
        let mut seen = seen.lock().unwrap().clone();
        seen.sort_unstable();
        assert_eq!(seen, foreign, "own writes {own:?} and {own_batch} stay out");
    }

    #[tokio::test]
    async fn run_loops_waits_when_idle_and_picks_up_later_changes() {
        let (emu, app, mut ids) = offline_deals(7).await;
        let writer = client(&emu);
        let seen: Seen = Arc::default();
        let mut drain = app.events().offline().limit(3).clear_every(2);
        let run = drain.run(record_into(&seen), Duration::from_millis(20));
        let later = async {
            tokio::time::sleep(Duration::from_millis(150)).await;
            let more = create(&writer, 2).await;
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            while seen.lock().unwrap().len() < 9 && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            // A few idle rounds more: nothing comes twice.
            tokio::time::sleep(Duration::from_millis(100)).await;
            more
        };
        let more = tokio::select! {
            r = run => panic!("run loops until it is dropped, but it ended: {r:?}"),
            more = later => more,
        };
        ids.extend(more);
        assert_eq!(*seen.lock().unwrap(), ids, "in order, once each");
        let total = drain.total();
        assert_eq!((total.delivered, total.cleared, total.failed), (9, 9, 0));
    }

    #[tokio::test]
    async fn records_from_any_server_keep_other_events_in_order() {
        use bitrix_runtime::events::{self, Change};
        use bitrix_runtime::types::DealId;

        let emu = emulator(0).await;
        let app = app(&emu);
        let ids = create(&client(&emu), 2).await;
        let (tx, rx) = events::channel(8);
        let body = |name: &str, id: u64| format!("event={name}&data%5BFIELDS%5D%5BID%5D={id}&ts=1");
        for (name, id) in [
            ("ONCRMDEALUPDATE", ids[0]),
            ("ONCRMLEADADD", 77),
            ("ONCRMDEALUPDATE", ids[1]),
            ("ONCRMDEALUPDATE", ids[0]),
        ] {
            tx.send(events::parse(body(name, id).as_bytes()).unwrap())
                .await
                .unwrap();
        }
        drop(tx);
        let mut records = rx.records::<crate::common::Deal>(&app);
        let mut got = Vec::new();
        while let Some(change) = records.next().await {
            got.push(match change.unwrap() {
                Change::Upserted(deal) => format!("upserted {}", deal.id.unwrap().0),
                Change::Deleted(DealId(id)) => format!("deleted {id}"),
                Change::Other(event) => format!("other {}", event.name()),
            });
        }
        assert_eq!(
            got,
            vec![
                format!("upserted {}", ids[0]),
                "other ONCRMLEADADD".to_owned(),
                format!("upserted {}", ids[1]),
            ],
            "two updates of one deal in a window are one re-read"
        );
    }

    /// A re-read that fails (the portal answers 500 to everything, past the client's
    /// retries) is an error, and the next call reads the same records again once the portal
    /// is back: the events of that window are not lost.
    #[tokio::test]
    async fn a_failed_re_read_is_reported_and_done_again_on_the_next_call() {
        use bitrix_emulator::{FaultRates, Faults};
        use bitrix_runtime::events::{self, Change};

        let emu = emulator(0).await;
        let app = app(&emu);
        let ids = create(&client(&emu), 1).await;
        let (tx, rx) = events::channel(8);
        let body = format!(
            "event=ONCRMDEALUPDATE&data%5BFIELDS%5D%5BID%5D={}&ts=1",
            ids[0]
        );
        tx.send(events::parse(body.as_bytes()).unwrap())
            .await
            .unwrap();
        drop(tx);
        let mut records = rx.records::<crate::common::Deal>(&app);
        emu.set_faults(Faults::all(FaultRates::default().internal_error(1.0)));
        let failed = records.next().await.expect("an answer");
        assert!(failed.is_err(), "the portal fails every call: {failed:?}");
        emu.set_faults(Faults::none());
        match records.next().await {
            Some(Ok(Change::Upserted(deal))) => assert_eq!(deal.id.map(|i| i.0), Some(ids[0])),
            other => panic!("the failed window is read again: {other:?}"),
        }
        assert!(records.next().await.is_none(), "and only once");
    }
}
