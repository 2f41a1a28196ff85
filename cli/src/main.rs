//! The `passport` command. Its commands arrive with the node; see README.md.

fn main() {}
