//! A peer connection's two halves, whatever carries them: TCP or uTP
//! (utp.rs), each plain or with the RC4 stream of Message Stream
//! Encryption (see mse.rs). The peer loop reads and writes through
//! [`Reader`] and [`Writer`] and never learns which.
//!
//! The plaintext path adds no copy: reads land in the caller's buffer (or,
//! over TCP, the caller reads the socket itself) and vectored writes go
//! straight to the socket. The encrypted path decrypts in place after a
//! read and encrypts into a staging buffer before a write.
//!
//! Must not know the peer protocol (messages, handshakes) or MSE's handshake.

use std::io::{self, IoSlice};

use bytes::BytesMut;
use p2p_proto::ipc::PeerTransport;
use p2p_proto::mse::Rc4Stream;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use super::utp::{UtpReadHalf, UtpStream, UtpWriteHalf};

/// Most bytes encrypted ahead of the socket in one go.
const STAGE_BYTES: usize = 256 * 1024;

/// The peer closed or reset the connection.
pub(crate) fn hung_up(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
    )
}

/// What carries a connection, as the rest of the engine sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Link {
    pub transport: PeerTransport,
    /// RC4 after an MSE handshake (plaintext after one is not).
    pub encrypted: bool,
}

/// What carries the bytes we read.
pub(crate) enum ReadStream {
    Tcp(OwnedReadHalf),
    Utp(UtpReadHalf),
}

/// What carries the bytes we write.
pub(crate) enum WriteStream {
    Tcp(OwnedWriteHalf),
    Utp(UtpWriteHalf),
}

// uTP's halves do not implement Debug; the carrier's name is enough.
impl std::fmt::Debug for ReadStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.transport().name())
    }
}

impl std::fmt::Debug for WriteStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            WriteStream::Tcp(_) => PeerTransport::Tcp.name(),
            WriteStream::Utp(_) => PeerTransport::Utp.name(),
        })
    }
}

impl ReadStream {
    fn transport(&self) -> PeerTransport {
        match self {
            ReadStream::Tcp(_) => PeerTransport::Tcp,
            ReadStream::Utp(_) => PeerTransport::Utp,
        }
    }

    fn as_async_read(&mut self) -> &mut (dyn AsyncRead + Unpin + Send) {
        match self {
            ReadStream::Tcp(r) => r,
            ReadStream::Utp(r) => r,
        }
    }
}

impl WriteStream {
    fn as_async_write(&mut self) -> &mut (dyn AsyncWrite + Unpin + Send) {
        match self {
            WriteStream::Tcp(w) => w,
            WriteStream::Utp(w) => w,
        }
    }
}

/// A connected peer stream of either kind.
pub(crate) enum Connected {
    Tcp(TcpStream),
    Utp(UtpStream),
}

/// Splits a connection into plaintext halves.
pub(crate) fn plain(stream: impl Into<Connected>) -> (Reader, Writer) {
    let (r, w) = match stream.into() {
        Connected::Tcp(s) => {
            let (r, w) = s.into_split();
            (ReadStream::Tcp(r), WriteStream::Tcp(w))
        }
        Connected::Utp(s) => {
            let (r, w) = s.split();
            (ReadStream::Utp(r), WriteStream::Utp(w))
        }
    };
    (
        Reader {
            stream: r,
            decrypt: None,
            pending: Vec::new(),
        },
        Writer {
            stream: w,
            encrypt: None,
        },
    )
}

impl From<TcpStream> for Connected {
    fn from(s: TcpStream) -> Self {
        Connected::Tcp(s)
    }
}

impl From<UtpStream> for Connected {
    fn from(s: UtpStream) -> Self {
        Connected::Utp(s)
    }
}

/// The reading half.
#[derive(Debug)]
pub(crate) struct Reader {
    stream: ReadStream,
    decrypt: Option<Rc4Stream>,
    /// Bytes already read (and decrypted) before the peer loop took over:
    /// what followed an MSE handshake, or a plaintext prefix read to tell
    /// the two apart.
    pending: Vec<u8>,
}

