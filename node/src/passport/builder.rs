//! [`Builder`]: how a [`Passport`] starts: its source (a home or a node), its
//! network and the tasks that run beside it.

use std::{path::PathBuf, sync::Arc, time::Duration};

use libp2p::identity;
use tokio::sync::{Mutex, watch};

use super::{
    DEFAULT_SWEEP_INTERVAL, MAX_DELIVERIES, Network, Passport, PassportError, Tasks, blocking,
    delivery::{Backoff, Delivery},
    device, mailbox, publish_until_taken, sweep_forever,
};
use crate::{
    backup::{copies, schedule::BackupSettings},
    events::Events,
    home::{Home, Unlock},
    metrics::Metrics,
    net::{self, BoxedTransport, NetConfig},
    node::{Node, system_now as now},
    notify::NotifySettings,
    webhook::WebhookSettings,
};

/// How a [`Passport`] starts: [`Passport::builder`] or [`Passport::with_node`].
#[must_use = "a builder does nothing until spawned"]
pub struct Builder {
    source: Source,
    network: Option<NetConfig>,
    keypair: Option<identity::Keypair>,
    transport: Option<BoxedTransport>,
    sweep_every: Duration,
    max_deliveries: usize,
    merchant_name: Option<String>,
    webhooks: Option<Vec<WebhookSettings>>,
    notify: Option<NotifySettings>,
    backups: Option<(BackupSettings, Option<PathBuf>)>,
}

pub(super) enum Source {
    Home { home: Home, unlock: Unlock },
    Node(Node),
}

impl Builder {
    pub(super) fn new(source: Source) -> Self {
        Self {
            source,
            network: None,
            keypair: None,
            transport: None,
            sweep_every: DEFAULT_SWEEP_INTERVAL,
            max_deliveries: MAX_DELIVERIES,
            merchant_name: None,
            webhooks: None,
            notify: None,
            backups: None,
        }
    }

    /// Scheduled backups (`[backup]`), each with the text of the `config.toml` at
    /// `config_path` when there is one. Default: the home's `[backup]` section,
    /// else none.
    pub fn backups(mut self, settings: BackupSettings, config_path: Option<PathBuf>) -> Self {
        self.backups = Some((settings, config_path));
        self
    }

    /// The webhooks marked as config's (`[[webhook]]`): they replace those the
    /// last start set. Default: the home's config.toml; none for a node given by
    /// [`Passport::with_node`] (whose store keeps the webhooks added by the API).
    pub fn webhooks(mut self, webhooks: Vec<WebhookSettings>) -> Self {
        self.webhooks = Some(webhooks);
        self
    }

    /// Where to tell the person's device that a request needs them (see
    /// [`crate::notify`]), while the network runs. Default: the home's `[notify]`;
    /// nowhere for a node given by [`Passport::with_node`].
    pub fn notify(mut self, settings: NotifySettings) -> Self {
        self.notify = Some(settings);
        self
    }

    /// How the home's passport is unlocked. Default: the key file.
    pub fn unlock(mut self, unlock: Unlock) -> Self {
        if let Source::Home { unlock: u, .. } = &mut self.source {
            *u = unlock;
        }
        self
    }

    /// Runs the network with `config`. Default: no network (the store alone).
    pub fn network(mut self, config: NetConfig) -> Self {
        self.network = Some(config);
        self
    }

    /// The libp2p key. Default: the home's `network.key`, or a fresh one for a
    /// node given by [`Passport::with_node`].
    pub fn keypair(mut self, keypair: identity::Keypair) -> Self {
        self.keypair = Some(keypair);
        self
    }

    /// Runs the network over `transport` instead of TCP and QUIC: the simulator's
    /// in-memory network, for one.
    pub fn transport(mut self, transport: BoxedTransport) -> Self {
        self.transport = Some(transport);
        self
    }

    /// How often expired requests and grants are swept while the network runs.
    /// Default [`DEFAULT_SWEEP_INTERVAL`] (60 s).
    pub fn sweep_every(mut self, every: Duration) -> Self {
        self.sweep_every = every;
        self
    }

    /// The name persons see on this node's requests when a request does not name
    /// itself. Default: the home's `[merchant] name`, else none ("unnamed
    /// merchant").
    pub fn merchant_name(mut self, name: Option<String>) -> Self {
        self.merchant_name = name;
        self
    }

    /// Deliveries in flight at once; a message made beyond that waits in the outbox
    /// for the next sweep. Default [`MAX_DELIVERIES`] (1,024).
    pub fn max_deliveries(mut self, limit: usize) -> Self {
        self.max_deliveries = limit;
        self
    }

