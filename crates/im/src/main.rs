//! The `im` binary.
fn main() {}
