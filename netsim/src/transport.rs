//! The simulated network: an in-process libp2p transport whose connections are
//! pairs of in-memory pipes with latency, jitter, bandwidth and loss.
//!
//! Every node has an IPv4 address (`10.x.y.z`, port 4001), so that the production
//! behaviours work unchanged: AutoNAT compares IP addresses, identify reports the
//! address a peer was seen at, relays and Kademlia store ordinary multiaddrs.
//!
//! - **Latency**: each pair of nodes has a one-way base latency drawn once from
//!   the seed; each write adds jitter. A dial takes one round trip.
//! - **Bandwidth**: a write waits for the sender's uplink, shared by all its
//!   connections (access links are the bottleneck).
//! - **Loss**: connections are reliable and ordered, like TCP and QUIC, so a lost
//!   packet costs a retransmission timeout (at least 200 ms, doubling), and data
//!   behind it waits. A lost SYN costs 1 s, doubling, up to the connect timeout.
//! - **NAT**: a dial to a NAT'd node is never answered (it times out); its own
//!   dials work, and others see them come from its address with a fresh port.
//! - **Offline**: a dial to a node that is offline times out; when a node goes
//!   offline its connections close, as when its process stops.
//!
//! No task is spawned per connection: a pipe is a queue of timestamped chunks
//! that the reader sleeps on.

use std::{
    collections::{HashMap, VecDeque},
    io,
    net::Ipv4Addr,
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    task::{Context, Poll, Waker},
    time::Duration,
};

use futures::{AsyncRead, AsyncWrite, FutureExt as _, future::BoxFuture};
use libp2p::{
    Multiaddr,
    core::transport::{DialOpts, ListenerId, Transport, TransportError, TransportEvent},
    multiaddr::Protocol,
};
use rand::{RngExt as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;
use tokio::{
    sync::mpsc,
    time::{Instant, Sleep},
};

use crate::scenario::Link;

/// The port every simulated node listens on.
pub const PORT: u16 = 4001;
/// Undelivered bytes one direction of a connection holds before the writer waits
/// (the simulated receive window).
const PIPE_CAPACITY: usize = 256 * 1024;
/// Bytes per simulated packet, for loss.
pub const PACKET: usize = 1448;
/// Connections a listener holds waiting to be accepted (the backlog).
const BACKLOG: usize = 128;
/// Retransmissions before a packet is delivered anyway: past this a real stack
/// would reset the connection, which the request timeouts then see as delay.
pub const MAX_RETRANSMISSIONS: u32 = 6;

/// The address of node `index`.
pub fn ip_of(index: usize) -> Ipv4Addr {
    // 10.0.0.1 onwards; `index` is below 200,000 (checked with the scenario).
    Ipv4Addr::from(0x0a00_0001u32 + index as u32)
}

/// The multiaddr node `index` listens on.
pub fn addr_of(index: usize) -> Multiaddr {
    Multiaddr::empty()
        .with(Protocol::Ip4(ip_of(index)))
        .with(Protocol::Tcp(PORT))
}

fn index_of(ip: Ipv4Addr) -> Option<usize> {
    u32::from(ip).checked_sub(0x0a00_0001).map(|i| i as usize)
}

/// Per-node traffic counters.
#[derive(Debug, Default)]
pub struct Traffic {
    /// Bytes this node wrote to its connections.
    pub bytes_sent: AtomicU64,
    /// Bytes it read from them.
    pub bytes_received: AtomicU64,
    /// Connections it dialled that were established.
    pub dials_ok: AtomicU64,
    /// Dials that failed (offline, NAT'd or refused target).
    pub dials_failed: AtomicU64,
    /// Connections it accepted.
    pub accepted: AtomicU64,
}

struct Slot {
    online: AtomicBool,
    behind_nat: bool,
    /// When this node's uplink is free again.
    uplink_free_at: Mutex<Instant>,
    traffic: Traffic,
}

/// A connection waiting to be accepted.
struct Incoming {
    stream: SimStream,
    send_back_addr: Multiaddr,
}

/// The whole simulated network, shared by every node's transport.
pub struct SimNet {
    link: Link,
    seed: u64,
    slots: Vec<Slot>,
    listeners: Mutex<HashMap<(Ipv4Addr, u16), mpsc::Sender<Incoming>>>,
    next_port: AtomicU64,
    next_stream: AtomicU64,
    /// Connections open now, and the most at once.
    open: AtomicU64,
    peak_open: AtomicU64,
    /// Busy CPU per delivered write, in nanoseconds (`Scenario::cpu_burn_us`).
    cpu_burn_ns: AtomicU64,
}

impl std::fmt::Debug for SimNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimNet")
            .field("nodes", &self.slots.len())
            .finish_non_exhaustive()
    }
}

