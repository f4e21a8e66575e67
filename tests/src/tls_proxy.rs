//! Test support: a TLS terminator in front of a plain TCP server (trackerd),
//! so tests can reach it over https://. It makes a private CA and a
//! certificate for 127.0.0.1 and localhost signed by it (rcgen), listens on
//! 127.0.0.1:0 (tokio-rustls, ring) and copies bytes both ways. It counts
//! the announce requests it decrypts, so a test can show they went through
//! TLS.
//!
//! Not a real proxy: no header rewriting (trackerd's `public_url` gives it
//! its https:// address), no HTTP parsing beyond spotting request lines.
//! Test support code: it panics with a clear message instead of returning
//! errors.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test support, like tests, may unwrap

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A running TLS terminator. Stops when dropped.
#[derive(Debug)]
pub struct TlsProxy {
    /// Where it listens (127.0.0.1, a free port).
    pub addr: SocketAddr,
    /// The private CA's certificate, PEM: what clients must trust.
    pub ca_pem: String,
    target: watch::Sender<Option<SocketAddr>>,
    requests: Arc<Mutex<Vec<String>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TlsProxy {
    /// Binds 127.0.0.1:0 and starts accepting; connections wait until
    /// [`TlsProxy::forward_to`] names the server (so the port can go into
    /// the server's own configuration first).
    pub fn start() -> TlsProxy {
        let (ca_pem, acceptor) = certificates();
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let addr = std_listener.local_addr().unwrap();
        let (target, target_rx) = watch::channel(None);
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = TcpListener::from_std(std_listener).unwrap();
                let accept = async {
                    loop {
                        let Ok((tcp, _)) = listener.accept().await else {
                            continue;
                        };
                        let acceptor = acceptor.clone();
                        let mut target_rx = target_rx.clone();
                        let seen = seen.clone();
                        tokio::spawn(async move {
                            let target = match target_rx.wait_for(Option::is_some).await {
                                Ok(t) => *t,
                                Err(_) => return,
                            };
                            let Some(target) = target else { return };
                            // A client that refuses our certificate ends here.
                            let Ok(tls) = acceptor.accept(tcp).await else {
                                return;
                            };
                            let Ok(server) = TcpStream::connect(target).await else {
                                return;
                            };
                            relay(tls, server, seen).await;
                        });
                    }
                };
                tokio::select! {
                    _ = accept => {}
                    _ = stop_rx => {}
                }
            });
        });
        TlsProxy {
            addr,
            ca_pem,
            target,
            requests,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Forwards every connection, from now on, to `server`.
    pub fn forward_to(&self, server: SocketAddr) {
        self.target.send_replace(Some(server));
    }

    /// `https://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// Request lines (`GET /announce/...?... HTTP/1.1`) seen so far, decrypted.
    pub fn request_lines(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A private CA, and an acceptor with a certificate for 127.0.0.1 and
/// localhost signed by it.
fn certificates() -> (String, TlsAcceptor) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "p2p test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf_params =
        CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    let leaf = leaf_params.signed_by(&leaf_key, &ca, &ca_key).unwrap();
    let chain: Vec<CertificateDer<'static>> = vec![leaf.der().clone()];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    (ca.pem(), TlsAcceptor::from(Arc::new(config)))
}

/// Copies bytes both ways until either side closes, noting the request
/// lines the client sends.
async fn relay(
    tls: tokio_rustls::server::TlsStream<TcpStream>,
    server: TcpStream,
    seen: Arc<Mutex<Vec<String>>>,
) {
    let (mut client_rd, mut client_wr) = tokio::io::split(tls);
    let (mut server_rd, mut server_wr) = server.into_split();
    let upstream = async {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match client_rd.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            note_request_lines(&buf[..n], &seen);
            if server_wr.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = server_wr.shutdown().await;
    };
    let downstream = async {
        let _ = tokio::io::copy(&mut server_rd, &mut client_wr).await;
        let _ = client_wr.shutdown().await;
    };
    tokio::join!(upstream, downstream);
}

fn note_request_lines(bytes: &[u8], seen: &Mutex<Vec<String>>) {
    let text = String::from_utf8_lossy(bytes);
    let mut seen = seen.lock().unwrap();
    for line in text.lines() {
        if line.ends_with(" HTTP/1.1")
            && ["GET ", "POST ", "DELETE "]
                .iter()
                .any(|m| line.starts_with(m))
        {
            seen.push(line.to_owned());
        }
    }
}
