//! `authority`: the renewal authority service. See `DEMO.md` for the commands.

fn main() {}
