# Shared by the scripts: the repo root, and which packages build for which target.
# shellcheck shell=bash
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export ROOT
cd "$ROOT"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

log() { printf '==> %s\n' "$*" >&2; }

ensure_wasm_target() {
  if ! rustup target list --installed | grep -qx wasm32-wasip2; then
    log "installing the wasm32-wasip2 Rust target"
    rustup target add wasm32-wasip2
  fi
}

# Every Wasm component of the app: the crates whose Cargo.toml says `crate-type = ["cdylib"]`
# under components/ (fixtures of the host are built by scripts/build-fixtures).
component_packages() {
  local manifest
  for manifest in components/*/*/Cargo.toml; do
    [ -f "$manifest" ] || continue
    grep -q 'cdylib' "$manifest" || continue
    sed -n 's/^name *= *"\(.*\)"/\1/p' "$manifest" | head -n 1
  done
}

# Builds every component of the app for wasm32-wasip2 (release: what spin.toml points at).
build_components() {
  local packages
  mapfile -t packages < <(component_packages)
  if [ "${#packages[@]}" -gt 0 ]; then
    log "building ${#packages[@]} components for wasm32-wasip2"
    cargo build --quiet --target wasm32-wasip2 --release "${packages[@]/#/--package=}"
  fi
}

# Lints the components as they are built: their Spin handlers are wasm-only code, which
# the workspace's native clippy does not see.
lint_components() {
  local packages
  mapfile -t packages < <(component_packages)
  cargo clippy --quiet --target wasm32-wasip2 --release "${packages[@]/#/--package=}" -- -D warnings
}
