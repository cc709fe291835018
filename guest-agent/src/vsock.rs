//! AF_VSOCK stream sockets: how a Hyper-V host reaches the guest (Hyper-V sockets appear in a
//! Linux guest as vsock, the service GUID `PPPPPPPP-facb-11e6-bd58-64006a7986d3` mapping to
//! port 0xPPPPPPPP). std has no vsock type, so this wraps the libc calls.

use std::fs::File;
use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// Any CID: listen on whatever address the guest has.
pub const CID_ANY: u32 = libc::VMADDR_CID_ANY;
/// The local CID (loopback, when the kernel has vsock_loopback).
pub const CID_LOCAL: u32 = 1;

/// Why a vsock endpoint could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum VsockError {
    /// The kernel has no AF_VSOCK (no vsock module, or a container without it).
    #[error("AF_VSOCK is not available on this system ({0}); on Hyper-V load hv_sock, on QEMU use --serial")]
    Unavailable(#[source] io::Error),
    /// Binding or listening failed (port taken, no transport).
    #[error("cannot listen on vsock port {port}: {source}")]
    Bind {
        /// The port.
        port: u32,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Connecting failed.
    #[error("cannot connect to vsock cid {cid} port {port}: {source}")]
    Connect {
        /// The peer's CID.
        cid: u32,
        /// The port.
        port: u32,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

fn sockaddr(cid: u32, port: u32) -> libc::sockaddr_vm {
    // SAFETY: sockaddr_vm is plain data; all-zero is a valid value to fill in.
    let mut a: libc::sockaddr_vm = unsafe { std::mem::zeroed() };
    a.svm_family = libc::AF_VSOCK as libc::sa_family_t;
    a.svm_cid = cid;
    a.svm_port = port;
    a
}

fn socket() -> Result<OwnedFd, VsockError> {
    // SAFETY: plain socket(2) call; the descriptor is owned right away.
    let fd = unsafe { libc::socket(libc::AF_VSOCK, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(VsockError::Unavailable(io::Error::last_os_error()));
    }
    // SAFETY: fd is a fresh descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// bind(2) or connect(2), which take the same arguments, on `fd` with the address `cid`:`port`.
fn at_address(
    fd: &OwnedFd,
    cid: u32,
    port: u32,
    call: unsafe extern "C" fn(libc::c_int, *const libc::sockaddr, libc::socklen_t) -> libc::c_int,
) -> io::Result<()> {
    let addr = sockaddr(cid, port);
    // SAFETY: addr is a valid sockaddr_vm of the given length; fd is ours.
    let r = unsafe {
        call(
            fd.as_raw_fd(),
            (&addr as *const libc::sockaddr_vm).cast(),
            size_of::<libc::sockaddr_vm>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// A listening vsock socket.
pub struct VsockListener {
    fd: OwnedFd,
}

impl VsockListener {
    /// Listens on `port` on any CID.
    pub fn bind(port: u32) -> Result<VsockListener, VsockError> {
        Self::bind_cid(CID_ANY, port)
    }

    /// Listens on `port` on `cid`.
    pub fn bind_cid(cid: u32, port: u32) -> Result<VsockListener, VsockError> {
        let fd = socket()?;
        if let Err(source) = at_address(&fd, cid, port, libc::bind) {
            return Err(VsockError::Bind { port, source });
        }
        // SAFETY: listen on our bound socket.
        if unsafe { libc::listen(fd.as_raw_fd(), 16) } != 0 {
            return Err(VsockError::Bind {
                port,
                source: io::Error::last_os_error(),
            });
        }
        Ok(VsockListener { fd })
    }

    /// Waits for a connection; returns the stream and the peer's CID.
    pub fn accept(&self) -> io::Result<(File, u32)> {
        let mut addr = sockaddr(0, 0);
        let mut len = size_of::<libc::sockaddr_vm>() as libc::socklen_t;
        // SAFETY: addr/len describe a writable sockaddr_vm; the new descriptor is owned below.
        let fd = unsafe {
            libc::accept4(
                self.fd.as_raw_fd(),
                (&mut addr as *mut libc::sockaddr_vm).cast(),
                &mut len,
                libc::SOCK_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is a fresh descriptor from accept4.
        Ok((unsafe { File::from_raw_fd(fd) }, addr.svm_cid))
    }
}

/// Connects to `cid`:`port` (a host-side client on Linux, or loopback tests).
pub fn connect(cid: u32, port: u32) -> Result<File, VsockError> {
    let fd = socket()?;
    if let Err(source) = at_address(&fd, cid, port, libc::connect) {
        return Err(VsockError::Connect { cid, port, source });
    }
    Ok(File::from(fd))
}

/// Sets the receive and send timeouts of a vsock stream (None: wait forever).
pub fn set_timeouts(stream: &File, timeout: Option<std::time::Duration>) -> io::Result<()> {
    let tv = match timeout {
        Some(d) => libc::timeval {
            tv_sec: d.as_secs().min(i64::MAX as u64) as libc::time_t,
            tv_usec: d.subsec_micros() as libc::suseconds_t,
        },
        None => libc::timeval {
            tv_sec: 0,
            tv_usec: 0,
        },
    };
    for opt in [libc::SO_RCVTIMEO, libc::SO_SNDTIMEO] {
        // SAFETY: tv is a valid timeval of the given size; the descriptor is the caller's.
        let r = unsafe {
            libc::setsockopt(
                stream.as_raw_fd(),
                libc::SOL_SOCKET,
                opt,
                (&tv as *const libc::timeval).cast(),
                size_of::<libc::timeval>() as libc::socklen_t,
            )
        };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whatever this machine has, setting up a listener either works or fails with a typed
    /// error that says what to do; it never panics or hangs.
    #[test]
    fn bind_succeeds_or_fails_cleanly() {
        match VsockListener::bind(0x5e11) {
            Ok(_) => {}
            Err(e @ VsockError::Unavailable(_)) => {
                assert!(e.to_string().contains("--serial"), "{e}");
            }
            Err(e @ VsockError::Bind { .. }) => {
                assert!(e.to_string().contains("port 24081"), "{e}");
            }
            Err(e) => panic!("unexpected {e}"),
        }
    }

    /// Where the kernel has vsock loopback, a full connect/accept round trip; elsewhere the
    /// connect error must be the typed one.
    #[test]
    fn loopback_round_trip_when_available() {
        use std::io::{Read, Write};
        let Ok(listener) = VsockListener::bind_cid(CID_ANY, 0x5e12) else {
            return;
        };
        let t = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().ok()?;
            let mut b = [0u8; 4];
            s.read_exact(&mut b).ok()?;
            Some(b)
        });
        match connect(CID_LOCAL, 0x5e12) {
            Ok(mut c) => {
                c.write_all(b"ping").unwrap();
                assert_eq!(t.join().unwrap(), Some(*b"ping"));
            }
            Err(e) => assert!(matches!(e, VsockError::Connect { .. }), "{e}"),
        }
    }
}
