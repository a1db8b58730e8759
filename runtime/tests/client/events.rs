//! Events against real HTTP: the `axum` endpoint's answers (200 / 400 / 401 / 503) for
//! bodies posted over loopback.

#[cfg(feature = "axum")]
mod endpoint {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use bitrix_runtime::events::{self, EventEntity, EventKind, RecordAction, Verifier};

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
}
