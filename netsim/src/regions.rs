//! Regions: a latency matrix between parts of the world. A scenario that names
//! one places every node in a region (drawn from the seed, by the regions'
//! shares) and draws each pair's base latency from the round-trip time between
//! the two regions, in both tiers.
//!
//! A matrix file is TOML:
//!
//! ```toml
//! source = "where the numbers come from"
//! [share]               # each region's share of the nodes (any scale)
//! europe = 0.6
//! asia = 0.4
//! [[pair]]              # every pair of regions once, each region with itself too
//! between = ["asia", "europe"]
//! rtt_ms = { kind = "lognormal", median = 129.0, sigma = 0.6 }
//! ```

use std::{collections::BTreeMap, path::Path, sync::Arc};

use serde::{Deserialize, Serialize};

use crate::dist::Dist;

/// Matrices shipped inside the binary, by name.
const SHIPPED: &[(&str, &str)] = &[(
    "ripe-atlas-2025",
    include_str!("../data/regions/ripe-atlas-2025.toml"),
)];

/// The most regions a matrix may have.
pub const MAX_REGIONS: usize = 64;

/// The largest matrix file read, in bytes.
const MAX_MATRIX_BYTES: u64 = 1 << 20;

/// A scenario's `[link.regions]`: which matrix, and optionally other shares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Regions {
    /// A shipped matrix by name (`"ripe-atlas-2025"`), or the path of a matrix
    /// file, relative to the scenario file. No default.
    pub matrix: String,
    /// Each region's share of the nodes, by name, overriding the matrix's own;
    /// regions left out get no nodes. Default: the matrix file's `[share]`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub share: BTreeMap<String, f64>,
    /// The matrix, once loaded.
    #[serde(skip)]
    table: Option<Arc<Table>>,
}

impl Regions {
    /// A shipped matrix by name, or a matrix file relative to the working
    /// folder, loaded; `share` as in a scenario (empty: the matrix's own).
    pub fn new(matrix: &str, share: BTreeMap<String, f64>) -> Result<Self, String> {
        let mut regions = Self {
            matrix: matrix.into(),
            share,
            table: None,
        };
        regions.load(None)?;
        Ok(regions)
    }

    /// The loaded matrix; `None` until the scenario that holds it was loaded.
    pub fn table(&self) -> Option<&Table> {
        self.table.as_deref()
    }

    /// The name of node `node`'s region in a run with `seed`.
    pub fn name_of(&self, seed: u64, node: usize) -> &str {
        self.table()
            .map_or("", |t| &t.names[t.region_of(seed, node)])
    }

    /// Loads the matrix: a shipped one by name, else a file relative to `base`
    /// (the scenario's folder; the working folder without one). A file's path is
    /// rewritten to its full form, so the copy of the scenario in a run's
    /// output still finds it.
    pub(crate) fn load(&mut self, base: Option<&Path>) -> Result<(), String> {
        let text = match SHIPPED.iter().find(|(name, _)| *name == self.matrix) {
            Some((_, text)) => (*text).to_owned(),
            None => {
                let path = base.map_or_else(
                    || Path::new(&self.matrix).to_path_buf(),
                    |b| b.join(&self.matrix),
                );
                let unknown = |e: std::io::Error| {
                    let names: Vec<_> = SHIPPED.iter().map(|(n, _)| *n).collect();
                    format!(
                        "{:?} is neither a shipped matrix ({}) nor a readable file: {e}",
                        self.matrix,
                        names.join(", ")
                    )
                };
                let size = std::fs::metadata(&path).map_err(unknown)?.len();
                if size > MAX_MATRIX_BYTES {
                    return Err(format!(
                        "{} is {size} bytes; a matrix file may have at most {MAX_MATRIX_BYTES}",
                        path.display()
                    ));
                }
                let text = std::fs::read_to_string(&path).map_err(unknown)?;
                self.matrix = std::fs::canonicalize(&path)
                    .unwrap_or(path)
                    .display()
                    .to_string();
                text
            }
        };
        let table =
            Table::parse(&text, &self.share).map_err(|e| format!("{}: {e}", self.matrix))?;
        self.table = Some(Arc::new(table));
        Ok(())
    }
}

