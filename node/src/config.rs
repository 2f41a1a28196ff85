//! `config.toml`, the settings file of a passport home, and the types it is read
//! into.
//!
//! # Layout
//!
//! - [`Config`]: the whole file.
//!   - [`NodeConfig`]: the core tunables, the keys at the top of the file; the only
//!     part the node core ([`Node`](crate::Node)) sees.
//!   - [`NetworkSettings`]: the `[network]` section, for the network
//!     ([`NetConfig::from_settings`](crate::net::NetConfig::from_settings)).
//!   - [`ApiSettings`]: the `[api]` section, for the local HTTP API and the consent
//!     page.
//!   - [`MerchantSettings`]: the `[merchant]` section, how this node presents itself
//!     when it asks.
//!
//! Every key is optional: a missing key, section or file takes the default, which
//! each field's doc gives. An unknown key or a value of the wrong type is an error
//! that names the file, the line and the key. `example.config.toml` at the
//! repository root shows every key with its default.

use std::{fs, path::Path};

use serde::{Deserialize, Serialize};

use crate::{
    backup::schedule::BackupSettings, error::NodeError, mailbox::MailboxSettings,
    notify::NotifySettings, webhook::WebhookSettings,
};

/// The name of the settings file in a passport home.
pub const FILE_NAME: &str = "config.toml";

/// Everything `config.toml` holds. Every part defaults to its own defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "ConfigFile", into = "ConfigFile")]
pub struct Config {
    /// The core tunables, written at the top of the file. Default:
    /// [`NodeConfig::default`].
    pub node: NodeConfig,
    /// The `[network]` section: where to listen and whom to join. Default:
    /// [`NetworkSettings::default`].
    pub network: NetworkSettings,
    /// The `[api]` section: the local HTTP API and consent page. Default:
    /// [`ApiSettings::default`].
    pub api: ApiSettings,
    /// The `[merchant]` section: how this node presents itself when it asks.
    /// Default: [`MerchantSettings::default`]. (Its `confirm_erasure` key is
    /// [`NodeConfig::confirm_erasure`].)
    pub merchant: MerchantSettings,
    /// The `[[webhook]]` tables: where a shop's backend is told what happened.
    /// Default: none.
    pub webhooks: Vec<WebhookSettings>,
    /// The `[mailbox]` section: serving as a mailbox, and the mailboxes this
    /// passport uses. Default: [`MailboxSettings::default`].
    pub mailbox: MailboxSettings,
    /// The `[notify]` section: where to tell the person's device that a request
    /// needs them. Default: [`NotifySettings::default`] (nowhere).
    pub notify: NotifySettings,
    /// The `[backup]` section: backups the node makes on its own. Default:
    /// [`BackupSettings::default`] (none).
    pub backup: BackupSettings,
}

