//! [`NetError`]: why a network operation failed.

use std::time::Duration;

use passport_protocol::{PassportId, ProtocolError};

use crate::error::NodeError;

/// Why a network operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// No valid record for this id was found in time.
    #[error("no node found for {0}: the id may be wrong, or its node has not been online recently")]
    NotFound(PassportId),
    /// The operation took longer than allowed.
    #[error("timed out after {0:?}; the other node may be offline or unreachable")]
    Timeout(Duration),
    /// The message could not be delivered or answered.
    #[error("could not reach the other node: {0}")]
    Unreachable(String),
    /// The other node refused the message.
    #[error("the other node refused the message: {0}")]
    Refused(String),
    /// The other node is busy or rate-limits this one; retry later.
    #[error(
        "the other node is busy or limiting how fast this node may send; retry in a few seconds"
    )]
    Busy,
    /// The network task has stopped.
    #[error("the network has stopped; restart the node")]
    Stopped,
    /// Setting up the network failed.
    #[error("could not start the network: {0}")]
    Setup(String),
    /// A message or record was refused by the protocol rules.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// This node could not act on an answer; the node's own error says why.
    #[error("this node could not act on the answer: {0}")]
    Node(#[source] NodeError),
    /// A task doing this node's share of the work (storing an answer, say) ended
    /// before it finished, most likely because the node is shutting down.
    #[error("this node stopped before it finished with the answer: {0}")]
    Interrupted(String),
}

impl From<NodeError> for NetError {
    fn from(e: NodeError) -> Self {
        match e {
            NodeError::Protocol(p) => NetError::Protocol(p),
            other => NetError::Node(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_error_stays_typed_inside_a_net_error() {
        use std::error::Error as _;
        let e = NetError::from(NodeError::InboxFull("for this merchant"));
        assert!(matches!(&e, NetError::Node(NodeError::InboxFull(_))), "{e}");
        assert!(
            e.source()
                .is_some_and(|s| s.to_string().starts_with("inbox full"))
        );
        // Protocol refusals keep their own variant, with its stable reason.
        let replayed = ProtocolError::Replayed {
            id: passport_protocol::MessageId::from_bytes([7; 16]),
        };
        assert!(matches!(
            NetError::from(NodeError::Protocol(replayed)),
            NetError::Protocol(ProtocolError::Replayed { .. })
        ));
    }
}
