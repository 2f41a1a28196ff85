//! End-to-end tests across Passport nodes and processes live in `tests/tests/`.
//!
//! # Layout
//!
//! - `src/bin/crash_child.rs`: a person's node that issues and revokes grants as fast
//!   as it can and reports each one once it is durable; `tests/crash.rs` kills it
//!   with SIGKILL at random moments and checks nothing acknowledged was lost.
//! - `src/bin/mailbox_child.rs`: a mailbox taking deposits as fast as it can and
//!   reporting each once it is durable, killed the same way.

pub use passport_node as node;
pub use passport_protocol as protocol;

/// The limits of the mailbox in the crash test: high enough that no deposit is
/// refused while it runs.
pub fn crash_mailbox_settings() -> passport_node::mailbox::MailboxSettings {
    passport_node::mailbox::MailboxSettings {
        serve: true,
        max_recipients: 1,
        total_bytes: 1 << 40,
        per_recipient_messages: u32::MAX,
        per_sender_messages: u32::MAX,
        ..Default::default()
    }
}