impl Config {
    /// The settings in the file at `path`, or every default if there is none. An
    /// unknown key or a wrong type is an error naming the file and the problem.
    pub fn read(path: &Path) -> Result<Self, NodeError> {
        match fs::read_to_string(path) {
            Ok(text) => {
                let config: Self = toml::from_str(&text).map_err(|e| NodeError::Corrupt {
                    path: path.to_owned(),
                    detail: e.to_string(),
                })?;
                config.mailbox.check().map_err(|e| NodeError::Corrupt {
                    path: path.to_owned(),
                    detail: format!("[mailbox]: {e}"),
                })?;
                config.notify.check().map_err(|e| NodeError::Corrupt {
                    path: path.to_owned(),
                    detail: format!("[notify]: {e}"),
                })?;
                config.backup.check().map_err(|e| NodeError::Corrupt {
                    path: path.to_owned(),
                    detail: format!("[backup]: {e}"),
                })?;
                if let Some(domain) = &config.node.merchant_domain {
                    passport_protocol::domain::check_domain(domain).map_err(|e| {
                        NodeError::Corrupt {
                            path: path.to_owned(),
                            detail: format!("[merchant] domain: {e}"),
                        }
                    })?;
                }
                for webhook in &config.webhooks {
                    webhook.check().map_err(|e| NodeError::Corrupt {
                        path: path.to_owned(),
                        detail: format!("[[webhook]]: {e}"),
                    })?;
                }
                Ok(config)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(source) => Err(NodeError::Io {
                action: "read",
                path: path.to_owned(),
                source,
            }),
        }
    }
}

/// Tunables of the node core, the keys at the top of `config.toml`. Every field
/// says its default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NodeConfig {
    /// Pending requests kept per merchant. Default 16.
    pub inbox_per_merchant: usize,
    /// Pending requests kept in total. Default 256.
    pub inbox_total: usize,
    /// Seen message ids kept for replay protection. Default 100 000.
    pub seen_ids_capacity: u64,
    /// Lifetime of requests this node sends (how long the person has to answer), in
    /// seconds. Default 7 days.
    pub request_lifetime_secs: u64,
    /// Lifetime of other messages this node sends (fetch, update, revoke, erase,
    /// receipts), in seconds. Default 1 day.
    pub message_lifetime_secs: u64,
    /// Longest retention this person grants, whatever a merchant asks, in seconds.
    /// Default 30 days.
    pub max_retention_secs: u64,
    /// Merchant side: sign a deletion receipt only after the shop's backend
    /// confirms it erased its own copies (`POST /v1/grants/{id}/erased`, or
    /// `{"erased": true}` in answer to the webhook). Written `confirm_erasure` in
    /// the `[merchant]` section. Default false: the receipt says "erased by the
    /// node" and goes at once.
    pub confirm_erasure: bool,
    /// Person side: whose deliveries (receipts, orders, attestations) to accept:
    /// `"live_grant"` (merchants the person holds a live grant with), `"anyone"`
    /// or `"nobody"`. Default `"live_grant"`.
    pub accept_deliveries: crate::data::DeliveryPolicy,
    /// Issuers whose attestations this person trusts to verify merchants' names
    /// (`[[trusted_issuer]] id = "did:key:…"`, `name = "La Poste"`); a merchant
    /// also asks for attestations by them when a request says so. Default: none.
    pub trusted_issuers: Vec<TrustedIssuer>,
    /// Merchant side: the shop's web domain (`host` or `host:port`), named in its
    /// requests; its `https://<domain>/.well-known/passport` must name this node's
    /// id (`{"id": "did:key:…"}`). Written `domain` in the `[merchant]` section.
    /// Default: none.
    pub merchant_domain: Option<String>,
    /// Extra CA certificates (a PEM file) trusted when checking a merchant's
    /// `/.well-known/passport`, beside the system's (for a private PKI, and
    /// tests). Default: none.
    pub https_roots: Option<std::path::PathBuf>,
}

/// An issuer this person trusts, with the name to show for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedIssuer {
    /// Its passport id.
    pub id: passport_protocol::PassportId,
    /// Its name, as the person wants to see it ("La Poste").
    pub name: String,
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self {
            inbox_per_merchant: 16,
            inbox_total: 256,
            seen_ids_capacity: 100_000,
            request_lifetime_secs: 7 * 86_400,
            message_lifetime_secs: 86_400,
            max_retention_secs: 30 * 86_400,
            confirm_erasure: false,
            accept_deliveries: crate::data::DeliveryPolicy::LiveGrant,
            trusted_issuers: Vec::new(),
            merchant_domain: None,
            https_roots: None,
        }
    }
}

/// The `[network]` section of `config.toml`. Every field says its default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkSettings {
    /// Multiaddrs to listen on. Default: every interface, a free TCP port and a free
    /// QUIC port (`/ip4/0.0.0.0/tcp/0`, `/ip4/0.0.0.0/udp/0/quic-v1`).
    pub listen: Vec<String>,
    /// Peers to join the DHT through, each ending in `/p2p/<PeerId>`. Default: none.
    pub bootstrap: Vec<String>,
    /// Find Passport nodes on the local network with mDNS. Default: true.
    pub mdns: bool,
    /// Relays to reach this node through when it is behind NAT, each ending in
    /// `/p2p/<PeerId>`. Default: none.
    pub relays: Vec<String>,
    /// Act as a relay for nodes behind NAT. Default: false.
    pub relay_server: bool,
    /// Serve the DHT (keep others' records, answer their lookups) while reachable.
    /// Default: true; false on a node that is offline most of the time (a phone).
    pub serve_dht: bool,
}

impl Default for NetworkSettings {
    fn default() -> Self {
        Self {
            listen: vec![
                "/ip4/0.0.0.0/tcp/0".into(),
                "/ip4/0.0.0.0/udp/0/quic-v1".into(),
            ],
            bootstrap: Vec::new(),
            mdns: true,
            relays: Vec::new(),
            relay_server: false,
            serve_dht: true,
        }
    }
}

