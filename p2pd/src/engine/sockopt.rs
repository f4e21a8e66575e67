//! The receive low-water mark (`SO_RCVLOWAT`), which no safe socket crate
//! exposes. With the `sha1wide` crate, the workspace's only `unsafe` code.
//!
//! Why: at loopback and LAN rates a peer socket becomes readable for every
//! 16-64 KiB that arrives, and each wake-up is a context switch that costs
//! as much CPU as copying the data. Asking the kernel to wake us only once a
//! quarter of a megabyte is waiting cut the leecher's context switches by
//! half and raised a 1 GiB loopback transfer from about 890 to 1,190 MB/s
//! (bench/transfer.sh). The caller only raises the mark for a fast peer
//! that owes us more than twice that much, and drops it back to one byte
//! when the peer stalls, so no message waits long behind it.

#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
pub(crate) fn set_recv_lowat(sock: &impl std::os::fd::AsFd, bytes: i32) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let fd = sock.as_fd();
    let value: libc::c_int = bytes.max(1);
    // SAFETY: `fd` is an open socket borrowed for the whole call; the option
    // value is a c_int that lives on the stack for the call, and its exact
    // size is passed, as setsockopt(2) requires for SO_RCVLOWAT.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVLOWAT,
            std::ptr::from_ref(&value).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Elsewhere the mark stays at its default of one byte.
#[cfg(not(target_os = "linux"))]
pub(crate) fn set_recv_lowat<S>(_sock: &S, _bytes: i32) -> std::io::Result<()> {
    Ok(())
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::time::{Duration, Instant};

    #[test]
    fn a_raised_mark_holds_a_read_until_enough_bytes_wait() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut tx = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (rx, _) = listener.accept().unwrap();
        rx.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let mut buf = [0u8; 2000];
        // Mark 1000, 10 bytes waiting: the read waits out its timeout.
        super::set_recv_lowat(&rx, 1000).unwrap();
        tx.write_all(&[7u8; 10]).unwrap();
        let started = Instant::now();
        assert_eq!((&rx).read(&mut buf).unwrap(), 10);
        assert!(started.elapsed() >= Duration::from_millis(250));
        // Back to one byte: 3 bytes are enough.
        super::set_recv_lowat(&rx, 1).unwrap();
        tx.write_all(&[1u8; 3]).unwrap();
        assert_eq!((&rx).read(&mut buf).unwrap(), 3);
        assert_eq!(&buf[..3], &[1, 1, 1]);
    }
}
