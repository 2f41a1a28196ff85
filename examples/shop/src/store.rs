//! The shop's own database: its orders, in one JSON file (`orders.json`, mode 0600)
//! in the data directory, rewritten whole on every change (written to a temporary
//! file, fsynced, renamed over the old one).
//!
//! Why a file and not sled: sled is log-structured, so a value overwritten or
//! removed stays on disk in old segments until compaction. Deleting a person's
//! delivery address there would not remove it from the disk at once. Here, once the
//! new file is renamed into place, no file holds the old content.
//!
//! Personal data (the delivery fields, and the person's passport id) lives in an
//! order only while its grant lives: [`Order::erase`] drops it.

use std::{
    collections::{BTreeMap, BTreeSet},
    io,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};

/// The file's name in the data directory.
pub(crate) const FILE: &str = "orders.json";

/// Most orders the file keeps; past this, checkout refuses new ones.
pub(crate) const MAX_ORDERS: usize = 10_000;

/// Most entries an order's history keeps (the oldest go first).
const MAX_HISTORY: usize = 32;

/// Why the database failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The data directory or file could not be read or written.
    #[error(
        "the shop's database {path} could not be {action}: {source} (check the data directory's permissions and free space)"
    )]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// "read", "written", ...
        action: &'static str,
        /// The cause.
        source: io::Error,
    },
    /// The file is not the shop's JSON.
    #[error(
        "the shop's database {path} is damaged ({source}): restore it from a backup, or move it away to start empty"
    )]
    Damaged {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: serde_json::Error,
    },
    /// No room for another order.
    #[error("the shop holds {MAX_ORDERS} orders, its most: archive {FILE} and start a new one")]
    Full,
}

/// Where an order stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum OrderState {
    /// The request is on its way to the person's node.
    Sending,
    /// The person's node has the request; the person decides.
    Waiting,
    /// The person approved; the values are being read from the merchant node.
    Granted,
    /// The delivery details are filled.
    Filled,
    /// The person refused.
    Refused {
        /// Their reason.
        reason: String,
    },
    /// The request ran out of time unanswered.
    Expired,
    /// The request could not be sent, or the values could not be read.
    Failed {
        /// What went wrong.
        error: String,
    },
    /// The grant ended and the order's personal data was deleted.
    Erased,
}

impl OrderState {
    /// The state's name, as in the JSON.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::Sending => "sending",
            Self::Waiting => "waiting",
            Self::Granted => "granted",
            Self::Filled => "filled",
            Self::Refused { .. } => "refused",
            Self::Expired => "expired",
            Self::Failed { .. } => "failed",
            Self::Erased => "erased",
        }
    }

    /// Whether the order still waits for something from the person or the node.
    pub(crate) fn is_open(&self) -> bool {
        matches!(self, Self::Sending | Self::Waiting | Self::Granted)
    }
}

/// The grant that filled an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// Its id on the merchant node.
    pub grant_id: String,
    /// When it ends (RFC 3339), once the node said.
    pub expires_at: Option<String>,
}

/// Whether the merchant node has heard that the shop erased an order's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confirmation {
    /// The node did not ask for a confirmation (yet).
    NotAsked,
    /// The node asked; the shop has yet to tell it.
    Pending,
    /// The node took the confirmation.
    Confirmed,
    /// The node no longer holds the grant: nothing to confirm.
    NotHeld,
    /// The node waited for no confirmation (it sent the receipt already).
    NothingWaiting,
}

/// When and why an order's personal data was deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Erasure {
    /// When (unix seconds).
    pub at: u64,
    /// Why, in words.
    pub why: String,
    /// Whether the node knows.
    pub confirmation: Confirmation,
}

/// One line of an order's history. Never holds personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// When (unix seconds).
    pub at: u64,
    /// What happened.
    pub what: String,
}

/// One checkout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// Its number, from 1, shown to the person and named in the request's purpose.
    pub number: u64,
    /// The random key in its page's address (numbers are guessable; pages show
    /// personal data).
    pub key: String,
    /// What is bought.
    pub item: String,
    /// When it was made (unix seconds).
    pub created_at: u64,
    /// Where it stands.
    #[serde(flatten)]
    pub state: OrderState,
    /// The person's passport id, while the order needs it. Personal data.
    pub person: Option<String>,
    /// The request sent to the person.
    pub request_id: Option<String>,
    /// The grant, once there is one.
    pub grant: Option<Grant>,
    /// The delivery details read under the grant: field name -> value. Personal data.
    pub delivery: Option<BTreeMap<String, String>>,
    /// Set once the personal data was deleted.
    pub erasure: Option<Erasure>,
    /// What happened, oldest first.
    pub history: Vec<Step>,
}

