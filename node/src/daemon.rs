//! A node running for real: the network started and published, undelivered messages
//! from the last run sent again, the sweeper erasing what has expired (and delivering
//! the receipts), until a shutdown signal, after which in-flight work finishes before
//! the process ends.

use std::time::Duration;

use libp2p::identity;
use tokio::task::JoinHandle;

use crate::{
    metrics::Metrics,
    net::{self, Client, NetConfig, NetError},
    node::Node,
};

/// A running node: its core, its network client, and its background tasks.
pub struct Daemon {
    /// The node core.
    pub node: Node,
    /// The network.
    pub client: Client,
    /// The network's counters, for the HTTP API's `/metrics`.
    pub metrics: Metrics,
    event_loop: JoinHandle<()>,
    sweeper: JoinHandle<()>,
}

use crate::node::system_now as now;

impl Daemon {
    /// Starts the network for `node` and waits until it listens; publishes its record
    /// in the background (retrying until the DHT takes it); sweeps every
    /// `sweep_interval` (60 s is a good default).
    pub async fn start(
        node: Node,
        keypair: identity::Keypair,
        config: NetConfig,
        sweep_interval: Duration,
    ) -> Result<Self, NetError> {
        let transport = net::tcp_and_quic(&keypair)?;
        Self::start_over(node, keypair, config, sweep_interval, transport).await
    }

    /// [`Daemon::start`] over `transport` instead of TCP and QUIC: the simulator
    /// runs real daemons over its in-memory network this way.
    pub async fn start_over(
        node: Node,
        keypair: identity::Keypair,
        config: NetConfig,
        sweep_interval: Duration,
        transport: net::BoxedTransport,
    ) -> Result<Self, NetError> {
        let metrics = Metrics::default();
        let (client, event_loop) =
            net::with_transport(node.clone(), keypair, config, metrics.clone(), transport)?;
        let event_loop = tokio::spawn(event_loop.run());
        client.until_listening().await?;
        let publisher = client.clone();
        tokio::spawn(async move {
            let mut wait = Duration::from_millis(200);
            while let Err(e) = publisher.publish().await {
                if matches!(e, NetError::Stopped) {
                    return;
                }
                tracing::debug!(error = %e, "publishing the record failed; retrying");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(60));
            }
        });
        // Messages made before the last stop (say, an approval whose delivery was
        // still being retried) go out again.
        let resumed = client.resume_outbox(&node).await?;
        if resumed > 0 {
            tracing::info!(
                count = resumed,
                "delivering messages left from the last run"
            );
        }
        let sweeper = tokio::spawn(sweep_forever(node.clone(), client.clone(), sweep_interval));
        Ok(Self {
            node,
            client,
            metrics,
            event_loop,
            sweeper,
        })
    }

    /// Stops gracefully: in-flight messages finish and are answered, then the
    /// network and the sweeper stop.
    pub async fn shutdown(self) {
        self.sweeper.abort();
        let _ = self.client.shutdown().await;
        let _ = self.event_loop.await;
    }
}

async fn sweep_forever(node: Node, client: Client, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let sweeping = node.clone();
        let receipts = match tokio::task::spawn_blocking(move || sweeping.sweep(now())).await {
            Ok(Ok(receipts)) => receipts,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "sweeping failed");
                continue;
            }
            Err(_) => return,
        };
        for receipt in receipts {
            client.spawn_delivery(&node, receipt);
        }
    }
}

/// Resolves on Ctrl-C, or on SIGTERM on Unix.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