impl SimNet {
    /// A network of `nodes` nodes; `behind_nat[i]` says whether node `i` is NAT'd.
    /// Every node starts offline.
    pub fn new(link: Link, seed: u64, behind_nat: &[bool]) -> Arc<Self> {
        Arc::new(Self {
            link,
            seed,
            slots: behind_nat
                .iter()
                .map(|&behind_nat| Slot {
                    online: AtomicBool::new(false),
                    behind_nat,
                    uplink_free_at: Mutex::new(Instant::now()),
                    traffic: Traffic::default(),
                })
                .collect(),
            listeners: Mutex::new(HashMap::new()),
            next_port: AtomicU64::new(0),
            next_stream: AtomicU64::new(0),
            open: AtomicU64::new(0),
            peak_open: AtomicU64::new(0),
            cpu_burn_ns: AtomicU64::new(0),
        })
    }

    /// Makes every write a link delivers cost `burn` of busy CPU on the reader's
    /// side: a slower machine (`Scenario::cpu_burn_us`).
    pub fn set_cpu_burn(&self, burn: Duration) {
        let ns = u64::try_from(burn.as_nanos()).unwrap_or(u64::MAX);
        self.cpu_burn_ns.store(ns, Ordering::Relaxed);
    }

    /// Spins for the configured burn. Deliberately the wall clock and a busy
    /// loop: it stands for CPU work, which virtual time does not see.
    fn burn(&self) {
        let ns = self.cpu_burn_ns.load(Ordering::Relaxed);
        if ns > 0 {
            let until = std::time::Instant::now() + Duration::from_nanos(ns);
            while std::time::Instant::now() < until {
                std::hint::spin_loop();
            }
        }
    }

    /// Marks node `index` online or offline (dials to an offline node time out).
    pub fn set_online(&self, index: usize, online: bool) {
        if let Some(slot) = self.slot(index) {
            slot.online.store(online, Ordering::SeqCst);
        }
    }

    /// Connections open now (each counted once, not per end).
    pub fn open_connections(&self) -> u64 {
        self.open.load(Ordering::Relaxed) / 2
    }

    /// The most connections open at once so far.
    pub fn peak_connections(&self) -> u64 {
        self.peak_open.load(Ordering::Relaxed) / 2
    }

    /// Node `index`'s traffic so far.
    pub fn traffic(&self, index: usize) -> Option<&Traffic> {
        self.slot(index).map(|s| &s.traffic)
    }

    /// The transport for node `index`.
    pub fn transport(self: &Arc<Self>, index: usize) -> SimTransport {
        SimTransport {
            net: self.clone(),
            node: index,
            listeners: Vec::new(),
            events: VecDeque::new(),
        }
    }

    /// The one-way base latency between two nodes: drawn once per pair from the
    /// seed, the same in both directions.
    pub fn base_latency(&self, a: usize, b: usize) -> Duration {
        base_latency(&self.link, self.seed, a, b)
    }

    fn reachable(&self, target: usize) -> bool {
        self.slots
            .get(target)
            .is_some_and(|s| s.online.load(Ordering::SeqCst) && !s.behind_nat)
    }

    fn slot(&self, index: usize) -> Option<&Slot> {
        self.slots.get(index)
    }

    /// Adds `n` to one of node `index`'s traffic counters.
    fn count(&self, index: usize, counter: fn(&Traffic) -> &AtomicU64, n: u64) {
        if let Some(traffic) = self.traffic(index) {
            counter(traffic).fetch_add(n, Ordering::Relaxed);
        }
    }
}