impl Reader {
    /// Sets the cipher for what is read from now on, and bytes already
    /// received (decrypted) that come first.
    pub(crate) fn encrypted(mut self, decrypt: Option<Rc4Stream>, already: Vec<u8>) -> Self {
        self.decrypt = decrypt;
        self.unread(already);
        self
    }

    /// Puts `bytes` back in front of what is read next.
    pub(crate) fn unread(&mut self, mut bytes: Vec<u8>) {
        bytes.append(&mut self.pending);
        self.pending = bytes;
    }

    /// What carries the connection, and whether reads are decrypted.
    pub(crate) fn link(&self) -> Link {
        Link {
            transport: self.stream.transport(),
            encrypted: self.decrypt.is_some(),
        }
    }

    /// The TCP socket, for socket options.
    pub(crate) fn tcp(&self) -> Option<&TcpStream> {
        match &self.stream {
            ReadStream::Tcp(r) => Some(r.as_ref()),
            ReadStream::Utp(_) => None,
        }
    }

    /// Appends what arrives to `buf`; 0 at the end of the stream.
    /// Cancel-safe: bytes are decrypted in the same poll that reads them.
    pub(crate) async fn read_buf(&mut self, buf: &mut BytesMut) -> io::Result<usize> {
        if !self.pending.is_empty() {
            buf.extend_from_slice(&self.pending);
            let n = self.pending.len();
            self.pending = Vec::new();
            return Ok(n);
        }
        let before = buf.len();
        let n = self.stream.as_async_read().read_buf(buf).await?;
        if let Some(c) = &mut self.decrypt {
            c.apply(&mut buf[before..before + n]);
        }
        Ok(n)
    }

    /// Reads what arrives into `buf`; 0 at the end of the stream.
    /// Cancel-safe, like [`Reader::read_buf`].
    pub(crate) async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.pending.is_empty() {
            let n = self.pending.len().min(buf.len());
            buf[..n].copy_from_slice(&self.pending[..n]);
            self.pending.drain(..n);
            return Ok(n);
        }
        let n = self.stream.as_async_read().read(buf).await?;
        if let Some(c) = &mut self.decrypt {
            c.apply(&mut buf[..n]);
        }
        Ok(n)
    }

    /// The TCP socket itself, when what it carries is what the peer sent:
    /// no cipher and nothing read ahead. A reader may then read from it
    /// directly (with `try_read_vectored`, say) and skip [`Reader::read`].
    pub(crate) fn plain_tcp(&self) -> Option<&OwnedReadHalf> {
        match &self.stream {
            ReadStream::Tcp(r) if self.decrypt.is_none() && self.pending.is_empty() => Some(r),
            _ => None,
        }
    }

    /// Fills `out` exactly (for handshakes, not the message loop).
    pub(crate) async fn read_exact(&mut self, out: &mut [u8]) -> io::Result<()> {
        let from_pending = self.pending.len().min(out.len());
        out[..from_pending].copy_from_slice(&self.pending[..from_pending]);
        self.pending.drain(..from_pending);
        let rest = &mut out[from_pending..];
        self.stream.as_async_read().read_exact(rest).await?;
        if let Some(c) = &mut self.decrypt {
            c.apply(rest);
        }
        Ok(())
    }
}

/// The writing half.
#[derive(Debug)]
pub(crate) struct Writer {
    stream: WriteStream,
    encrypt: Option<Encrypting>,
}

/// Encrypted bytes on their way to the socket.
#[derive(Debug)]
struct Encrypting {
    cipher: Rc4Stream,
    staged: Vec<u8>,
    sent: usize,
}

impl Writer {
    /// Encrypts what is written from now on.
    pub(crate) fn encrypted(mut self, encrypt: Option<Rc4Stream>) -> Self {
        self.encrypt = encrypt.map(|cipher| Encrypting {
            cipher,
            staged: Vec::with_capacity(STAGE_BYTES),
            sent: 0,
        });
        self
    }

