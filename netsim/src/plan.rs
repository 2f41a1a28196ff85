//! The plan: everything a scenario and its seed fix before anything runs: each
//! node's role, keys, NAT, bootstrap peers and relays; when it joins; the churn
//! schedule; and every request of the workload with the person's answer. Two runs
//! of the same scenario and seed have the same plan (the same [`Plan::digest`]).

use std::time::Duration;

use rand::{Rng as _, RngExt as _, SeedableRng as _, seq::IndexedRandom as _};
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use crate::scenario::Scenario;

/// What a node is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Joins first; everyone else dials some of them.
    Bootstrap,
    /// Serves circuit relay v2 to NAT'd persons.
    Relay,
    /// Sends requests.
    Merchant,
    /// Holds data and answers.
    Person,
}

impl Role {
    /// Lowercase name, as reports show it.
    pub fn name(self) -> &'static str {
        match self {
            Role::Bootstrap => "bootstrap",
            Role::Relay => "relay",
            Role::Merchant => "merchant",
            Role::Person => "person",
        }
    }
}

/// A person's standing answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    /// A standing policy allows.
    Allow,
    /// Requests wait for the person.
    Ask,
    /// A standing policy denies.
    Deny,
}

impl Answer {
    /// Lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Answer::Allow => "allow",
            Answer::Ask => "ask",
            Answer::Deny => "deny",
        }
    }
}

/// One node.
#[derive(Debug, Clone, Serialize)]
pub struct NodePlan {
    /// Its index (and so its address, `10.0.0.1` + index).
    pub index: usize,
    /// Its role.
    pub role: Role,
    /// Seeds its passport keys and its message ids.
    pub key_seed: [u8; 32],
    /// Seeds its network (libp2p) key.
    pub network_seed: [u8; 32],
    /// Whether it is behind NAT.
    pub behind_nat: bool,
    /// The bootstrap nodes it dials.
    pub bootstrap: Vec<usize>,
    /// The relays it reserves on (NAT'd persons only).
    pub relays: Vec<usize>,
    /// A person's standing answer.
    pub answer: Option<Answer>,
    /// When it joins, from the start of the run.
    pub join_at: Duration,
}

/// Something that happens during the workload.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Action {
    /// A person goes offline.
    Offline {
        /// The person's index.
        node: usize,
    },
    /// It comes back.
    Online {
        /// The person's index.
        node: usize,
    },
    /// A merchant asks a person for fields.
    Request(PlannedRequest),
}

/// A request of the workload, with everything about its answer drawn in advance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedRequest {
    /// The merchant's index.
    pub merchant: usize,
    /// The person's index.
    pub person: usize,
    /// Which of the scenario's field sets.
    pub fields: usize,
    /// For an `ask` person: how long they take to answer.
    pub answer_after: Duration,
    /// For an `ask` person: approve (else deny).
    pub approve: bool,
    /// If the grant is revoked: how long after it arrives.
    pub revoke_after: Option<Duration>,
}

/// An action at a time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// From the start of the workload.
    pub at: Duration,
    /// What happens.
    pub action: Action,
}

/// Everything fixed by the scenario and seed.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// Every node, by index.
    pub nodes: Vec<NodePlan>,
    /// The workload and churn, in time order.
    pub events: Vec<Event>,
}

