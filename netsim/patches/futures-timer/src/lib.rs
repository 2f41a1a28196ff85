//! A general purpose crate for working with timeouts and delays with futures.
//!
//! # Examples
//!
//! ```no_run
//! # #[async_std::main]
//! # async fn main() {
//! use std::time::Duration;
//! use futures_timer::Delay;
//!
//! let now = Delay::new(Duration::from_secs(3)).await;
//! println!("waited for 3 secs");
//! # }
//! ```

#![deny(missing_docs)]
// Upstream's native timer as published (3.0.3) warns on today's compilers; it is
// kept unchanged rather than modernised.
#![allow(deprecated, dead_code, unexpected_cfgs)]
#![warn(missing_debug_implementations)]

// Patched by Passport (see PATCH.md): native targets only, and `Delay` can run on
// tokio's clock when `use_tokio_clock(true)` was called.
mod native;
mod switch;

pub use self::switch::{native_delays_created, use_tokio_clock, Delay};
