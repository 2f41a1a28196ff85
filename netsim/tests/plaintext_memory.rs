//! The patched libp2p-plaintext lets go of its handshake buffer
//! (netsim/patches/PATCH.md). Upstream's connection kept the whole read buffer
//! of its handshake, about 5 KiB, for as long as it lived: 400 KiB for a
//! simulated node with 80 connections.
//!
//! Its own test binary: dhat counts the whole process's heap, and allows one
//! profiler at a time.

#![allow(clippy::unwrap_used)]

use std::{
    collections::VecDeque,
    io,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll, Waker},
};

use futures::{AsyncRead, AsyncWrite};
use libp2p::{
    core::upgrade::{InboundConnectionUpgrade, OutboundConnectionUpgrade},
    identity, plaintext,
};

#[global_allocator]
static ALLOCATOR: dhat::Alloc = dhat::Alloc;

/// One direction of an in-memory pipe.
#[derive(Default)]
struct Pipe {
    bytes: VecDeque<u8>,
    reader: Option<Waker>,
}

/// One end of an in-memory duplex connection.
struct End {
    read: Arc<Mutex<Pipe>>,
    write: Arc<Mutex<Pipe>>,
}

fn duplex() -> (End, End) {
    let (a, b) = (Arc::default(), Arc::default());
    (
        End {
            read: Arc::clone(&a),
            write: Arc::clone(&b),
        },
        End { read: b, write: a },
    )
}

impl AsyncRead for End {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut pipe = self.read.lock().unwrap();
        if pipe.bytes.is_empty() {
            pipe.reader = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let n = buf.len().min(pipe.bytes.len());
        for (slot, byte) in buf.iter_mut().zip(pipe.bytes.drain(..n)) {
            *slot = byte;
        }
        Poll::Ready(Ok(n))
    }
}

impl AsyncWrite for End {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let mut pipe = self.write.lock().unwrap();
        pipe.bytes.extend(buf);
        if let Some(reader) = pipe.reader.take() {
            reader.wake();
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[test]
fn a_plaintext_connection_holds_no_handshake_buffer() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let held = || dhat::HeapStats::get().curr_bytes;
    let (dialer, listener) = (
        identity::Keypair::generate_ed25519(),
        identity::Keypair::generate_ed25519(),
    );
    let connect = || {
        let (a, b) = duplex();
        futures::executor::block_on(futures::future::join(
            plaintext::Config::new(&dialer).upgrade_outbound(a, ""),
            plaintext::Config::new(&listener).upgrade_inbound(b, ""),
        ))
    };
    drop(connect()); // warm up what every connection shares

    let before = held();
    let connections: Vec<_> = (0..20).map(|_| connect()).collect();
    let each = (held() - before) / connections.len();
    eprintln!("a plaintext connection (both ends) holds {each} bytes");
    assert!(connections.iter().all(|(a, b)| a.is_ok() && b.is_ok()));
    assert!(
        each < 4096,
        "a plaintext connection (both ends) holds {each} bytes"
    );
}
