//! A TCP relay that delays every byte by a fixed time each way (and
//! optionally caps the rate), for benchmarks over "distant" links on one
//! machine. Prints the port it listens on as its first line on stdout.
//!
//! Usage: latency-relay --to HOST:PORT --delay-ms MS [--listen ADDR]
//!        [--rate-mbps MB_PER_SEC]
//!
//! `--rate-mbps` is 10^6 bytes per second, per direction per connection.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, bail};
use p2p_tests::relay::{RelayConfig, serve};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut listen: SocketAddr = "127.0.0.1:0".parse()?;
    let mut target: Option<SocketAddr> = None;
    let mut delay_ms: u64 = 0;
    let mut rate: Option<u64> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--listen" => listen = value()?.parse().context("--listen")?,
            "--to" => {
                let v = value()?;
                let addr = tokio::net::lookup_host(&v)
                    .await
                    .with_context(|| format!("cannot resolve {v}"))?
                    .next()
                    .with_context(|| format!("{v} has no address"))?;
                target = Some(addr);
            }
            "--delay-ms" => delay_ms = value()?.parse().context("--delay-ms")?,
            "--rate-mbps" => {
                let mbps: f64 = value()?.parse().context("--rate-mbps")?;
                if !(mbps > 0.0 && mbps < 1e6) {
                    bail!("--rate-mbps must be above 0 and below 10^6, not {mbps}");
                }
                rate = Some((mbps * 1e6) as u64);
            }
            other => bail!("unknown argument {other}"),
        }
    }
    let config = RelayConfig {
        target: target.context("missing --to HOST:PORT")?,
        delay: Duration::from_millis(delay_ms),
        rate_bytes_per_sec: rate,
    };
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    println!("{}", listener.local_addr()?.port());
    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        stop.cancel();
    });
    serve(listener, config, cancel)
        .await
        .context("relay failed")
}
