# shellcheck shell=bash
# Sourced first by every script in scripts/ (not run on its own):
#   . "$(dirname "${BASH_SOURCE[0]}")/lib/preamble.sh"
# Strict mode; ROOT (the repository); EVAL (../shared/eval, or OCRLTY_EVAL_DIR); and:
#   deps [PIECE...]   fetch the native dependencies (scripts/setup, a no-op when present) and
#                     load their paths (.deps/env.sh)
#   release ARGS...   cargo build --release --locked --quiet ARGS, run from ROOT, output on stderr
#   need_eval SUBDIR  stop with a message unless $EVAL/SUBDIR exists
# It does not change the working directory: scripts that want ROOT `cd "$ROOT"` themselves.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
EVAL="${OCRLTY_EVAL_DIR:-$ROOT/../shared/eval}"

deps() {
  "$ROOT/scripts/setup" "$@" >&2
  # shellcheck source=/dev/null
  . "$ROOT/.deps/env.sh"
}

release() {
  (cd "$ROOT" && cargo build --release --locked --quiet "$@") >&2
}

need_eval() {
  [ -e "$EVAL/$1" ] || {
    echo "$(basename "$0"): $EVAL/$1 not found (set OCRLTY_EVAL_DIR)" >&2
    exit 1
  }
}