    /// Opens the store, and with a network: starts it, waits until it listens,
    /// publishes the record in the background (retrying until the DHT takes it),
    /// delivers what the outbox kept from the last run and starts the sweeper.
    /// Returns the handle and a subscription to its events.
    pub async fn spawn(self) -> Result<(Passport, Events), PassportError> {
        let mut merchant_name = self.merchant_name;
        let mut webhooks = self.webhooks;
        let mut notify = self.notify;
        let mut backups = self.backups;
        let (node, home) = match self.source {
            Source::Node(node) => (node, None),
            Source::Home { home, unlock } => {
                let opening = home.clone();
                let (node, config) = blocking(move || {
                    let config = opening.config()?;
                    let node = Node::open(&opening, &unlock, config.node.clone())?;
                    Ok((node, config))
                })
                .await?;
                merchant_name = merchant_name.or(config.merchant.name);
                webhooks = webhooks.or(Some(config.webhooks));
                notify = notify.or(Some(config.notify));
                backups = backups.or(Some((config.backup, Some(home.config_path()))));
                (node, Some(home))
            }
        };
        if let Some(webhooks) = webhooks {
            let syncing = node.clone();
            blocking(move || syncing.sync_config_webhooks(&webhooks, now())).await?;
        }
        let events = node.subscribe();
        let Some(config) = self.network else {
            let delivery = Delivery::offline(node.clone());
            let passport = Passport::assemble(node, None, delivery, merchant_name);
            return Ok((passport, events));
        };
        let keypair = match (self.keypair, home) {
            (Some(keypair), _) => keypair,
            (None, Some(home)) => blocking(move || home.network_key()).await?,
            (None, None) => identity::Keypair::generate_ed25519(),
        };
        let transport = match self.transport {
            Some(transport) => transport,
            None => net::tcp_and_quic(&keypair)?,
        };
        let found = blocking({
            let node = node.clone();
            move || node.other_copy()
        })
        .await?;
        if let Some(copy) = found {
            return Err(PassportError::OtherCopy(copy));
        }
        let metrics = Metrics::default();
        let backoff = Backoff::from(&config);
        let (client, event_loop) =
            net::with_transport(node.clone(), keypair, config, metrics.clone(), transport)?;
        let event_loop = tokio::spawn(event_loop.run());
        if let Err(e) = client.until_listening().await {
            event_loop.abort();
            return Err(e.into());
        }
        let (copy_found, other_copy) = watch::channel(None);
        let publishing = publish_until_taken(client.clone());
        let copies = match client.config().copy_check_every {
            Some(every) => tokio::spawn(copies::watch(
                node.clone(),
                client.clone(),
                every,
                copy_found,
                publishing,
            )),
            None => tokio::spawn(publishing),
        };
        let backups = match backups {
            Some((settings, config_path)) => tokio::spawn(crate::backup::schedule::run(
                node.clone(),
                settings,
                config_path,
            )),
            None => tokio::spawn(async {}),
        };
        let delivery = Delivery::new(
            node.clone(),
            Some(client.clone()),
            backoff,
            self.max_deliveries,
        );
        // Messages made before the last stop (say, an approval whose delivery was
        // still being retried) go out again.
        let resumed = delivery.resume().await?;
        if resumed > 0 {
            tracing::info!(
                count = resumed,
                "delivering messages left from the last run"
            );
        }
        let sweeper = tokio::spawn(sweep_forever(
            node.clone(),
            delivery.clone(),
            self.sweep_every,
            client.config().mailbox.serve,
        ));
        let releasing = delivery.clone();
        let webhooks = tokio::spawn(crate::webhook::dispatch::run(
            node.clone(),
            metrics.clone(),
            Arc::new(move |receipt| drop(releasing.spawn(receipt))),
        ));
        let notifications = tokio::spawn(crate::notify::run(
            node.clone(),
            notify.unwrap_or_default(),
            metrics.clone(),
        ));
        let roots = crate::person::domain::extra_roots(node.config().https_roots.as_deref())?;
        let domains = tokio::spawn(crate::person::domain::run(node.clone(), roots));
        let mailboxes = tokio::spawn(mailbox::drain_forever(
            node.clone(),
            delivery.clone(),
            client.clone(),
            Duration::from_secs(client.config().mailbox.drain_every_secs.max(1)),
        ));
        let network = Network {
            client,
            metrics,
            other_copy,
            tasks: Mutex::new(Some(Tasks {
                event_loop,
                sweeper,
                webhooks,
                mailboxes,
                notifications,
                copies,
                backups,
                domains,
                devices: None,
            })),
        };
        let device_jobs = network.client.take_device_jobs();
        let passport = Passport::assemble(node, Some(network), delivery, merchant_name);
        if let Some(jobs) = device_jobs {
            let devices = tokio::spawn(device::serve(passport.clone(), jobs));
            if let Some(network) = &passport.inner.network
                && let Some(tasks) = network.tasks.lock().await.as_mut()
            {
                tasks.devices = Some(devices);
            }
        }
        Ok((passport, events))
    }
}