/// The `[api]` section of `config.toml`. Every field says its default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiSettings {
    /// Address the local HTTP API (and the consent page) listens on. Default
    /// `127.0.0.1:7117`: this machine only. Use port 0 for a free port; the address
    /// in use is written to `<home>/api.addr` while the node runs.
    pub listen: String,
    /// Other `Host` names (`name:port`) the API and the consent page answer to, for
    /// opening the page from another device, e.g. `["192.168.1.20:7117"]`. Needed
    /// when `listen` is not loopback: any other name is refused (DNS rebinding).
    /// Default: none.
    pub hosts: Vec<String>,
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:7117".into(),
            hosts: Vec::new(),
        }
    }
}

/// The `[merchant]` section of `config.toml`. Every field says its default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MerchantSettings {
    /// The shop's name as persons see it on its requests, e.g. `"Brand X"`. A
    /// request that names itself (`requester_name` in the API, `--name` on the
    /// command line) says that name instead. Default: none, and such a request says
    /// "unnamed merchant".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// The `[merchant]` section as written: [`MerchantSettings`] and the core's
/// `confirm_erasure`.
#[derive(Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct MerchantSection {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    confirm_erasure: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    domain: Option<String>,
}

impl Default for MerchantSection {
    fn default() -> Self {
        Self {
            name: None,
            confirm_erasure: NodeConfig::default().confirm_erasure,
            domain: None,
        }
    }
}

/// `config.toml` as written: the core tunables at the top level, beside the
/// sections. [`NodeConfig`]'s keys are spelled out here rather than
/// `#[serde(flatten)]`ed because flattening loses, for a top-level key, the line and
/// column of an error and the list of known keys an unknown one is told (and serde
/// does not support `deny_unknown_fields` with it). The conversions below name
/// every field, so a key added to [`NodeConfig`] and not here does not compile.
#[derive(Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ConfigFile {
    inbox_per_merchant: usize,
    inbox_total: usize,
    seen_ids_capacity: u64,
    request_lifetime_secs: u64,
    message_lifetime_secs: u64,
    max_retention_secs: u64,
    accept_deliveries: crate::data::DeliveryPolicy,
    #[serde(skip_serializing_if = "Option::is_none")]
    https_roots: Option<std::path::PathBuf>,
    network: NetworkSettings,
    api: ApiSettings,
    merchant: MerchantSection,
    mailbox: MailboxSettings,
    notify: NotifySettings,
    backup: BackupSettings,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    webhook: Vec<WebhookSettings>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    trusted_issuer: Vec<TrustedIssuer>,
}

impl Default for ConfigFile {
    fn default() -> Self {
        Config::default().into()
    }
}

impl From<ConfigFile> for Config {
    fn from(file: ConfigFile) -> Self {
        let ConfigFile {
            inbox_per_merchant,
            inbox_total,
            seen_ids_capacity,
            request_lifetime_secs,
            message_lifetime_secs,
            max_retention_secs,
            accept_deliveries,
            https_roots,
            network,
            api,
            merchant,
            mailbox,
            notify,
            backup,
            webhook,
            trusted_issuer,
        } = file;
        Self {
            node: NodeConfig {
                inbox_per_merchant,
                inbox_total,
                seen_ids_capacity,
                request_lifetime_secs,
                message_lifetime_secs,
                max_retention_secs,
                confirm_erasure: merchant.confirm_erasure,
                accept_deliveries,
                trusted_issuers: trusted_issuer,
                merchant_domain: merchant.domain,
                https_roots,
            },
            network,
            api,
            merchant: MerchantSettings {
                name: merchant.name,
            },
            webhooks: webhook,
            mailbox,
            notify,
            backup,
        }
    }
}

