# Shared by the scripts: the repo root, and which packages build for which target.
# shellcheck shell=bash
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export ROOT
cd "$ROOT"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

log() { printf '==> [%s] %s\n' "$(date +%T)" "$*" >&2; }

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

# The pages' third-party assets (web/package-lock.json) under web/node_modules, which the
# site component builds in; installed again only when the lock file changed.
ensure_web_assets() {
  local web="$ROOT/web"
  if [ ! -f "$web/node_modules/.package-lock.json" ] \
    || [ "$web/package-lock.json" -nt "$web/node_modules/.package-lock.json" ]; then
    command -v npm >/dev/null || { echo "npm is needed to build the site component (Node.js 18 or later)" >&2; return 1; }
    log "installing the pages' assets (npm ci in web/)"
    # --ignore-scripts: the assets are files; no package runs code on this machine.
    (cd "$web" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  fi
}

# What the browser tests run: Debian's Chromium (scripts/services installs it when absent)
# and Playwright's driver library from npm (tests/browser/package-lock.json), which
# downloads no browser of its own.
ensure_browser_tests() {
  "$ROOT/scripts/services" chromium
  local dir="$ROOT/tests/browser"
  if [ ! -f "$dir/node_modules/.package-lock.json" ] \
    || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    command -v npm >/dev/null || { echo "npm is needed for the browser tests (Node.js 20 or later)" >&2; return 1; }
    log "installing the browser tests' driver (npm ci in tests/browser/)"
    (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  fi
}

# Schemathesis (PyPI), which the acceptance suite's schema test runs against the app's
# /openapi.json, in a virtualenv under target/ (its version pinned here).
SCHEMATHESIS_VERSION=4.32.5
ensure_schemathesis() {
  local venv="${CARGO_TARGET_DIR:-$ROOT/target}/schemathesis"
  if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
    log "installing schemathesis $SCHEMATHESIS_VERSION"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
  fi
}

# Builds every component of the app for wasm32-wasip2 (release: what spin.toml points at).
build_components() {
  ensure_web_assets
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
  ensure_web_assets
  local packages
  mapfile -t packages < <(component_packages)
  cargo clippy --quiet --target wasm32-wasip2 --release "${packages[@]/#/--package=}" -- -D warnings
}