impl Plan {
    /// Draws the plan.
    pub fn new(scenario: &Scenario) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(scenario.seed);
        let n = &scenario.nodes;
        let roles = std::iter::repeat_n(Role::Bootstrap, n.bootstrap)
            .chain(std::iter::repeat_n(Role::Relay, n.relays))
            .chain(std::iter::repeat_n(Role::Merchant, n.merchants))
            .chain(std::iter::repeat_n(Role::Person, n.persons));
        let bootstrap: Vec<usize> = (0..n.bootstrap).collect();
        let relays: Vec<usize> = (n.bootstrap..n.bootstrap + n.relays).collect();
        let total = n.total();
        let mix = scenario.workload.policy;
        let mix_total = mix.allow + mix.ask + mix.deny;
        let mut nodes = Vec::with_capacity(total);
        for (index, role) in roles.enumerate() {
            let mut key_seed = [0u8; 32];
            let mut network_seed = [0u8; 32];
            rng.fill_bytes(&mut key_seed);
            rng.fill_bytes(&mut network_seed);
            let person = role == Role::Person;
            let behind_nat = person && rng.random::<f64>() < n.nat_share;
            let node_bootstrap = if role == Role::Bootstrap {
                // Bootstrap nodes join through the first one.
                if index == 0 { Vec::new() } else { vec![0] }
            } else {
                bootstrap
                    .sample(&mut rng, n.bootstrap_per_node)
                    .copied()
                    .collect()
            };
            let node_relays = if behind_nat {
                relays
                    .sample(&mut rng, n.relays_per_person)
                    .copied()
                    .collect()
            } else {
                Vec::new()
            };
            let answer = person.then(|| {
                let draw = rng.random::<f64>() * mix_total;
                if draw < mix.allow {
                    Answer::Allow
                } else if draw < mix.allow + mix.ask {
                    Answer::Ask
                } else {
                    Answer::Deny
                }
            });
            // Infrastructure first, then everyone else evenly over the join phase.
            let join_at = if matches!(role, Role::Bootstrap | Role::Relay) {
                Duration::from_millis(index as u64 * 20)
            } else {
                let others = (n.merchants + n.persons).max(1) as u32;
                let position = (index - n.bootstrap - n.relays) as u32;
                Duration::from_millis(500) + scenario.join * position / others
            };
            nodes.push(NodePlan {
                index,
                role,
                key_seed,
                network_seed,
                behind_nat,
                bootstrap: node_bootstrap,
                relays: node_relays,
                answer,
                join_at,
            });
        }
        let mut events = Vec::new();
        let duration = scenario.duration.as_secs_f64();
        let persons: Vec<usize> = (total - n.persons..total).collect();
        // Churn: each churning person alternates sessions and downtimes.
        let churn_until = if scenario.churn.through_drain {
            duration + scenario.drain.as_secs_f64()
        } else {
            duration
        };
        for &person in &persons {
            if rng.random::<f64>() >= scenario.churn.share {
                continue;
            }
            let mut t = scenario.churn.session_s.sample(&mut rng);
            while t < churn_until {
                events.push(Event {
                    at: Duration::from_secs_f64(t),
                    action: Action::Offline { node: person },
                });
                t += scenario.churn.downtime_s.sample(&mut rng).max(0.1);
                if t >= churn_until {
                    break;
                }
                events.push(Event {
                    at: Duration::from_secs_f64(t),
                    action: Action::Online { node: person },
                });
                t += scenario.churn.session_s.sample(&mut rng).max(0.1);
            }
        }
        // Requests: a Poisson process per merchant.
        let w = &scenario.workload;
        let sets = w.fields.len();
        for merchant in n.bootstrap + n.relays..n.bootstrap + n.relays + n.merchants {
            if w.request_rate <= 0.0 {
                break;
            }
            let mut t = 0.0;
            loop {
                t += -(1.0 - rng.random::<f64>()).ln() / w.request_rate;
                if t >= duration {
                    break;
                }
                let person = persons[rng.random_range(0..persons.len())];
                let fields = rng.random_range(0..sets);
                let answer_after = Duration::from_secs_f64(w.answer_s.sample(&mut rng));
                let approve = rng.random::<f64>() < w.approve_share;
                let revoke_after = (rng.random::<f64>() < w.revoke_share)
                    .then(|| Duration::from_secs_f64(w.revoke_after_s.sample(&mut rng)));
                events.push(Event {
                    at: Duration::from_secs_f64(t),
                    action: Action::Request(PlannedRequest {
                        merchant,
                        person,
                        fields,
                        answer_after,
                        approve,
                        revoke_after,
                    }),
                });
            }
        }
        events.sort_by_key(|e| e.at);
        Self { nodes, events }
    }

    /// A SHA-256 over the whole plan, in hex: equal digests, equal plans.
    pub fn digest(&self) -> String {
        // Streamed into the hash: a million nodes' plan is hundreds of MB of JSON.
        let mut hasher = HashWriter(sha2::Sha256::new());
        let _ = serde_json::to_writer(&mut hasher, self);
        hex::encode(hasher.0.finalize())
    }

    /// How many requests the plan makes.
    pub fn requests(&self) -> usize {
        self.events
            .iter()
            .filter(|e| matches!(e.action, Action::Request(_)))
            .count()
    }
}

/// Hashes what is written to it.
struct HashWriter(sha2::Sha256);

impl std::io::Write for HashWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(seed: u64) -> Scenario {
        let mut s = Scenario {
            seed,
            ..Scenario::default()
        };
        s.nodes.nat_share = 0.3;
        s.churn.share = 0.5;
        s
    }

    #[test]
    fn the_same_seed_gives_the_same_topology_churn_and_workload() {
        let (a, b) = (Plan::new(&scenario(5)), Plan::new(&scenario(5)));
        assert_eq!(a.digest(), b.digest());
        assert_eq!(a.events, b.events);
        assert!(a.requests() > 0);
        assert!(
            a.events
                .iter()
                .any(|e| matches!(e.action, Action::Offline { .. }))
        );
        let c = Plan::new(&scenario(6));
        assert_ne!(a.digest(), c.digest());
        assert_ne!(a.events, c.events);
    }

    #[test]
    fn roles_nat_and_answers_follow_the_scenario() {
        let mut s = scenario(1);
        s.nodes.persons = 2_000;
        let plan = Plan::new(&s);
        let persons: Vec<&NodePlan> = plan
            .nodes
            .iter()
            .filter(|n| n.role == Role::Person)
            .collect();
        assert_eq!(persons.len(), 2_000);
        let share = |f: &dyn Fn(&NodePlan) -> bool| {
            persons.iter().filter(|n| f(n)).count() as f64 / persons.len() as f64
        };
        assert!((share(&|n| n.behind_nat) - 0.3).abs() < 0.04);
        assert!((share(&|n| n.answer == Some(Answer::Allow)) - 0.6).abs() < 0.04);
        assert!(
            persons
                .iter()
                .filter(|n| n.behind_nat)
                .all(|n| n.relays.len() == 2)
        );
        assert!(
            plan.nodes
                .iter()
                .filter(|n| n.role != Role::Person)
                .all(|n| !n.behind_nat)
        );
        // Joins are spread over the join phase, infrastructure first.
        let last = plan.nodes.iter().map(|n| n.join_at).max().unwrap();
        assert!(last <= s.join + Duration::from_millis(500));
        assert_eq!(plan.nodes[0].join_at, Duration::ZERO);
    }
}