    /// Writes some of `slices`; returns how many of their bytes are done
    /// with. Cancel-safe, given that the caller offers the same bytes first
    /// again until they are reported: encrypted bytes are staged once and
    /// reported only when the socket has all of them, so a cancelled write
    /// neither loses nor encrypts a byte twice.
    pub(crate) async fn write_vectored(&mut self, slices: &[IoSlice<'_>]) -> io::Result<usize> {
        let w = self.stream.as_async_write();
        let Some(enc) = &mut self.encrypt else {
            return w.write_vectored(slices).await;
        };
        if enc.staged.is_empty() {
            for s in slices {
                let take = s.len().min(STAGE_BYTES - enc.staged.len());
                enc.staged.extend_from_slice(&s[..take]);
                if enc.staged.len() == STAGE_BYTES {
                    break;
                }
            }
            enc.cipher.apply(&mut enc.staged);
            if enc.staged.is_empty() {
                return Ok(0);
            }
        }
        let n = w.write(&enc.staged[enc.sent..]).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        enc.sent += n;
        if enc.sent < enc.staged.len() {
            return Ok(0);
        }
        let done = enc.staged.len();
        enc.staged.clear();
        enc.sent = 0;
        Ok(done)
    }

    /// Writes all of `bytes` (for handshakes, not the message loop).
    pub(crate) async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        let w = self.stream.as_async_write();
        match &mut self.encrypt {
            None => w.write_all(bytes).await,
            Some(enc) => {
                let mut copy = bytes.to_vec();
                enc.cipher.apply(&mut copy);
                w.write_all(&copy).await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn connected() -> (TcpStream, TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (a, b) = tokio::join!(TcpStream::connect(addr), listener.accept());
        (a.unwrap(), b.unwrap().0)
    }

    fn pair_of_streams() -> (Rc4Stream, Rc4Stream) {
        // Two handshakes would give a real key; any two equal streams do here.
        let mut a = Vec::new();
        let i = p2p_proto::mse::Initiator::new(
            p2p_proto::mse::Secrets {
                private_key: [1; 20],
                pad: vec![],
            },
            p2p_proto::infohash::InfoHash([2; 20]),
            p2p_proto::mse::CryptoSet::RC4,
            vec![],
            &mut a,
        );
        let mut r = p2p_proto::mse::Receiver::new(
            p2p_proto::mse::Secrets {
                private_key: [3; 20],
                pad: vec![],
            },
            p2p_proto::mse::CryptoSet::RC4,
        );
        let mut i = i;
        let mut b = Vec::new();
        let mut lookup = |_: &[u8; 20]| Some(p2p_proto::infohash::InfoHash([2; 20]));
        assert!(r.receive(&a, &mut b, &mut lookup).unwrap().is_none());
        a.clear();
        assert!(i.receive(&b, &mut a).unwrap().is_none());
        b.clear();
        let done_r = r.receive(&a, &mut b, &mut lookup).unwrap().unwrap();
        let done_i = i.receive(&b, &mut a).unwrap().unwrap();
        let ci = done_i.ciphers.unwrap();
        let cr = done_r.ciphers.unwrap();
        (ci.encrypt, cr.decrypt)
    }

    #[tokio::test]
    async fn encrypted_vectored_writes_arrive_decrypted_and_whole() {
        let (a, b) = connected().await;
        let (enc, dec) = pair_of_streams();
        let (_, mut w) = plain(a);
        w = w.encrypted(Some(enc));
        let (mut r, _w2) = plain(b);
        r = r.encrypted(Some(dec), Vec::new());
        let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
        let sender = tokio::spawn(async move {
            let mut at = 0;
            while at < data.len() {
                let (x, y) = data[at..].split_at((data.len() - at) / 2);
                let n = w
                    .write_vectored(&[IoSlice::new(x), IoSlice::new(y)])
                    .await
                    .unwrap();
                at += n;
            }
            data
        });
        let mut got = BytesMut::new();
        while got.len() < 1_000_000 {
            assert!(r.read_buf(&mut got).await.unwrap() > 0);
        }
        assert_eq!(&got[..], &sender.await.unwrap()[..]);
    }
}