/// A loaded matrix: regions, their cumulative shares and the round-trip time of
/// every pair.
#[derive(Debug, PartialEq)]
pub struct Table {
    source: String,
    names: Vec<String>,
    /// Running sums of the shares, normalised to end at 1.
    cumulative: Vec<f64>,
    /// Round-trip time between regions `i` and `j` at `i * n + j`.
    rtt_ms: Vec<Dist>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MatrixFile {
    source: String,
    share: BTreeMap<String, f64>,
    pair: Vec<Pair>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Pair {
    between: [String; 2],
    rtt_ms: Dist,
}

impl Table {
    /// Parses and checks a matrix file; `overrides`, when not empty, replaces its
    /// shares.
    pub fn parse(text: &str, overrides: &BTreeMap<String, f64>) -> Result<Self, String> {
        let file: MatrixFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let names: Vec<String> = file.share.keys().cloned().collect();
        if names.is_empty() || names.len() > MAX_REGIONS {
            return Err(format!(
                "[share] names {} regions; a matrix has 1 to {MAX_REGIONS}",
                names.len()
            ));
        }
        let index = |name: &str| names.iter().position(|n| n == name);
        let shares = if overrides.is_empty() {
            &file.share
        } else {
            if let Some(unknown) = overrides.keys().find(|n| index(n).is_none()) {
                return Err(format!(
                    "link.regions.share names {unknown:?}, which is not one of the matrix's regions ({})",
                    names.join(", ")
                ));
            }
            overrides
        };
        if let Some((name, v)) = shares.iter().find(|(_, v)| !v.is_finite() || **v < 0.0) {
            return Err(format!(
                "the share of {name:?} is {v}; use a number of 0 or more"
            ));
        }
        let total: f64 = shares.values().sum();
        if total <= 0.0 {
            return Err("the shares are all 0: give at least one region a share above 0".into());
        }
        let mut running = 0.0;
        let cumulative = names
            .iter()
            .map(|n| {
                running += shares.get(n).copied().unwrap_or(0.0) / total;
                running
            })
            .collect();

        let n = names.len();
        let mut rtt_ms = vec![None; n * n];
        for pair in &file.pair {
            let [a, b] = &pair.between;
            let (Some(i), Some(j)) = (index(a), index(b)) else {
                return Err(format!(
                    "a [[pair]] is between {a:?} and {b:?}; both must be regions of [share] ({})",
                    names.join(", ")
                ));
            };
            pair.rtt_ms
                .check()
                .map_err(|e| format!("the rtt_ms between {a:?} and {b:?}: {e}"))?;
            if rtt_ms[i * n + j].is_some() {
                return Err(format!(
                    "the pair {a:?}–{b:?} appears twice; give each pair once"
                ));
            }
            rtt_ms[i * n + j] = Some(pair.rtt_ms);
            rtt_ms[j * n + i] = Some(pair.rtt_ms);
        }
        let missing: Vec<String> = (0..n)
            .flat_map(|i| (i..n).map(move |j| (i, j)))
            .filter(|(i, j)| rtt_ms[i * n + j].is_none())
            .map(|(i, j)| format!("{}–{}", names[i], names[j]))
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "no [[pair]] gives the round trip {}; every pair of regions needs one, each region with itself too",
                missing.join(", ")
            ));
        }
        Ok(Self {
            source: file.source,
            names,
            cumulative,
            rtt_ms: rtt_ms.into_iter().flatten().collect(),
        })
    }

    /// Where the matrix's numbers come from, as its file says.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The regions' names, in the order `region_of` numbers them.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The region of node `node` in a run with `seed`: fixed by the two, and by
    /// the shares.
    pub fn region_of(&self, seed: u64, node: usize) -> usize {
        let draw = (splitmix64(seed ^ 0x7265_6769_6f6e_7321 ^ node as u64) >> 11) as f64
            / (1u64 << 53) as f64;
        self.cumulative
            .partition_point(|c| *c <= draw)
            .min(self.names.len() - 1)
    }

    /// A one-way base latency between regions `a` and `b`: half a round trip
    /// drawn from the pair's distribution.
    pub fn one_way_ms(&self, a: usize, b: usize, rng: &mut impl rand::Rng) -> f64 {
        self.rtt_ms[a * self.names.len() + b].sample(rng) / 2.0
    }
}

