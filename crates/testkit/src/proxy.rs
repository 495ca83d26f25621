//! A bad line between a client and a server, on 127.0.0.1: a TCP proxy
//! that delays every chunk, blacks out (holds everything) for a while in
//! every period, and resets some connections part of the way into their
//! answer. This machine's kernel has no `netem`, so the faults are made in
//! user space; they are deterministic (every `reset_every`-th connection,
//! at an offset that varies with its number), so a failure can be run again.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the line does wrong.
#[derive(Debug, Clone, Copy)]
pub struct Faults {
    /// Added before every chunk passed on, both ways.
    pub delay: Duration,
    /// Every `period`, nothing passes for `blackout`.
    pub period: Duration,
    pub blackout: Duration,
    /// Every this many connections one is reset (0: none) ...
    pub reset_every: u64,
    /// ... somewhere in its first this many bytes from the server.
    pub reset_within: usize,
}

impl Default for Faults {
    /// The line of "a bad day": 2 ms a chunk, 1.5 s dark in every 10 s, a
    /// quarter of the connections reset in their first 256 KiB.
    fn default() -> Self {
        Faults {
            delay: Duration::from_millis(2),
            period: Duration::from_secs(10),
            blackout: Duration::from_millis(1500),
            reset_every: 4,
            reset_within: 256 * 1024,
        }
    }
}

/// The running proxy; it stops when dropped.
pub struct BadLine {
    pub port: u16,
    /// Connections reset so far.
    pub resets: Arc<AtomicU64>,
    /// A reset armed for the next connection: so many bytes into its
    /// answer (0: none armed).
    armed: Arc<AtomicU64>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl BadLine {
    /// Proxies 127.0.0.1:`port` (its own) to 127.0.0.1:`upstream`.
    pub fn start(upstream: u16, faults: Faults) -> BadLine {
        BadLine::start_on(0, upstream, faults)
    }

    /// [`BadLine::start`] on the port `listen` (0: a free one): the line
    /// back where an earlier one was dropped (the line cut, then mended).
    pub fn start_on(listen: u16, upstream: u16, faults: Faults) -> BadLine {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("the proxy's runtime");
        let listener = runtime
            .block_on(TcpListener::bind(("127.0.0.1", listen)))
            .expect("the proxy listens");
        let port = listener.local_addr().expect("an address").port();
        let resets = Arc::new(AtomicU64::new(0));
        let counted = resets.clone();
        let armed = Arc::new(AtomicU64::new(0));
        let arming = armed.clone();
        let began = Instant::now();
        runtime.spawn(async move {
            let mut n = 0u64;
            while let Ok((client, _)) = listener.accept().await {
                n += 1;
                let forced = arming.swap(0, Ordering::Relaxed);
                let reset_at = if forced > 0 {
                    usize::try_from(forced).ok()
                } else {
                    (faults.reset_every > 0 && n % faults.reset_every == 0)
                        .then(|| (n as usize * 7919 * 13) % faults.reset_within.max(1))
                };
                let counted = counted.clone();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                        return;
                    };
                    if relay(client, server, faults, began, reset_at).await {
                        counted.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
        });
        BadLine {
            port,
            resets,
            armed,
            runtime: Some(runtime),
        }
    }

    /// Resets the next connection `at` bytes (at least 1) into its answer,
    /// whatever its number: a test that must see a reset whatever number of
    /// connections came before (a client's count of them varies with its
    /// timing) arms one.
    pub fn reset_next(&self, at: usize) {
        self.armed
            .store(u64::try_from(at.max(1)).unwrap_or(1), Ordering::Relaxed);
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for BadLine {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// Waits out the delay, and a blackout if one is on.
async fn through(faults: &Faults, began: Instant) {
    tokio::time::sleep(faults.delay).await;
    let into = began.elapsed().as_nanos() % faults.period.as_nanos().max(1);
    let dark = faults.blackout.as_nanos();
    if into < dark {
        let left = u64::try_from(dark - into).unwrap_or(u64::MAX);
        tokio::time::sleep(Duration::from_nanos(left)).await;
    }
}

/// Relays one connection both ways through the faults; true when it reset
/// it `reset_at` bytes into the server's answer.
async fn relay(
    mut client: TcpStream,
    mut server: TcpStream,
    faults: Faults,
    began: Instant,
    reset_at: Option<usize>,
) -> bool {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut up, mut down) = (vec![0u8; 16 * 1024], vec![0u8; 16 * 1024]);
    let mut client_open = true;
    let mut sent = 0usize;
    loop {
        tokio::select! {
            read = client.read(&mut up), if client_open => match read {
                Ok(0) | Err(_) => {
                    client_open = false;
                    let _ = server.shutdown().await;
                }
                Ok(n) => {
                    through(&faults, began).await;
                    if server.write_all(&up[..n]).await.is_err() {
                        return false;
                    }
                }
            },
            read = server.read(&mut down) => match read {
                Ok(0) | Err(_) => {
                    let _ = client.shutdown().await;
                    return false;
                }
                Ok(n) => {
                    through(&faults, began).await;
                    if let Some(at) = reset_at
                        && sent + n > at
                    {
                        let _ = client.write_all(&down[..at - sent]).await;
                        // A reset, not a close: dropped with no linger.
                        let _ = client.set_zero_linger();
                        return true;
                    }
                    if client.write_all(&down[..n]).await.is_err() {
                        return false;
                    }
                    sent += n;
                }
            },
        }
    }
}
