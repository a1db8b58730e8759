//! Online delivery: the form-encoded body of one event (PHP `http_build_query` keys), and a
//! worker task per handler URL that POSTs its events in order over plain HTTP/1.1, each with
//! a timeout and never retried, off the request path.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Notify, mpsc};

/// Counts deliveries so tests can wait for them.
#[derive(Debug, Default)]
pub(crate) struct Tracker {
    /// Deliveries queued but not finished.
    pending: AtomicU64,
    /// Deliveries attempted.
    attempted: AtomicU64,
    /// Deliveries answered with a 2xx status.
    succeeded: AtomicU64,
    idle: Notify,
}

impl Tracker {
    /// Deliveries attempted so far.
    pub(crate) fn attempted(&self) -> u64 {
        self.attempted.load(Ordering::SeqCst)
    }

    /// Deliveries a handler answered with 2xx.
    pub(crate) fn succeeded(&self) -> u64 {
        self.succeeded.load(Ordering::SeqCst)
    }

    /// Resolves once no delivery is queued or running.
    pub(crate) async fn idle(&self) {
        loop {
            let notified = self.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.pending.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }

    fn finished(&self) {
        if self.pending.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.idle.notify_waiters();
        }
    }
}

/// One POST to make.
#[derive(Debug)]
pub(crate) struct Job {
    /// The form-encoded body.
    pub body: String,
}

/// The sending side of one handler URL's worker.
#[derive(Debug)]
pub(crate) struct Worker {
    tx: mpsc::UnboundedSender<Job>,
    tracker: Arc<Tracker>,
}

impl Worker {
    /// Starts the worker task of `url` (must be called inside a tokio runtime).
    pub(crate) fn start(url: String, tracker: Arc<Tracker>, timeout: Duration) -> Worker {
        let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
        let counters = tracker.clone();
        tokio::spawn(async move {
            while let Some(job) = rx.recv().await {
                counters.attempted.fetch_add(1, Ordering::SeqCst);
                match tokio::time::timeout(timeout, post(&url, &job.body)).await {
                    Ok(Ok(status)) if (200..300).contains(&status) => {
                        counters.succeeded.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(Ok(status)) => {
                        tracing::debug!("event handler {url} answered HTTP {status}; not retried")
                    }
                    Ok(Err(e)) => tracing::debug!("event handler {url} failed: {e}; not retried"),
                    Err(_) => tracing::debug!(
                        "event handler {url} did not answer within {timeout:?}; not retried"
                    ),
                }
                counters.finished();
            }
        });
        Worker { tx, tracker }
    }

    /// Queues one delivery; false when the worker is gone.
    pub(crate) fn send(&self, job: Job) -> bool {
        self.tracker.pending.fetch_add(1, Ordering::SeqCst);
        if self.tx.send(job).is_err() {
            self.tracker.finished();
            return false;
        }
        true
    }
}

/// POSTs `body` to an `http://` URL over a fresh connection; the answer's status code.
async fn post(url: &str, body: &str) -> Result<u16, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    if parsed.scheme() != "http" {
        return Err(format!(
            "the emulator delivers events to http:// handlers only, not {}://",
            parsed.scheme()
        ));
    }
    let host = parsed.host_str().ok_or("the handler URL has no host")?;
    let port = parsed.port_or_known_default().unwrap_or(80);
    let mut target = parsed.path().to_owned();
    if let Some(q) = parsed.query() {
        target.push('?');
        target.push_str(q);
    }
    let host_header = match parsed.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_owned(),
    };
    let connect_host = host.trim_start_matches('[').trim_end_matches(']');
    let mut stream = TcpStream::connect((connect_host, port))
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    let head = format!(
        "POST {target} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: Bitrix24 Webhook Engine\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream
        .write_all(head.as_bytes())
        .await
        .map_err(|e| format!("cannot send: {e}"))?;
    stream
        .write_all(body.as_bytes())
        .await
        .map_err(|e| format!("cannot send: {e}"))?;
    // The status line is all the portal looks at.
    let mut answer = Vec::with_capacity(256);
    let mut buf = [0u8; 512];
    while !answer.windows(2).any(|w| w == b"\r\n") && answer.len() < 8192 {
        let n = stream
            .read(&mut buf)
            .await
            .map_err(|e| format!("cannot read the answer: {e}"))?;
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&answer);
    line.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|_| line.starts_with("HTTP/"))
        .ok_or_else(|| "the handler's answer is not HTTP".to_owned())
}

/// Form-encodes a JSON object as PHP's `http_build_query` does: nested keys `a[b][c]`
/// (brackets percent-encoded), lists by index, `true`/`false` as `1`/`0`, `null` left out.
pub(crate) fn form_encode(value: &Value) -> String {
    let mut pairs: Vec<(String, String)> = Vec::new();
    if let Value::Object(o) = value {
        for (k, v) in o {
            flatten(k.clone(), v, &mut pairs);
        }
    }
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in &pairs {
        ser.append_pair(k, v);
    }
    ser.finish()
}

fn flatten(key: String, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Null => {}
        Value::Bool(b) => out.push((key, if *b { "1" } else { "0" }.into())),
        Value::Number(n) => out.push((key, n.to_string())),
        Value::String(s) => out.push((key, s.clone())),
        Value::Array(a) => {
            for (i, item) in a.iter().enumerate() {
                flatten(format!("{key}[{i}]"), item, out);
            }
        }
        Value::Object(o) => {
            for (k, item) in o {
                flatten(format!("{key}[{k}]"), item, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn form_encoding_uses_php_nested_keys() {
        let body = form_encode(&json!({
            "event": "ONCRMDEALADD",
            "data": {"FIELDS": {"ID": 6641}},
            "ts": 1735374081,
            "auth": {"domain": "127.0.0.1:1", "flag": true, "none": null},
            "list": ["a b", "&"],
        }));
        assert_eq!(
            body,
            "event=ONCRMDEALADD&data%5BFIELDS%5D%5BID%5D=6641&ts=1735374081\
             &auth%5Bdomain%5D=127.0.0.1%3A1&auth%5Bflag%5D=1&list%5B0%5D=a+b&list%5B1%5D=%26"
        );
    }

    #[tokio::test]
    async fn a_refused_connection_is_counted_and_the_tracker_goes_idle() {
        // A port nothing listens on: bind one, note it, close it.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let tracker = Arc::new(Tracker::default());
        let w = Worker::start(
            format!("http://127.0.0.1:{port}/h"),
            tracker.clone(),
            Duration::from_secs(2),
        );
        assert!(w.send(Job { body: "a=1".into() }));
        tokio::time::timeout(Duration::from_secs(5), tracker.idle())
            .await
            .expect("idle after the failed delivery");
        assert_eq!(tracker.attempted(), 1);
        assert_eq!(tracker.succeeded(), 0);
    }
}