/// The one-way base latency between nodes `a` and `b` of a run with `link` and
/// `seed`: drawn once per pair, the same in both directions, from the pair's
/// regions when the link has a matrix. The model tier draws the same latencies
/// as the real one.
pub fn base_latency(link: &Link, seed: u64, a: usize, b: usize) -> Duration {
    let (lo, hi) = (a.min(b), a.max(b));
    let mut rng = ChaCha8Rng::seed_from_u64(
        seed ^ (lo as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ hi as u64,
    );
    let ms = match link.regions.as_ref().and_then(|r| r.table()) {
        Some(table) => table.one_way_ms(
            table.region_of(seed, lo),
            table.region_of(seed, hi),
            &mut rng,
        ),
        None => link.latency_ms.sample(&mut rng),
    };
    duration_ms(ms)
}

/// `ms` milliseconds as a duration, clamped to 0–1 hour.
pub fn duration_ms(ms: f64) -> Duration {
    Duration::from_secs_f64((ms / 1000.0).clamp(0.0, 3600.0))
}

/// One direction of a connection: timestamped chunks in order.
#[derive(Default)]
struct PipeState {
    chunks: VecDeque<(Instant, Vec<u8>)>,
    /// Read offset into the front chunk.
    offset: usize,
    buffered: usize,
    last_delivery: Option<Instant>,
    /// When the writer closed, the time its end-of-stream arrives.
    eof_at: Option<Instant>,
    reader_gone: bool,
    reader: Option<Waker>,
    writer: Option<Waker>,
}

#[derive(Default)]
struct Pipe(Mutex<PipeState>);

impl Pipe {
    fn lock(&self) -> std::sync::MutexGuard<'_, PipeState> {
        // A panic while holding the lock leaves plain data; keep going.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One end of a simulated connection.
pub struct SimStream {
    net: Arc<SimNet>,
    /// This end's node, and the other end's.
    local: usize,
    remote: usize,
    base_latency: Duration,
    incoming: Arc<Pipe>,
    outgoing: Arc<Pipe>,
    sleep: Option<Pin<Box<Sleep>>>,
    rng: ChaCha8Rng,
}

impl std::fmt::Debug for SimStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimStream")
            .field("local", &self.local)
            .field("remote", &self.remote)
            .finish_non_exhaustive()
    }
}

impl SimStream {
    fn pair(net: &Arc<SimNet>, dialer: usize, listener: usize) -> (Self, Self) {
        let (a_to_b, b_to_a) = (Arc::new(Pipe::default()), Arc::new(Pipe::default()));
        let base_latency = net.base_latency(dialer, listener);
        let id = net.next_stream.fetch_add(1, Ordering::Relaxed);
        let open = net.open.fetch_add(2, Ordering::Relaxed) + 2;
        net.peak_open.fetch_max(open, Ordering::Relaxed);
        let end = |local, remote, incoming: &Arc<Pipe>, outgoing: &Arc<Pipe>, salt: u64| Self {
            net: net.clone(),
            local,
            remote,
            base_latency,
            incoming: incoming.clone(),
            outgoing: outgoing.clone(),
            sleep: None,
            rng: ChaCha8Rng::seed_from_u64(net.seed ^ (id << 1 | salt)),
        };
        (
            end(dialer, listener, &b_to_a, &a_to_b, 0),
            end(listener, dialer, &a_to_b, &b_to_a, 1),
        )
    }

    /// Retransmission timeout: at least 200 ms (Linux's minimum), else three
    /// round trips.
    fn rto(&self) -> Duration {
        (self.base_latency * 6).max(Duration::from_millis(200))
    }

