//! Distributions a scenario draws from: latencies, sessions, downtimes, answer
//! times. Written in TOML as an inline table with a `kind`.

use rand::RngExt as _;
use rand_distr::Distribution as _;
use serde::{Deserialize, Serialize};

/// A non-negative distribution; the unit is in the field's name (`_ms`, `_s`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Dist {
    /// Always `value`: `{ kind = "fixed", value = 40 }`.
    Fixed {
        /// The value.
        value: f64,
    },
    /// Uniform between `low` and `high`.
    Uniform {
        /// Lowest value.
        low: f64,
        /// Highest value.
        high: f64,
    },
    /// Exponential with this mean (memoryless sessions, Poisson arrivals).
    Exponential {
        /// The mean.
        mean: f64,
    },
    /// Log-normal with this median and shape sigma (the log's standard
    /// deviation): latencies, human answer times.
    Lognormal {
        /// The median.
        median: f64,
        /// The shape; 0.5 keeps most values within half to double the median.
        sigma: f64,
    },
    /// Pareto with this minimum (scale) and shape: heavy-tailed session lengths,
    /// as P2P measurements report.
    Pareto {
        /// The smallest value.
        scale: f64,
        /// The tail index; smaller is heavier (1.5 is common for sessions).
        shape: f64,
    },
}

impl Dist {
    /// Draws a value (never negative).
    pub fn sample(&self, rng: &mut (impl rand::Rng + ?Sized)) -> f64 {
        let v = match *self {
            Dist::Fixed { value } => value,
            Dist::Uniform { low, high } => {
                if high > low {
                    rng.random_range(low..high)
                } else {
                    low
                }
            }
            Dist::Exponential { mean } => rand_distr::Exp::new(1.0 / mean)
                .map(|d| d.sample(rng))
                .unwrap_or(mean),
            Dist::Lognormal { median, sigma } => rand_distr::LogNormal::new(median.ln(), sigma)
                .map(|d| d.sample(rng))
                .unwrap_or(median),
            Dist::Pareto { scale, shape } => rand_distr::Pareto::new(scale, shape)
                .map(|d| d.sample(rng))
                .unwrap_or(scale),
        };
        v.max(0.0)
    }

    /// Whether the parameters make sense; the message says which does not.
    pub fn check(&self) -> Result<(), String> {
        let ok = match *self {
            Dist::Fixed { value } => value >= 0.0,
            Dist::Uniform { low, high } => low >= 0.0 && high >= low,
            Dist::Exponential { mean } => mean > 0.0,
            Dist::Lognormal { median, sigma } => median > 0.0 && sigma >= 0.0,
            Dist::Pareto { scale, shape } => scale > 0.0 && shape > 0.0,
        };
        if ok && self.is_finite() {
            Ok(())
        } else {
            Err(format!(
                "{self:?} is not usable: values must be finite, medians, means and scales above 0, sigma 0 or more, and low ≤ high"
            ))
        }
    }

    fn is_finite(&self) -> bool {
        match *self {
            Dist::Fixed { value } => value.is_finite(),
            Dist::Uniform { low, high } => low.is_finite() && high.is_finite(),
            Dist::Exponential { mean } => mean.is_finite(),
            Dist::Lognormal { median, sigma } => median.is_finite() && sigma.is_finite(),
            Dist::Pareto { scale, shape } => scale.is_finite() && shape.is_finite(),
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng as _;

    use super::*;

    fn mean_of(dist: Dist) -> f64 {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        (0..20_000).map(|_| dist.sample(&mut rng)).sum::<f64>() / 20_000.0
    }

    #[test]
    fn samples_have_the_stated_centre() {
        assert_eq!(mean_of(Dist::Fixed { value: 3.0 }), 3.0);
        assert!(
            (mean_of(Dist::Uniform {
                low: 2.0,
                high: 4.0
            }) - 3.0)
                .abs()
                < 0.05
        );
        assert!((mean_of(Dist::Exponential { mean: 10.0 }) - 10.0).abs() < 0.3);
        // Lognormal mean = median * exp(sigma² / 2).
        let expected = 40.0 * (0.5f64 * 0.5 / 2.0).exp();
        assert!(
            (mean_of(Dist::Lognormal {
                median: 40.0,
                sigma: 0.5
            }) - expected)
                .abs()
                < 1.0
        );
        // Pareto mean = scale * shape / (shape - 1).
        assert!(
            (mean_of(Dist::Pareto {
                scale: 1.0,
                shape: 3.0
            }) - 1.5)
                .abs()
                < 0.05
        );
    }

    #[test]
    fn bad_parameters_are_refused() {
        assert!(Dist::Exponential { mean: 0.0 }.check().is_err());
        assert!(
            Dist::Uniform {
                low: 3.0,
                high: 1.0
            }
            .check()
            .is_err()
        );
        assert!(Dist::Fixed { value: f64::NAN }.check().is_err());
        assert!(
            Dist::Lognormal {
                median: 1.0,
                sigma: 0.0
            }
            .check()
            .is_ok()
        );
    }
}