impl From<Config> for ConfigFile {
    fn from(config: Config) -> Self {
        let Config {
            node:
                NodeConfig {
                    inbox_per_merchant,
                    inbox_total,
                    seen_ids_capacity,
                    request_lifetime_secs,
                    message_lifetime_secs,
                    max_retention_secs,
                    confirm_erasure,
                    accept_deliveries,
                    trusted_issuers,
                    merchant_domain,
                    https_roots,
                },
            network,
            api,
            merchant: MerchantSettings { name },
            webhooks,
            mailbox,
            notify,
            backup,
        } = config;
        Self {
            inbox_per_merchant,
            inbox_total,
            seen_ids_capacity,
            request_lifetime_secs,
            message_lifetime_secs,
            max_retention_secs,
            accept_deliveries,
            https_roots,
            network,
            api,
            merchant: MerchantSection {
                name,
                confirm_erasure,
                domain: merchant_domain,
            },
            mailbox,
            notify,
            backup,
            webhook: webhooks,
            trusted_issuer: trusted_issuers,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::home::Home;

    #[test]
    fn config_defaults_when_absent_and_clear_errors_when_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path());
        assert_eq!(home.config().unwrap(), Config::default());
        fs::write(home.config_path(), "inbox_total = 10\n").unwrap();
        let config = home.config().unwrap();
        assert_eq!(config.node.inbox_total, 10);
        assert_eq!(
            config.node.inbox_per_merchant,
            NodeConfig::default().inbox_per_merchant
        );
        fs::write(
            home.config_path(),
            "inbox_total = 10\n[network]\nbootstrap = [\"/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN\"]\nmdns = false\n",
        )
        .unwrap();
        let config = home.config().unwrap();
        assert!(!config.network.mdns);
        let net = crate::net::NetConfig::from_settings(&config.network).unwrap();
        assert_eq!(net.bootstrap.len(), 1);
        assert_eq!(net.listen.len(), 2);
        let bad = NetworkSettings {
            listen: vec!["tcp:4001".into()],
            ..Default::default()
        };
        let err = crate::net::NetConfig::from_settings(&bad)
            .unwrap_err()
            .to_string();
        assert!(err.contains("tcp:4001"), "{err}");
        fs::write(home.config_path(), "inbox_totl = 10\n").unwrap();
        let err = home.config().unwrap_err().to_string();
        assert!(
            err.contains("config.toml") && err.contains("inbox_totl"),
            "{err}"
        );
    }

    /// What the file spells out instead of flattening buys: an error at a top-level
    /// key points at it and, for an unknown key, lists the known ones, sections
    /// included; errors inside a section are as precise.
    #[test]
    fn errors_name_the_line_and_the_known_keys() {
        let err = |text: &str| toml::from_str::<Config>(text).unwrap_err().to_string();
        let unknown = err("inbox_total = 3\ninbox_totl = 10\n");
        assert!(unknown.contains("line 2, column 1"), "{unknown}");
        assert!(
            unknown.contains(
                "unknown field `inbox_totl`, expected one of `inbox_per_merchant`, `inbox_total`"
            ) && unknown.contains("`network`, `api`"),
            "{unknown}"
        );
        let wrong_type = err("inbox_total = \"ten\"\n");
        assert!(wrong_type.contains("line 1, column 15"), "{wrong_type}");
        assert!(wrong_type.contains("expected usize"), "{wrong_type}");
        let in_section = err("[api]\nlisten = \"127.0.0.1:1\"\nhost = []\n");
        assert!(in_section.contains("line 3, column 1"), "{in_section}");
        assert!(
            in_section.contains("unknown field `host`, expected `listen` or `hosts`"),
            "{in_section}"
        );
    }