    /// When `len` bytes written now arrive: uplink, latency, jitter, losses.
    fn arrival(&mut self, len: usize) -> Instant {
        let now = Instant::now();
        let link = &self.net.link;
        let serialisation = Duration::from_secs_f64(len as f64 * 8.0 / (link.bandwidth_mbps * 1e6));
        let sent = match self.net.slot(self.local) {
            Some(slot) => {
                let mut free = slot
                    .uplink_free_at
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                let start = (*free).max(now);
                *free = start + serialisation;
                *free
            }
            None => now + serialisation,
        };
        let mut penalty = Duration::ZERO;
        if link.loss > 0.0 {
            let rto = self.rto();
            for _ in 0..len.div_ceil(PACKET) {
                let mut wait = Duration::ZERO;
                let mut tries = 0;
                while tries < MAX_RETRANSMISSIONS && self.rng.random::<f64>() < link.loss {
                    wait += rto * 2u32.pow(tries);
                    tries += 1;
                }
                penalty = penalty.max(wait);
            }
        }
        let jitter = duration_ms(link.jitter_ms.sample(&mut self.rng));
        sent + self.base_latency + jitter + penalty
    }
}

impl AsyncRead for SimStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            let now = Instant::now();
            let wake_at = {
                let mut guard = self.incoming.lock();
                let pipe = &mut *guard;
                match pipe.chunks.front() {
                    Some((at, chunk)) if *at <= now => {
                        let n = buf.len().min(chunk.len() - pipe.offset);
                        buf[..n].copy_from_slice(&chunk[pipe.offset..pipe.offset + n]);
                        pipe.offset += n;
                        let delivered = pipe.offset == chunk.len();
                        if delivered {
                            pipe.chunks.pop_front();
                            pipe.offset = 0;
                        }
                        pipe.buffered -= n;
                        if let Some(writer) = pipe.writer.take() {
                            writer.wake();
                        }
                        drop(guard);
                        self.net.count(self.local, |t| &t.bytes_received, n as u64);
                        if delivered {
                            self.net.burn();
                        }
                        return Poll::Ready(Ok(n));
                    }
                    Some((at, _)) => *at,
                    None => match pipe.eof_at {
                        Some(at) if at <= now => return Poll::Ready(Ok(0)),
                        Some(at) => at,
                        None => {
                            pipe.reader = Some(cx.waker().clone());
                            return Poll::Pending;
                        }
                    },
                }
            };
            // Data (or the end) is on its way: sleep until it lands. A write that
            // lands earlier cannot exist, since deliveries are in order.
            let sleep = match &mut self.sleep {
                Some(sleep) => {
                    sleep.as_mut().reset(wake_at);
                    sleep
                }
                None => self
                    .sleep
                    .insert(Box::pin(tokio::time::sleep_until(wake_at))),
            };
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
        }
    }
}

impl AsyncWrite for SimStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let room = {
            let mut pipe = self.outgoing.lock();
            if pipe.reader_gone || pipe.eof_at.is_some() {
                return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
            }
            if pipe.buffered >= PIPE_CAPACITY {
                pipe.writer = Some(cx.waker().clone());
                return Poll::Pending;
            }
            PIPE_CAPACITY - pipe.buffered
        };
        let n = buf.len().min(room);
        if n == 0 {
            return Poll::Ready(Ok(0));
        }
        let arrival = self.arrival(n);
        let mut pipe = self.outgoing.lock();
        // In order: nothing lands before what was written earlier.
        let at = pipe.last_delivery.map_or(arrival, |last| last.max(arrival));
        pipe.last_delivery = Some(at);
        pipe.chunks.push_back((at, buf[..n].to_vec()));
        pipe.buffered += n;
        if let Some(reader) = pipe.reader.take() {
            reader.wake();
        }
        drop(pipe);
        self.net.count(self.local, |t| &t.bytes_sent, n as u64);
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.close_outgoing();
        Poll::Ready(Ok(()))
    }
}

impl SimStream {
    fn close_outgoing(&self) {
        let mut pipe = self.outgoing.lock();
        if pipe.eof_at.is_none() {
            let after = Instant::now() + self.base_latency;
            pipe.eof_at = Some(pipe.last_delivery.map_or(after, |last| last.max(after)));
            if let Some(reader) = pipe.reader.take() {
                reader.wake();
            }
        }
    }
}

impl Drop for SimStream {
    fn drop(&mut self) {
        self.net.open.fetch_sub(1, Ordering::Relaxed);
        self.close_outgoing();
        let mut pipe = self.incoming.lock();
        pipe.reader_gone = true;
        pipe.chunks.clear();
        pipe.buffered = 0;
        if let Some(writer) = pipe.writer.take() {
            writer.wake();
        }
    }
}

