//! The control socket (a Unix socket through `interprocess`; a named pipe on
//! Windows), made safe before it accepts anything by [`platform`]. Each
//! connection is its own task:
//! hello first (within a deadline), then requests, each answered by one
//! reply; bad frames get an error reply, oversized ones close the connection.

use std::sync::Arc;
use std::time::Duration;

use interprocess::local_socket::tokio::{Listener, Stream, prelude::*};
use p2p_proto::ipc::{
    ClientHello, ErrorCode, FrameError, FrameReader, IpcError, PROTOCOL_VERSION, ReplyBody,
    ReplyFrame, RequestFrame, ServerHello, ServerHelloBody, encode_frame,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Semaphore;

use super::{Daemon, handlers};

// The one place the platforms differ: how the endpoint is made safe and
// who a client is.
#[cfg_attr(unix, path = "unix.rs")]
#[cfg_attr(windows, path = "windows.rs")]
mod platform;
#[cfg(unix)]
mod socket_dir;

pub(crate) use platform::bind;

/// Time a client gets to say hello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// A client silent for this long between requests is dropped.
const IDLE_TIMEOUT: Duration = Duration::from_secs(3600);
/// Most control connections at once.
const MAX_CONNECTIONS: usize = 64;

/// Accepts connections until the daemon is cancelled.
pub(crate) async fn serve(listener: Listener, daemon: Arc<Daemon>) {
    let limit = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let tasks = tokio_util::task::TaskTracker::new();
    loop {
        let conn = tokio::select! {
            _ = daemon.cancel.cancelled() => break,
            c = listener.accept() => c,
        };
        let stream = match conn {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("control socket accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            tracing::warn!("too many control connections; dropping one");
            continue;
        };
        let d = daemon.clone();
        tasks.spawn(async move {
            if let Err(e) = connection(stream, d).await {
                tracing::debug!("control connection ended: {e}");
            }
            drop(permit);
        });
    }
    tasks.close();
    // Replies in flight get a moment; subscriptions end with the token.
    let _ = tokio::time::timeout(Duration::from_secs(2), tasks.wait()).await;
}

async fn connection(stream: Stream, daemon: Arc<Daemon>) -> anyhow::Result<()> {
    // Who is asking bounds the paths it may name (share, add --to).
    let peer = platform::peer(&stream);
    // &Stream reads and writes; two shared references act as the two halves.
    let (mut rx, mut tx) = (&stream, &stream);
    let mut frames = FrameReader::new();
    let mut buf = vec![0u8; 16 * 1024];

    // Hello first.
    let hello = tokio::time::timeout(HELLO_TIMEOUT, next_frame(&mut rx, &mut frames, &mut buf))
        .await
        .map_err(|_| anyhow::anyhow!("no hello within {HELLO_TIMEOUT:?}"))?;
    let Some(line) = handle_frame_error(hello, &mut tx).await? else {
        return Ok(());
    };
    match serde_json::from_str::<ClientHello>(&line) {
        Ok(h) if h.hello.version == PROTOCOL_VERSION => {
            let reply = ServerHello {
                hello: ServerHelloBody {
                    version: PROTOCOL_VERSION,
                    server: format!("p2pd {}", env!("CARGO_PKG_VERSION")),
                },
            };
            tx.write_all(&encode_frame(&reply)).await?;
        }
        Ok(h) => {
            let msg = format!(
                "protocol version {} is not supported (this p2pd speaks {PROTOCOL_VERSION})",
                h.hello.version
            );
            send_error(&mut tx, 0, ErrorCode::VersionMismatch, msg).await?;
            return Ok(());
        }
        Err(e) => {
            send_error(
                &mut tx,
                0,
                ErrorCode::BadRequest,
                format!("expected a hello: {e}"),
            )
            .await?;
            return Ok(());
        }
    }

    loop {
        let next = tokio::select! {
            _ = daemon.cancel.cancelled() => return Ok(()),
            r = tokio::time::timeout(IDLE_TIMEOUT, next_frame(&mut rx, &mut frames, &mut buf)) => {
                r.map_err(|_| anyhow::anyhow!("idle for {IDLE_TIMEOUT:?}"))?
            }
        };
        let Some(line) = handle_frame_error(next, &mut tx).await? else {
            return Ok(());
        };
        if line.trim().is_empty() {
            continue;
        }
        let frame: RequestFrame = match serde_json::from_str(&line) {
            Ok(f) => f,
            Err(e) => {
                let (code, id) = classify(&line, &e);
                send_error(&mut tx, id, code, format!("bad request: {e}")).await?;
                continue;
            }
        };
        tracing::debug!(id = frame.id, cmd = frame.request.name(), "control request");
        if let p2p_proto::ipc::Request::Subscribe { id } = &frame.request {
            return handlers::subscribe(&daemon, frame.id, id.as_deref(), &mut tx).await;
        }
        let body = match handlers::handle(&daemon, &peer, frame.request).await {
            Ok(v) => ReplyBody::Ok(v),
            Err(e) => ReplyBody::Error(e),
        };
        tx.write_all(&encode_frame(&ReplyFrame { id: frame.id, body }))
            .await?;
    }
}

/// A bad request line: an unknown command or malformed JSON; keeps its id when it has one.
fn classify(line: &str, e: &serde_json::Error) -> (ErrorCode, u64) {
    /// Just the id of a request that is otherwise unusable.
    #[derive(serde::Deserialize)]
    struct IdOnly {
        id: u64,
    }
    let id = serde_json::from_str::<IdOnly>(line).map_or(0, |r| r.id);
    let unknown = e.to_string().contains("unknown variant");
    (
        if unknown {
            ErrorCode::UnknownCommand
        } else {
            ErrorCode::BadRequest
        },
        id,
    )
}

/// `Ok(None)` when the client hung up; an oversized frame is answered and ends the connection.
async fn handle_frame_error(
    r: Result<Option<String>, ReadError>,
    tx: &mut (impl AsyncWriteExt + Unpin),
) -> anyhow::Result<Option<String>> {
    match r {
        Ok(line) => Ok(line),
        Err(ReadError::Frame(FrameError::TooLong { max })) => {
            send_error(
                tx,
                0,
                ErrorCode::FrameTooLong,
                format!("frame longer than {max} bytes"),
            )
            .await?;
            Ok(None)
        }
        Err(ReadError::Frame(FrameError::NotUtf8)) => {
            send_error(tx, 0, ErrorCode::BadRequest, "frame is not UTF-8").await?;
            Ok(None)
        }
        Err(ReadError::Io(e)) => Err(e.into()),
    }
}

#[derive(Debug)]
enum ReadError {
    Frame(FrameError),
    Io(std::io::Error),
}

async fn next_frame(
    rx: &mut (impl AsyncReadExt + Unpin),
    frames: &mut FrameReader,
    buf: &mut [u8],
) -> Result<Option<String>, ReadError> {
    loop {
        if let Some(line) = frames.next_frame().map_err(ReadError::Frame)? {
            return Ok(Some(line));
        }
        let n = rx.read(buf).await.map_err(ReadError::Io)?;
        if n == 0 {
            return Ok(None);
        }
        frames.push(&buf[..n]);
    }
}

pub(crate) async fn send_error(
    tx: &mut (impl AsyncWriteExt + Unpin),
    id: u64,
    code: ErrorCode,
    message: impl Into<String>,
) -> std::io::Result<()> {
    let reply = ReplyFrame {
        id,
        body: ReplyBody::Error(IpcError::new(code, message)),
    };
    tx.write_all(&encode_frame(&reply)).await
}
