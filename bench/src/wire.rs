//! Bytes on the wire: a counting TCP proxy between a client and the emulator, run by the
//! orchestrator (its CPU is not the client's).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A running proxy: its address and the bytes it forwarded each way.
pub struct Wire {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// Bytes the client sent (requests).
    pub up: Arc<AtomicU64>,
    /// Bytes the client received (answers).
    pub down: Arc<AtomicU64>,
    accept: JoinHandle<()>,
}

impl Wire {
    /// Stops accepting connections.
    pub fn stop(&self) {
        self.accept.abort();
    }
}

/// Copies `from` into `to`, counting the bytes.
async fn pump(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    count: &AtomicU64,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        count.fetch_add(n as u64, Ordering::Relaxed);
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

/// Starts a proxy in front of `upstream`.
pub async fn proxy(upstream: SocketAddr) -> Result<Wire, String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("cannot start the byte-counting proxy: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("the byte-counting proxy has no address: {e}"))?;
    let up = Arc::new(AtomicU64::new(0));
    let down = Arc::new(AtomicU64::new(0));
    let (u, d) = (up.clone(), down.clone());
    let accept = tokio::spawn(async move {
        while let Ok((inbound, _)) = listener.accept().await {
            let (u, d) = (u.clone(), d.clone());
            tokio::spawn(async move {
                let Ok(outbound) = TcpStream::connect(upstream).await else {
                    return;
                };
                let _ = inbound.set_nodelay(true);
                let _ = outbound.set_nodelay(true);
                let (ri, wi) = inbound.into_split();
                let (ro, wo) = outbound.into_split();
                tokio::join!(pump(ri, wo, &u), pump(ro, wi, &d));
            });
        }
    });
    Ok(Wire {
        base_url: format!("http://{addr}"),
        up,
        down,
        accept,
    })
}