struct Listener {
    id: ListenerId,
    key: (Ipv4Addr, u16),
    incoming: mpsc::Receiver<Incoming>,
}

/// One node's view of the simulated network, as a libp2p [`Transport`].
pub struct SimTransport {
    net: Arc<SimNet>,
    node: usize,
    listeners: Vec<Listener>,
    events: VecDeque<TransportEvent<<Self as Transport>::ListenerUpgrade, io::Error>>,
}

impl SimTransport {
    fn unregister(&self, key: (Ipv4Addr, u16)) {
        self.net
            .listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key);
    }
}

impl Drop for SimTransport {
    fn drop(&mut self) {
        for listener in &self.listeners {
            self.unregister(listener.key);
        }
    }
}

fn ip_port(addr: &Multiaddr) -> Option<(Ipv4Addr, u16)> {
    let mut parts = addr.iter();
    match (parts.next(), parts.next()) {
        (Some(Protocol::Ip4(ip)), Some(Protocol::Tcp(port))) => {
            // Anything after the port other than /p2p is not ours.
            parts
                .all(|p| matches!(p, Protocol::P2p(_)))
                .then_some((ip, port))
        }
        _ => None,
    }
}

impl Transport for SimTransport {
    type Output = SimStream;
    type Error = io::Error;
    type ListenerUpgrade = futures::future::Ready<Result<SimStream, io::Error>>;
    type Dial = BoxFuture<'static, Result<SimStream, io::Error>>;

    fn listen_on(
        &mut self,
        id: ListenerId,
        addr: Multiaddr,
    ) -> Result<(), TransportError<Self::Error>> {
        let Some((ip, port)) = ip_port(&addr) else {
            return Err(TransportError::MultiaddrNotSupported(addr));
        };
        if ip != ip_of(self.node) && !ip.is_unspecified() {
            return Err(TransportError::Other(io::Error::new(
                io::ErrorKind::AddrNotAvailable,
                format!(
                    "node {} has address {}, not {ip}",
                    self.node,
                    ip_of(self.node)
                ),
            )));
        }
        let key = (ip_of(self.node), if port == 0 { PORT } else { port });
        let (tx, rx) = mpsc::channel(BACKLOG);
        {
            let mut listeners = self.net.listeners.lock().unwrap_or_else(|e| e.into_inner());
            if listeners.get(&key).is_some_and(|held| !held.is_closed()) {
                return Err(TransportError::Other(io::ErrorKind::AddrInUse.into()));
            }
            listeners.insert(key, tx);
        }
        self.listeners.push(Listener {
            id,
            key,
            incoming: rx,
        });
        self.events.push_back(TransportEvent::NewAddress {
            listener_id: id,
            listen_addr: Multiaddr::empty()
                .with(Protocol::Ip4(key.0))
                .with(Protocol::Tcp(key.1)),
        });
        Ok(())
    }

    fn remove_listener(&mut self, id: ListenerId) -> bool {
        let Some(i) = self.listeners.iter().position(|l| l.id == id) else {
            return false;
        };
        let listener = self.listeners.remove(i);
        self.unregister(listener.key);
        self.events.push_back(TransportEvent::ListenerClosed {
            listener_id: id,
            reason: Ok(()),
        });
        true
    }

