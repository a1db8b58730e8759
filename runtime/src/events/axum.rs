//! An axum 0.8 endpoint for online event handlers (feature `axum`).
//!
//! ```no_run
//! # async fn demo(client: bitrix_runtime::Client) -> std::io::Result<()> {
//! use bitrix_runtime::events::{self, Verifier};
//!
//! let (router, mut events) = events::axum::endpoint(Verifier::new("the application token"));
//! let app = axum::Router::new().nest("/bitrix/events", router);
//! # let _ = app;
//! // serve `app` with axum::serve (axum's `tokio` and `http1` features), then:
//! while let Some(event) = events.recv().await {
//!     println!("{} {:?}", event.name(), event.kind());
//! }
//! # Ok(()) }
//! ```

use std::sync::Arc;

use ::axum::Router;
use ::axum::body::Bytes;
use ::axum::extract::State;
use ::axum::http::StatusCode;
use ::axum::routing::post;
use tokio::sync::mpsc;

use super::event::{Event, Rejection};
use super::receiver::{DEFAULT_CAPACITY, EventReceiver, channel};
use super::verify::Verifier;

#[derive(Clone)]
struct Endpoint {
    verifier: Arc<Verifier>,
    tx: mpsc::Sender<Event>,
}

/// A router answering `POST /` with events checked by `verifier`, and the receiver of the
/// accepted ones (a queue of [`DEFAULT_CAPACITY`]); see [`endpoint_with_capacity`].
pub fn endpoint(verifier: Verifier) -> (Router, EventReceiver) {
    endpoint_with_capacity(verifier, DEFAULT_CAPACITY)
}

/// [`endpoint`] with a queue of `capacity` events.
///
/// The router answers at once, without waiting for the event to be handled:
/// - `200 OK`: verified and queued;
/// - `400 Bad Request`: not an event ([`Rejection::Malformed`]);
/// - `401 Unauthorized`: wrong or missing application token, another portal, or a replay;
/// - `503 Service Unavailable`: the queue is full (the receiver is too slow) or closed. The
///   event is not verified, not remembered and not queued, so nothing is lost silently: the
///   portal logs the failed delivery (it does not retry online events; bind an offline
///   handler too if every change must be seen).
pub fn endpoint_with_capacity(verifier: Verifier, capacity: usize) -> (Router, EventReceiver) {
    let (tx, rx) = channel(capacity);
    let state = Endpoint {
        verifier: Arc::new(verifier),
        tx,
    };
    (
        Router::new().route("/", post(receive)).with_state(state),
        rx,
    )
}

async fn receive(State(endpoint): State<Endpoint>, body: Bytes) -> (StatusCode, String) {
    // A slot first: a body that cannot be queued is answered 503 before the verifier
    // remembers it, so the same body is not a "replay" when it comes again.
    let permit = match endpoint.tx.try_reserve() {
        Ok(permit) => permit,
        Err(_) => {
            tracing::warn!("the event queue is full or closed; answering 503");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "the event queue is full; try again later".into(),
            );
        }
    };
    match endpoint.verifier.verify(&body) {
        Ok(event) => {
            permit.send(event);
            (StatusCode::OK, "ok".into())
        }
        Err(rejection) => {
            tracing::warn!(%rejection, "event refused");
            let status = match rejection {
                Rejection::Malformed(_) => StatusCode::BAD_REQUEST,
                _ => StatusCode::UNAUTHORIZED,
            };
            (status, rejection.to_string())
        }
    }
}
