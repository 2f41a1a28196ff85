//! What several benches set up the same way (a module of each, not a bench).

use passport_node::{Home, KdfParams, Node, NodeConfig, Unlock, consent::Policy};
use passport_protocol::{FieldValue, Timestamp};

/// A new home in `dir` (key file, the tests' cheap KDF), opened: a real sled store.
pub(crate) fn open_new_home(dir: &std::path::Path) -> Node {
    let home = Home::new(dir);
    home.create(&Unlock::KeyFile, KdfParams::insecure_for_tests())
        .unwrap();
    Node::open(&home, &Unlock::KeyFile, NodeConfig::default()).unwrap()
}

/// Makes `node` a person who grants `name.given` at once: the field, and a standing
/// policy allowing normal fields.
pub(crate) fn grants_at_once(node: &Node, now: Timestamp) {
    node.set_field(
        "name.given".parse().unwrap(),
        FieldValue::Text("Ada".into()),
        now,
    )
    .unwrap();
    node.add_policy(Policy::allow_normal_fields(None), now)
        .unwrap();
}