impl Order {
    /// Adds `what` to the history, at `now`.
    pub(crate) fn log(&mut self, now: u64, what: impl Into<String>) {
        if self.history.len() >= MAX_HISTORY {
            self.history.remove(0);
        }
        self.history.push(Step {
            at: now,
            what: what.into(),
        });
    }

    /// Deletes the order's personal data, at `now`, for the reason `why`, and marks
    /// it [`OrderState::Erased`]. Returns whether there was any personal data. A
    /// second call keeps the first erasure's record.
    pub(crate) fn erase(&mut self, now: u64, why: &str) -> bool {
        let had = self.delivery.take().is_some() | self.person.take().is_some();
        self.state = OrderState::Erased;
        if self.erasure.is_none() {
            self.erasure = Some(Erasure {
                at: now,
                why: why.to_string(),
                confirmation: Confirmation::NotAsked,
            });
        }
        had
    }

    /// Closes an order that got no grant (refused, expired, failed): the person's
    /// id is no longer needed, so it goes.
    pub(crate) fn close(&mut self, state: OrderState) {
        self.state = state;
        self.person = None;
    }

    /// Whether its grant is `grant_id`.
    pub(crate) fn has_grant(&self, grant_id: &str) -> bool {
        self.grant.as_ref().is_some_and(|g| g.grant_id == grant_id)
    }
}

/// Everything the file holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Data {
    /// The next order's number.
    pub(crate) next: u64,
    /// The orders, by number.
    pub(crate) orders: BTreeMap<u64, Order>,
    /// Grants the node asked the shop to confirm the erasure of, that no order
    /// holds: the shop confirms it holds nothing under them.
    #[serde(default)]
    pub(crate) unheld: BTreeSet<String>,
}

impl Data {
    /// The order that sent the request `request_id`.
    pub(crate) fn by_request(&mut self, request_id: &str) -> Option<&mut Order> {
        self.orders
            .values_mut()
            .find(|o| o.request_id.as_deref() == Some(request_id))
    }

    /// The order filled under `grant_id`.
    pub(crate) fn by_grant(&mut self, grant_id: &str) -> Option<&mut Order> {
        self.orders.values_mut().find(|o| o.has_grant(grant_id))
    }

    /// Whether some order is still sending its request (its id not known yet).
    pub(crate) fn any_sending(&self) -> bool {
        self.orders.values().any(|o| o.state == OrderState::Sending)
    }
}

/// The orders, in memory and in the file.
#[derive(Debug)]
pub(crate) struct Store {
    path: PathBuf,
    data: Data,
}

impl Store {
    /// Opens the database in `dir`, made (mode 0700) if missing.
    pub(crate) async fn open(dir: &Path) -> Result<Self, StoreError> {
        let io = |action, path: &Path| {
            let path = path.to_path_buf();
            move |source| StoreError::Io {
                path,
                action,
                source,
            }
        };
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(io("made", dir))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            tokio::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .await
                .map_err(io("made private", dir))?;
        }
        let path = dir.join(FILE);
        let mut data: Data = match tokio::fs::read(&path).await {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| StoreError::Damaged {
                path: path.clone(),
                source,
            })?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Data {
                next: 1,
                orders: BTreeMap::new(),
                unheld: BTreeSet::new(),
            },
            Err(e) => return Err(io("read", &path)(e)),
        };
        data.next = data.next.max(1);
        Ok(Self { path, data })
    }

    /// A new order for `item` from `person`, in state [`OrderState::Sending`], saved.
    pub(crate) async fn create(
        &mut self,
        item: &str,
        person: &str,
        now: u64,
    ) -> Result<Order, StoreError> {
        if self.data.orders.len() >= MAX_ORDERS {
            return Err(StoreError::Full);
        }
        let number = self.data.next;
        let order = Order {
            number,
            key: random_key(),
            item: item.to_string(),
            created_at: now,
            state: OrderState::Sending,
            person: Some(person.to_string()),
            request_id: None,
            grant: None,
            delivery: None,
            erasure: None,
            history: Vec::new(),
        };
        self.update(|data| {
            data.next += 1;
            data.orders.insert(number, order.clone());
        })
        .await?;
        Ok(order)
    }

    /// What the database holds.
    pub(crate) fn data(&self) -> &Data {
        &self.data
    }

    /// The order whose page key is `key`.
    pub(crate) fn by_key(&self, key: &str) -> Option<&Order> {
        self.data.orders.values().find(|o| o.key == key)
    }

    /// Changes the data as `f` does and saves it; returns what `f` returned. If
    /// saving fails, nothing changed.
    pub(crate) async fn update<T>(
        &mut self,
        f: impl FnOnce(&mut Data) -> T,
    ) -> Result<T, StoreError> {
        let mut data = self.data.clone();
        let out = f(&mut data);
        if data != self.data {
            save(&self.path, &data).await?;
            self.data = data;
        }
        Ok(out)
    }
}

