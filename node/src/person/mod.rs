//! The person's side: requests in, decisions out, grants issued, updates pushed,
//! revocations and erase requests sent, receipts checked.
//!
//! # Layout
//!
//! Each file imports only files above it in this list:
//!
//! - `merchants.rs`: [`MerchantRecord`], what the person knows of a merchant, and
//!   petnames.
//! - `access.rs`: [`Statement`]: asking a merchant what it holds about the
//!   person, and keeping its signed answer.
//! - [`domain`]: checking a merchant's website (`/.well-known/passport`).
//! - `policies.rs`: standing policies: list, add, remove.
//! - `inbox.rs`: [`PendingRequest`] and [`InboxItem`]: requests waiting for the
//!   person, and their expiry.
//! - `grants.rs`: [`IssuedGrant`]: issuing, listing and revoking grants, and the
//!   updates pushed or fetched while one is live.
//! - `erasure.rs`: erase requests, and the deletion receipts that answer them.
//! - `decisions.rs`: [`Approval`]: a request as it arrives (a policy decides, or it
//!   waits), and approving or denying one that waited.

mod access;
mod decisions;
pub mod domain;
mod erasure;
mod grants;
mod inbox;
mod merchants;
mod policies;

pub use self::{
    access::Statement,
    decisions::Approval,
    grants::IssuedGrant,
    inbox::{InboxItem, PendingRequest},
    merchants::{DomainClaim, MerchantRecord, VerifiedName},
};
