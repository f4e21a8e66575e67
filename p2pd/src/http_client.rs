//! p2pd's one HTTP client: reqwest over rustls (ring; never OpenSSL), built
//! once with the user agent, a connect timeout, the system's root
//! certificates and any extra ones from `tracker_ca_file`, then shared by
//! the engine's announces and the daemon's tracker API calls. Bodies are
//! read only through [`read_capped`].
//!
//! Knows no tracker protocol and no URL layout: callers build their URLs
//! and choose their per-request timeouts.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// Sent as `User-Agent` with every request.
pub const USER_AGENT: &str = concat!("p2p/", env!("CARGO_PKG_VERSION"));
/// Time allowed to open a connection (TCP and TLS handshake).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest PEM file of extra root certificates we read.
const MAX_CA_FILE_BYTES: u64 = 1 << 20;

/// Why the client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The CA file could not be read.
    #[error("cannot read the tracker CA file {}: {source}", path.display())]
    ReadCa {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The CA file is larger than `MAX_CA_FILE_BYTES`.
    #[error("the tracker CA file {} is larger than {MAX_CA_FILE_BYTES} bytes", path.display())]
    CaTooLarge {
        /// The file.
        path: PathBuf,
    },
    /// The CA file holds no PEM certificate, or a broken one.
    #[error("the tracker CA file {} holds no usable PEM certificate{}", path.display(), why.as_deref().map(|w| format!(": {w}")).unwrap_or_default())]
    BadCa {
        /// The file.
        path: PathBuf,
        /// What the parser said, if it said anything.
        why: Option<String>,
    },
    /// The TLS setup failed (e.g. the system's root store is unusable).
    #[error("cannot set up the HTTP client: {0}")]
    Build(String),
}

/// Builds the client. Blocking (reads the CA file and the system's root
/// certificates): call it off the async workers.
pub fn build(extra_roots: Option<&Path>) -> Result<reqwest::Client, ClientError> {
    let mut builder = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(CONNECT_TIMEOUT)
        // Trackers are reached directly, as before: no proxy from the environment.
        .no_proxy();
    if let Some(path) = extra_roots {
        for cert in read_pem_roots(path)? {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder
        .build()
        .map_err(|e| ClientError::Build(error_chain(&e)))
}

fn read_pem_roots(path: &Path) -> Result<Vec<reqwest::Certificate>, ClientError> {
    let read_err = |source| ClientError::ReadCa {
        path: path.to_path_buf(),
        source,
    };
    let len = std::fs::metadata(path).map_err(read_err)?.len();
    if len > MAX_CA_FILE_BYTES {
        return Err(ClientError::CaTooLarge {
            path: path.to_path_buf(),
        });
    }
    let pem = std::fs::read(path).map_err(read_err)?;
    let bad = |why: Option<String>| ClientError::BadCa {
        path: path.to_path_buf(),
        why,
    };
    let certs =
        reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| bad(Some(error_chain(&e))))?;
    if certs.is_empty() {
        return Err(bad(None));
    }
    Ok(certs)
}

/// Why a body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// Larger than the caller's cap.
    #[error("the answer is larger than {max} bytes")]
    TooLarge {
        /// The cap.
        max: usize,
    },
    /// The connection failed or timed out while reading.
    #[error("{}", error_chain(.0))]
    Read(reqwest::Error),
}

/// Reads a whole body, chunk by chunk, refusing it as soon as it grows past
/// `max` bytes (a declared `Content-Length` over `max` is refused unread).
pub async fn read_capped(
    mut response: reqwest::Response,
    max: usize,
) -> Result<Vec<u8>, BodyError> {
    if response.content_length().is_some_and(|n| n > max as u64) {
        return Err(BodyError::TooLarge { max });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Read)? {
        if body.len() + chunk.len() > max {
            return Err(BodyError::TooLarge { max });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// An error and its sources on one line (`a: b: c`), without repeats.
/// reqwest's own message is shallow ("error sending request"); the reason
/// (refused, unknown certificate authority...) is in its sources.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(e);
    while let Some(err) = next {
        let text = err.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = err.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_without_certificates_is_refused_with_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let err = build(Some(&path)).unwrap_err();
        assert!(matches!(err, ClientError::BadCa { .. }), "{err}");
        assert!(err.to_string().contains("ca.pem"), "{err}");
        let missing = dir.path().join("missing.pem");
        let err = build(Some(&missing)).unwrap_err();
        assert!(matches!(err, ClientError::ReadCa { .. }), "{err}");
        assert!(err.to_string().contains("missing.pem"), "{err}");
    }

    #[test]
    fn the_client_builds_with_the_system_roots_alone() {
        build(None).unwrap();
    }

    #[test]
    fn error_chains_name_every_distinct_cause() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer")]
        struct Outer(#[source] std::io::Error);
        let e = Outer(std::io::Error::other("inner"));
        assert_eq!(error_chain(&e), "outer: inner");
    }
}
