//! [`ListStream`]: the rows of one export, fetched one request ahead.

use std::collections::VecDeque;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::Stream;

use super::chain::fetch_fast;
use super::cursor::{Cursor, Fetched, Position};
use super::offset::fetch_offset;
use super::plan::{ExportPlan, Mode};
use crate::entity::Entity;
use crate::error::Error;
use crate::transport::{BATCH_SIZE, PAGE_SIZE};

async fn fetch<E: Entity>(mut cur: Cursor<E>) -> (Cursor<E>, Fetched<E>) {
    let plan = cur.plan.clone();
    let fetched = match plan.mode {
        Mode::Fast { direction, start } => fetch_fast(&plan, &mut cur, direction, start).await,
        Mode::Offset => fetch_offset(&plan, &mut cur).await,
    };
    if fetched.error.is_some() {
        cur.done = true;
    }
    (cur, fetched)
}

type FetchFuture<E> = Pin<Box<dyn Future<Output = (Cursor<E>, Fetched<E>)> + Send>>;

/// The rows of a [`ListQuery`](crate::ListQuery), as a [`Stream`]; see
/// [`ListQuery::stream`](crate::ListQuery::stream).
///
/// Rows are yielded in the query's order; the first error ends the stream (rows received
/// before it are yielded first).
pub struct ListStream<E: Entity> {
    /// Fetched pages not yet yielded (each yielded row by row, without copying the rest).
    buffer: VecDeque<std::vec::IntoIter<E>>,
    /// Rows in `buffer`.
    buffered: usize,
    inflight: Option<FetchFuture<E>>,
    cursor: Option<Cursor<E>>,
    error: Option<Error>,
}

impl<E: Entity> ListStream<E> {
    /// A stream over the rows of `plan`; no plan: a query that matches nothing.
    pub(crate) fn from_plan(plan: Option<ExportPlan>) -> Self {
        ListStream {
            buffer: VecDeque::new(),
            buffered: 0,
            inflight: None,
            cursor: plan.map(|plan| Cursor {
                plan: Arc::new(plan),
                position: Position::First,
                stalls: 0,
                done: false,
                recent_ids: Default::default(),
                _entity: PhantomData,
            }),
            error: None,
        }
    }
}

impl<E: Entity> std::fmt::Debug for ListStream<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListStream")
            .field("buffered", &self.buffered)
            .field("fetching", &self.inflight.is_some())
            .finish_non_exhaustive()
    }
}

// No field is structurally pinned (the in-flight future is boxed), so the stream can move.
impl<E: Entity> Unpin for ListStream<E> {}

impl<E: Entity> Stream for ListStream<E> {
    type Item = Result<E, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(fut) = this.inflight.as_mut() {
                if let Poll::Ready((cursor, fetched)) = fut.as_mut().poll(cx) {
                    this.inflight = None;
                    for page in fetched.rows {
                        if !page.is_empty() {
                            this.buffered += page.len();
                            this.buffer.push_back(page.into_iter());
                        }
                    }
                    if let Some(e) = fetched.error {
                        this.error = Some(e);
                    }
                    this.cursor = Some(cursor);
                }
            }
            // Fetch ahead while the buffer holds less than one batch of rows.
            if this.inflight.is_none()
                && this.error.is_none()
                && this.buffered < BATCH_SIZE * PAGE_SIZE
            {
                if let Some(cursor) = this.cursor.take() {
                    if cursor.done {
                        this.cursor = Some(cursor);
                    } else {
                        this.inflight = Some(Box::pin(fetch(cursor)));
                        continue;
                    }
                }
            }
            break;
        }
        while let Some(page) = this.buffer.front_mut() {
            if let Some(row) = page.next() {
                this.buffered -= 1;
                return Poll::Ready(Some(Ok(row)));
            }
            this.buffer.pop_front();
        }
        if let Some(e) = this.error.take() {
            this.cursor = None;
            return Poll::Ready(Some(Err(e)));
        }
        if this.inflight.is_some() {
            Poll::Pending
        } else {
            Poll::Ready(None)
        }
    }
}
