//! A tiny loopback event handler: a TCP listener that reads HTTP/1.1 POSTs and records
//! them (method line, headers, raw body, form-decoded pairs). It shares nothing with the
//! emulator's sender, so a wrong body is caught.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One POST the handler received.
#[derive(Clone, Debug)]
pub struct Received {
    pub request_line: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub pairs: Vec<(String, String)>,
}

impl Received {
    /// The value of a decoded key (`data[FIELDS][ID]`).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The `event` field.
    pub fn event(&self) -> &str {
        self.get("event").unwrap_or_default()
    }

    /// `data[FIELDS][ID]` as a number.
    pub fn id(&self) -> u64 {
        self.get("data[FIELDS][ID]")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// A header, by name in any case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A running handler.
pub struct Handler {
    pub url: String,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Handler {
    /// Answers every POST with 200 at once.
    pub async fn start() -> Handler {
        Handler::start_with(false).await
    }

    /// Reads every POST and never answers.
    pub async fn silent() -> Handler {
        Handler::start_with(true).await
    }

    async fn start_with(silent: bool) -> Handler {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/hook/?app=demo", listener.local_addr().unwrap());
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let sink = got.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let sink = sink.clone();
                tokio::spawn(async move {
                    if let Some(r) = read_request(stream, silent).await {
                        sink.lock().unwrap().push(r);
                    }
                });
            }
        });
        Handler { url, got }
    }

    /// What arrived so far, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// Forgets what arrived.
    pub fn clear(&self) {
        self.got.lock().unwrap().clear();
    }
}

async fn read_request(mut stream: TcpStream, silent: bool) -> Option<Received> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let request_line = lines.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&body).into_owned();
    let pairs = url::form_urlencoded::parse(body.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let r = Received {
        request_line,
        headers,
        body,
        pairs,
    };
    if silent {
        // Keep the connection open and say nothing for longer than any test runs.
        let record = r.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(60)).await;
            drop(stream);
        });
        return Some(record);
    }
    let _ = stream
        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        .await;
    Some(r)
}
