//! Line framing: bytes in, whole lines out, with the length capped before a
//! line is ever held whole. A partial line means "read more", not an error.

use serde::Serialize;

use super::MAX_FRAME_BYTES;

/// Why a stream of frames is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// A line longer than the limit.
    #[error("frame longer than {max} bytes")]
    TooLong {
        /// The limit.
        max: usize,
    },
    /// A line that is not UTF-8.
    #[error("frame is not UTF-8")]
    NotUtf8,
}

/// Collects bytes and yields complete lines.
#[derive(Debug, Default)]
pub struct FrameReader {
    buf: Vec<u8>,
    /// Bytes of `buf` already searched for a newline.
    scanned: usize,
    max: usize,
}

impl FrameReader {
    /// A reader with the protocol's frame limit.
    pub fn new() -> Self {
        Self::with_limit(MAX_FRAME_BYTES)
    }

    /// A reader with another limit.
    pub fn with_limit(max: usize) -> Self {
        FrameReader {
            buf: Vec::new(),
            scanned: 0,
            max,
        }
    }

    /// Adds bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole line without its newline (a trailing `\r` is dropped
    /// too, for `socat` users); `Ok(None)` when more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<String>, FrameError> {
        match self.buf[self.scanned..].iter().position(|&b| b == b'\n') {
            Some(i) => {
                let end = self.scanned + i;
                if end > self.max {
                    return Err(FrameError::TooLong { max: self.max });
                }
                let mut line: Vec<u8> = self.buf.drain(..=end).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                self.scanned = 0;
                String::from_utf8(line)
                    .map(Some)
                    .map_err(|_| FrameError::NotUtf8)
            }
            None if self.buf.len() > self.max => Err(FrameError::TooLong { max: self.max }),
            None => {
                self.scanned = self.buf.len();
                Ok(None)
            }
        }
    }

    /// Bytes held that do not yet form a line.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }
}

/// One JSON line. Serialising our own types cannot fail; should it ever,
/// the line carries an error object rather than nothing.
pub fn encode_frame<T: Serialize>(value: &T) -> Vec<u8> {
    let mut line = serde_json::to_vec(value).unwrap_or_else(|e| {
        format!(r#"{{"error":{{"code":"internal","message":"cannot encode reply: {e}"}}}}"#)
            .into_bytes()
    });
    line.push(b'\n');
    line
}
