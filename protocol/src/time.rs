//! Time as the protocol sees it: whole seconds since the Unix epoch (a CWT
//! NumericDate). The crate never reads a clock; callers pass `now`.

use std::fmt;

/// A point in time, in whole seconds since 1970-01-01T00:00:00Z (UTC).
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(example = 1767225600)
)]
#[serde(transparent)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The time `secs` seconds after the Unix epoch.
    pub const fn from_secs(secs: u64) -> Self {
        Self(secs)
    }

    /// Seconds since the Unix epoch.
    pub const fn as_secs(self) -> u64 {
        self.0
    }

    /// This time plus `secs` seconds, saturating at the far future.
    pub const fn plus_secs(self, secs: u64) -> Self {
        Self(self.0.saturating_add(secs))
    }

    /// This time minus `secs` seconds, saturating at the epoch.
    pub const fn minus_secs(self, secs: u64) -> Self {
        Self(self.0.saturating_sub(secs))
    }

    /// Seconds from `self` until `later`, or 0 if `later` is not after `self`.
    pub const fn secs_until(self, later: Timestamp) -> u64 {
        later.0.saturating_sub(self.0)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