    #[test]
    fn the_merchant_section_names_the_shop() {
        let config: Config = toml::from_str("[merchant]\nname = \"Brand X\"\n").unwrap();
        assert_eq!(config.merchant.name.as_deref(), Some("Brand X"));
        assert_eq!(Config::default().merchant.name, None);
        let err = toml::from_str::<Config>("[merchant]\nnom = \"Brand X\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "unknown field `nom`, expected one of `name`, `confirm_erasure`, `domain`"
            ),
            "{err}"
        );
    }

    #[test]
    fn a_shop_s_domain_and_trusted_issuers_are_read_and_a_bad_domain_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let poste = passport_protocol::IdentityKey::from_secret_bytes(&[6; 32]).id();
        fs::write(
            &path,
            format!(
                "[merchant]\ndomain = \"brandx.example\"\n\n[[trusted_issuer]]\nid = \"{poste}\"\nname = \"La Poste\"\n"
            ),
        )
        .unwrap();
        let config = Config::read(&path).unwrap();
        assert_eq!(
            config.node.merchant_domain.as_deref(),
            Some("brandx.example")
        );
        assert_eq!(config.node.trusted_issuers[0].id, poste);
        assert_eq!(config.node.trusted_issuers[0].name, "La Poste");
        fs::write(&path, "[merchant]\ndomain = \"https://brandx.example/\"\n").unwrap();
        let err = Config::read(&path).unwrap_err().to_string();
        assert!(err.contains("[merchant] domain"), "{err}");
    }

    #[test]
    fn mailbox_and_notify_sections_are_read_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let mailbox = passport_protocol::IdentityKey::from_secret_bytes(&[5; 32]).id();
        fs::write(
            &path,
            format!(
                "[mailbox]\nserve = true\nuse = [\"{mailbox}\"]\n\n[notify]\nurl = \"https://ntfy.sh/t\"\nformat = \"json\"\n"
            ),
        )
        .unwrap();
        let config = Config::read(&path).unwrap();
        assert!(config.mailbox.serve);
        assert_eq!(config.mailbox.mailboxes, [mailbox]);
        assert_eq!(config.notify.url.as_deref(), Some("https://ntfy.sh/t"));
        assert_eq!(config.notify.format, crate::notify::NotifyFormat::Json);
        for (text, says) in [
            (
                "[notify]\nurl = \"ftp://x/\"\n",
                "[notify]: `url` \"ftp://x/\" must start with http:// or https://",
            ),
            ("[notify]\nurl = \"not a url\"\n", "is not a URL"),
            (
                "[mailbox]\ndrain_every_secs = 0\n",
                "[mailbox]: `drain_every_secs` must be at least 1",
            ),
            (
                "[mailbox]\nserve = true\nmax_recipients = 100000\ntotal_bytes = 1000\n",
                "a mailbox must hold at least one message of the largest size",
            ),
            ("[mailbox]\nuse = [\"bob\"]\n", "a passport id starts with"),
        ] {
            fs::write(&path, text).unwrap();
            let err = Config::read(&path).unwrap_err().to_string();
            assert!(err.contains(says), "{err}");
            assert!(err.contains(FILE_NAME), "{err}");
        }
    }

    #[test]
    fn webhooks_and_erasure_confirmation_are_read_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let secret = crate::webhook::WebhookSecret::generate().to_text();
        fs::write(
            &path,
            format!(
                "[merchant]\nconfirm_erasure = true\n\n[[webhook]]\nurl = \"https://shop.example/hooks\"\nsecret = \"{secret}\"\nevents = [\"grant.revoked\"]\n"
            ),
        )
        .unwrap();
        let config = Config::read(&path).unwrap();
        assert!(config.node.confirm_erasure);
        assert_eq!(config.webhooks.len(), 1);
        assert_eq!(config.webhooks[0].events, ["grant.revoked"]);
        assert_eq!(config.webhooks[0].secret.to_text(), secret);
        assert!(!Config::default().node.confirm_erasure);

        for (table, says) in [
            (
                format!("url = \"ftp://shop.example/\"\nsecret = \"{secret}\""),
                "use an http:// or https:// URL",
            ),
            (
                format!(
                    "url = \"http://shop.example/\"\nsecret = \"{secret}\"\nevents = [\"grant.granted\"]"
                ),
                "unknown webhook event \"grant.granted\"",
            ),
            (
                "url = \"http://shop.example/\"\nsecret = \"hunter2\"".to_string(),
                "starts with \"whsec_\"",
            ),
        ] {
            fs::write(&path, format!("[[webhook]]\n{table}\n")).unwrap();
            let err = Config::read(&path).unwrap_err().to_string();
            assert!(err.contains(says), "{err}");
            assert!(err.contains(FILE_NAME), "{err}");
        }
    }

    #[test]
    fn defaults_round_trip_and_keep_the_key_order() {
        let text = toml::to_string(&Config::default()).unwrap();
        assert_eq!(toml::from_str::<Config>(&text).unwrap(), Config::default());
        assert!(text.starts_with("inbox_per_merchant = 16\n"), "{text}");
        let network = text.find("[network]").unwrap();
        let api = text.find("[api]").unwrap();
        assert!(text.find("max_retention_secs").unwrap() < network && network < api);
    }

    /// `example.config.toml` at the repository root documents every key with its
    /// default: it must parse, and its values must be the defaults.
    #[test]
    fn the_example_config_is_complete_and_shows_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../example.config.toml");
        let text = fs::read_to_string(path).unwrap();
        let parsed: Config = toml::from_str(&text).unwrap();
        assert_eq!(parsed, Config::default());
        // Every key is present, not just defaulted.
        let table: toml::Table = toml::from_str(&text).unwrap();
        let defaults = toml::Table::try_from(Config::default()).unwrap();
        assert_eq!(table, defaults);
    }
}