/// A cheap, well-mixed 64-bit hash (SplitMix64's finaliser).
fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng as _;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    const TWO: &str = r#"
        source = "a test"
        [share]
        near = 3.0
        far = 1.0
        [[pair]]
        between = ["near", "near"]
        rtt_ms = { kind = "fixed", value = 20.0 }
        [[pair]]
        between = ["far", "near"]
        rtt_ms = { kind = "fixed", value = 200.0 }
        [[pair]]
        between = ["far", "far"]
        rtt_ms = { kind = "fixed", value = 40.0 }
    "#;

    #[test]
    fn nodes_land_in_regions_by_share_and_pairs_get_half_their_round_trip() {
        let table = Table::parse(TWO, &BTreeMap::new()).unwrap();
        let far = table.names().iter().position(|n| n == "far").unwrap();
        let in_far = (0..10_000)
            .filter(|node| table.region_of(7, *node) == far)
            .count();
        assert!(
            (2_300..2_700).contains(&in_far),
            "{in_far} of 10,000 in far"
        );
        // Fixed by seed and node.
        assert_eq!(table.region_of(7, 42), table.region_of(7, 42));

        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let near = 1 - far;
        assert_eq!(table.one_way_ms(near, far, &mut rng), 100.0);
        assert_eq!(table.one_way_ms(far, near, &mut rng), 100.0);
        assert_eq!(table.one_way_ms(near, near, &mut rng), 10.0);
    }

    #[test]
    fn shares_can_be_overridden_and_a_region_left_empty() {
        let only_far = BTreeMap::from([("far".to_string(), 1.0)]);
        let table = Table::parse(TWO, &only_far).unwrap();
        let far = table.names().iter().position(|n| n == "far").unwrap();
        assert!((0..1_000).all(|node| table.region_of(3, node) == far));
    }

    #[test]
    fn bad_matrices_are_refused_with_the_fix() {
        let cases = [
            (
                TWO.replace("near = 3.0", "near = -1.0"),
                "use a number of 0 or more",
            ),
            (
                TWO.replace(
                    "between = [\"far\", \"far\"]",
                    "between = [\"near\", \"near\"]",
                ),
                "appears twice",
            ),
            (
                TWO.replace(
                    "between = [\"far\", \"far\"]",
                    "between = [\"far\", \"moon\"]",
                ),
                "both must be regions of [share]",
            ),
            (
                TWO.replace("value = 40.0", "value = -4.0"),
                "the rtt_ms between",
            ),
            (
                TWO.replace("source = \"a test\"", ""),
                "missing field `source`",
            ),
        ];
        for (text, expected) in cases {
            let message = Table::parse(&text, &BTreeMap::new()).unwrap_err();
            assert!(message.contains(expected), "{message:?}");
        }
        let mut missing = TWO.to_string();
        missing.truncate(TWO.rfind("[[pair]]").unwrap());
        let message = Table::parse(&missing, &BTreeMap::new()).unwrap_err();
        assert!(message.contains("far–far"), "{message:?}");
        let moon = BTreeMap::from([("moon".to_string(), 1.0)]);
        let message = Table::parse(TWO, &moon).unwrap_err();
        assert!(
            message.contains("not one of the matrix's regions"),
            "{message:?}"
        );
        let zero = BTreeMap::from([("far".to_string(), 0.0)]);
        let message = Table::parse(TWO, &zero).unwrap_err();
        assert!(message.contains("all 0"), "{message:?}");
    }

    #[test]
    fn the_shipped_matrix_loads_with_six_regions() {
        let regions = Regions::new("ripe-atlas-2025", BTreeMap::new()).unwrap();
        let table = regions.table().unwrap();
        assert_eq!(table.names().len(), 6);
        let index = |n: &str| table.names().iter().position(|x| x == n).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let median = |a, b, rng: &mut ChaCha8Rng| {
            let mut v: Vec<f64> = (0..1001).map(|_| table.one_way_ms(a, b, rng)).collect();
            v.sort_by(f64::total_cmp);
            v[500]
        };
        // Within Europe is closer than Europe to Oceania.
        let (eu, oc) = (index("europe"), index("oceania"));
        assert!(median(eu, eu, &mut rng) < median(eu, oc, &mut rng) / 4.0);
    }
}