async fn save(path: &Path, data: &Data) -> Result<(), StoreError> {
    use tokio::io::AsyncWriteExt as _;
    let io = |action| {
        let path = path.to_path_buf();
        move |source| StoreError::Io {
            path,
            action,
            source,
        }
    };
    let bytes = serde_json::to_vec_pretty(data).map_err(|e| io("written")(e.into()))?;
    let tmp = path.with_extension("json.tmp");
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut out = options.open(&tmp).await.map_err(io("written"))?;
    out.write_all(&bytes).await.map_err(io("written"))?;
    out.sync_all().await.map_err(io("written"))?;
    drop(out);
    tokio::fs::rename(&tmp, path).await.map_err(io("written"))?;
    if let Some(dir) = path.parent() {
        // The rename itself must reach the disk, or a crash could bring back the old
        // file, personal data and all.
        tokio::fs::File::open(dir)
            .await
            .map_err(io("written"))?
            .sync_all()
            .await
            .map_err(io("written"))?;
    }
    Ok(())
}

/// 128 random bits in hex.
fn random_key() -> String {
    use rand::Rng as _;
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn orders_survive_a_reopen_and_erased_data_leaves_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let mut store = Store::open(&data).await.unwrap();
        let order = store.create("mug", "did:key:z6MkAda", 10).await.unwrap();
        assert_eq!(order.number, 1);
        assert_eq!(order.key.len(), 32);
        store
            .update(|data| {
                let o = data.orders.get_mut(&1).unwrap();
                o.state = OrderState::Filled;
                o.grant = Some(Grant {
                    grant_id: "g1".into(),
                    expires_at: None,
                });
                o.delivery = Some(BTreeMap::from([(
                    "address.home".to_string(),
                    "12 Rue des Lilas, Lyon".to_string(),
                )]));
            })
            .await
            .unwrap();
        let text = std::fs::read_to_string(data.join(FILE)).unwrap();
        assert!(text.contains("Rue des Lilas"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(data.join(FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }

        let mut store = Store::open(&data).await.unwrap();
        assert_eq!(store.by_key(&order.key).unwrap().state, OrderState::Filled);
        let had = store
            .update(|data| data.orders.get_mut(&1).unwrap().erase(20, "revoked"))
            .await
            .unwrap();
        assert!(had);
        let text = std::fs::read_to_string(data.join(FILE)).unwrap();
        assert!(!text.contains("Rue des Lilas"), "{text}");
        assert!(!text.contains("z6MkAda"), "{text}");
        assert!(!data.join("orders.json.tmp").exists());

        let store = Store::open(&data).await.unwrap();
        let o = store.by_key(&order.key).unwrap();
        assert_eq!(o.state, OrderState::Erased);
        assert_eq!(o.erasure.as_ref().unwrap().why, "revoked");
        // Numbers go on after a reopen.
        let mut store = store;
        assert_eq!(store.create("mug", "x", 30).await.unwrap().number, 2);
    }

    #[tokio::test]
    async fn a_damaged_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE), "{not json").unwrap();
        let err = Store::open(dir.path()).await.unwrap_err();
        assert!(err.to_string().contains("damaged"), "{err}");
    }

    #[test]
    fn the_history_is_bounded() {
        let mut order = Order {
            number: 1,
            key: String::new(),
            item: String::new(),
            created_at: 0,
            state: OrderState::Waiting,
            person: None,
            request_id: None,
            grant: None,
            delivery: None,
            erasure: None,
            history: Vec::new(),
        };
        for i in 0..100 {
            order.log(i, format!("step {i}"));
        }
        assert_eq!(order.history.len(), MAX_HISTORY);
        assert_eq!(order.history[0].what, "step 68");
    }
}
