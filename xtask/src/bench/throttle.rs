//! A loopback TCP proxy that limits each connection's downstream rate: what a cloud's
//! per-connection limit, or one long fat pipe, does to a single-stream download.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Result;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Starts the proxy in front of `upstream` on `rt`; every connection's responses are paced
/// to `bytes_per_sec`. Returns the address to connect to. It lives as long as `rt`.
pub fn start(
    rt: &tokio::runtime::Runtime,
    upstream: SocketAddr,
    bytes_per_sec: u64,
) -> Result<SocketAddr> {
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0"))?;
    let addr = listener.local_addr()?;
    rt.spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let _ = relay(sock, upstream, bytes_per_sec).await;
            });
        }
    });
    Ok(addr)
}

async fn relay(client: TcpStream, upstream: SocketAddr, rate: u64) -> std::io::Result<()> {
    let server = TcpStream::connect(upstream).await?;
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut client_rd, mut client_wr) = client.into_split();
    let (mut server_rd, mut server_wr) = server.into_split();
    let up = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut client_rd, &mut server_wr).await;
        let _ = server_wr.shutdown().await;
    });
    let mut buf = vec![0u8; 64 * 1024];
    // When the connection may send its next byte. A sleep overshoots (timer granularity, a
    // loaded machine), so the schedule is kept rather than restarted from now: the next
    // reads catch up, and only an idle connection (over 100 ms behind) starts afresh.
    let mut next = tokio::time::Instant::now();
    loop {
        let n = server_rd.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        client_wr.write_all(&buf[..n]).await?;
        let now = tokio::time::Instant::now();
        if now > next + Duration::from_millis(100) {
            next = now;
        }
        next += Duration::from_secs_f64(n as f64 / rate as f64);
        if next > now {
            tokio::time::sleep_until(next).await;
        }
    }
    let _ = client_wr.shutdown().await;
    up.abort();
    Ok(())
}
