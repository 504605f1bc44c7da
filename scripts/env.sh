# Sourced by the scripts: puts the pinned npm tools (wasm-opt) and cargo-installed tools
# (trunk, wasm-bindgen) first on PATH, where trunk looks for them.
PATH="$PWD/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
export PATH