    fn dial(
        &mut self,
        addr: Multiaddr,
        opts: DialOpts,
    ) -> Result<Self::Dial, TransportError<Self::Error>> {
        // As libp2p's TCP transport: with port reuse, a connection leaves from the
        // listening port, so peers observe a dialable address; a NAT picks a port
        // of its own.
        let reuse = opts.port_use == libp2p::core::transport::PortUse::Reuse
            && !self.listeners.is_empty()
            && !self.net.slot(self.node).is_some_and(|s| s.behind_nat);
        let Some((ip, port)) = ip_port(&addr) else {
            return Err(TransportError::MultiaddrNotSupported(addr));
        };
        let Some(target) = index_of(ip).filter(|&t| t < self.net.slots.len()) else {
            return Err(TransportError::MultiaddrNotSupported(addr));
        };
        let (net, dialer) = (self.net.clone(), self.node);
        Ok(async move {
            let failed = || net.count(dialer, |t| &t.dials_failed, 1);
            let timeout = net.link.connect_timeout;
            if !net.reachable(target) {
                // An unanswered SYN: nothing comes back until the timeout.
                tokio::time::sleep(timeout).await;
                failed();
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("{addr}: no answer (offline or behind NAT)"),
                ));
            }
            // SYN and SYN-ACK: one round trip, plus 1 s (doubling) per lost SYN.
            let rtt = net.base_latency(dialer, target) * 2;
            let mut setup = rtt;
            let mut backoff = Duration::from_secs(1);
            {
                let mut rng = ChaCha8Rng::seed_from_u64(
                    net.seed ^ net.next_stream.fetch_add(1, Ordering::Relaxed),
                );
                while net.link.loss > 0.0 && rng.random::<f64>() < net.link.loss {
                    setup += backoff;
                    backoff *= 2;
                }
            }
            if setup > timeout {
                tokio::time::sleep(timeout).await;
                failed();
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("{addr}: connection timed out (lost SYNs)"),
                ));
            }
            tokio::time::sleep(setup).await;
            let listener = net
                .listeners
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&(ip, port))
                .cloned();
            let Some(listener) = listener.filter(|_| net.reachable(target)) else {
                failed();
                return Err(io::Error::new(
                    io::ErrorKind::ConnectionRefused,
                    format!("{addr}: connection refused"),
                ));
            };
            let (ours, theirs) = SimStream::pair(&net, dialer, target);
            let port = if reuse {
                PORT
            } else {
                32_768 + (net.next_port.fetch_add(1, Ordering::Relaxed) % 28_000) as u16
            };
            let send_back_addr = Multiaddr::empty()
                .with(Protocol::Ip4(ip_of(dialer)))
                .with(Protocol::Tcp(port));
            if listener
                .try_send(Incoming {
                    stream: theirs,
                    send_back_addr,
                })
                .is_err()
            {
                failed();
                return Err(io::Error::new(
                    io::ErrorKind::ConnectionRefused,
                    format!("{addr}: backlog full or listener closed"),
                ));
            }
            net.count(dialer, |t| &t.dials_ok, 1);
            Ok(ours)
        }
        .boxed())
    }

    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<TransportEvent<Self::ListenerUpgrade, Self::Error>> {
        if let Some(event) = self.events.pop_front() {
            return Poll::Ready(event);
        }
        let this = &mut *self;
        for listener in &mut this.listeners {
            if let Poll::Ready(Some(incoming)) = listener.incoming.poll_recv(cx) {
                this.net.count(this.node, |t| &t.accepted, 1);
                return Poll::Ready(TransportEvent::Incoming {
                    listener_id: listener.id,
                    upgrade: futures::future::ready(Ok(incoming.stream)),
                    local_addr: Multiaddr::empty()
                        .with(Protocol::Ip4(listener.key.0))
                        .with(Protocol::Tcp(listener.key.1)),
                    send_back_addr: incoming.send_back_addr,
                });
            }
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use futures::{AsyncReadExt as _, AsyncWriteExt as _};
    use libp2p::core::{Endpoint, transport::PortUse};

    use super::*;
    use crate::dist::Dist;

    fn link(latency_ms: f64, loss: f64) -> Link {
        Link {
            latency_ms: Dist::Fixed { value: latency_ms },
            jitter_ms: Dist::Fixed { value: 0.0 },
            loss,
            bandwidth_mbps: 8.0,
            connect_timeout: Duration::from_secs(5),
            regions: None,
        }
    }

    fn opts() -> DialOpts {
        DialOpts {
            role: Endpoint::Dialer,
            port_use: PortUse::New,
        }
    }

    async fn accept(t: &mut SimTransport) -> (SimStream, Multiaddr) {
        loop {
            let event = futures::future::poll_fn(|cx| Pin::new(&mut *t).poll(cx)).await;
            if let TransportEvent::Incoming {
                upgrade,
                send_back_addr,
                ..
            } = event
            {
                return (upgrade.await.unwrap(), send_back_addr);
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn bytes_arrive_in_order_after_the_latency_and_the_uplink() {
        let net = SimNet::new(link(50.0, 0.0), 1, &[false, false]);
        net.set_online(0, true);
        net.set_online(1, true);
        let (mut a, mut b) = (net.transport(0), net.transport(1));
        b.listen_on(ListenerId::next(), addr_of(1)).unwrap();
        let started = Instant::now();
        let dial = a.dial(addr_of(1), opts()).unwrap();
        let (dialled, (mut accepted, from)) = tokio::join!(dial, accept(&mut b));
        let mut dialled = dialled.unwrap();
        assert_eq!(
            started.elapsed(),
            Duration::from_millis(100),
            "one round trip"
        );
        assert_eq!(ip_port(&from).unwrap().0, ip_of(0));

        // 100 KB at 8 Mbit/s is 100 ms on the uplink, then 50 ms of latency.
        let sent = Instant::now();
        let data: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
        dialled.write_all(&data).await.unwrap();
        let mut got = vec![0; data.len()];
        accepted.read_exact(&mut got).await.unwrap();
        assert_eq!(got, data);
        assert_eq!(sent.elapsed(), Duration::from_millis(150));
        assert_eq!(
            net.traffic(0).unwrap().bytes_sent.load(Ordering::Relaxed),
            100_000
        );
        assert_eq!(
            net.traffic(1)
                .unwrap()
                .bytes_received
                .load(Ordering::Relaxed),
            100_000
        );

        // Closing one end is seen by the other after the latency.
        drop(dialled);
        let closed = Instant::now();
        assert_eq!(accepted.read(&mut got).await.unwrap(), 0);
        assert_eq!(closed.elapsed(), Duration::from_millis(50));
    }

    #[tokio::test(start_paused = true)]
    async fn dials_to_offline_or_natd_nodes_time_out() {
        let net = SimNet::new(link(10.0, 0.0), 1, &[false, false, true]);
        for i in 0..3 {
            net.set_online(i, true);
        }
        let (mut a, mut b, mut natd) = (net.transport(0), net.transport(1), net.transport(2));
        b.listen_on(ListenerId::next(), addr_of(1)).unwrap();
        natd.listen_on(ListenerId::next(), addr_of(2)).unwrap();
        net.set_online(1, false);
        for target in [1, 2] {
            let started = Instant::now();
            let error = a.dial(addr_of(target), opts()).unwrap().await.unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::TimedOut);
            assert_eq!(started.elapsed(), Duration::from_secs(5));
        }
        // The NAT'd node can still dial out.
        net.set_online(1, true);
        let (dialled, _) = tokio::join!(natd.dial(addr_of(1), opts()).unwrap(), accept(&mut b));
        assert!(dialled.is_ok());
        assert_eq!(
            net.traffic(0).unwrap().dials_failed.load(Ordering::Relaxed),
            2
        );
    }

    #[tokio::test(start_paused = true)]
    async fn loss_turns_into_retransmission_delay_not_lost_bytes() {
        let net = SimNet::new(link(10.0, 0.3), 9, &[false, false]);
        net.set_online(0, true);
        net.set_online(1, true);
        let (mut a, mut b) = (net.transport(0), net.transport(1));
        b.listen_on(ListenerId::next(), addr_of(1)).unwrap();
        let (dialled, (mut accepted, _)) =
            tokio::join!(a.dial(addr_of(1), opts()).unwrap(), accept(&mut b));
        let mut dialled = dialled.unwrap();
        let mut slowest = Duration::ZERO;
        for round in 0..50u8 {
            let sent = Instant::now();
            dialled.write_all(&[round; 3000]).await.unwrap();
            let mut got = [0u8; 3000];
            accepted.read_exact(&mut got).await.unwrap();
            assert!(got.iter().all(|b| *b == round));
            slowest = slowest.max(sent.elapsed());
        }
        // Some of 150 packets at 30 % loss were resent: at least one 200 ms timeout.
        assert!(slowest >= Duration::from_millis(200), "{slowest:?}");
    }
}
