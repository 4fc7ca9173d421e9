#!/usr/bin/env bash
# The image's entrypoint: `entrypoint.sh [OCRLTY ARGS...]` (default: `serve`).
#
#   SLEEP_ON_START=1          sleep instead of starting (exec into the container to debug)
#   TILT_MODEL=<dir>          with `serve`, start the TILT model server (tilt-server) on
#                             127.0.0.1:$TILT_PORT (8001) first and point VLLM_BASE_URL at it
#                             (KIE_BACKEND defaults to openai and VLLM_STYLE to tilt then)
#   VLLM_BASE_URL=<url>/v1    with `serve`, wait until <url>/v1/models answers before starting
#   MODEL_SERVER_TIMEOUT_S    how long to wait for the model server (600)
#   OCRLTY_BIN, TILT_SERVER_BIN   the binaries (ocrlty, tilt-server on PATH)
#   `entrypoint.sh healthcheck`   exits 0 when $HEALTHCHECK_URL (the API's /readyz) answers 200
#
# With a model server in the container, both processes run under this script: SIGTERM and
# SIGINT reach both, and when either exits the other is stopped and the container ends with
# its status. Without one, ocrlty replaces this script (exec).
set -euo pipefail

OCRLTY="${OCRLTY_BIN:-ocrlty}"
TILT_SERVER="${TILT_SERVER_BIN:-tilt-server}"
TIMEOUT="${MODEL_SERVER_TIMEOUT_S:-600}"
log() { echo "entrypoint: $*" >&2; }

if [ "${1:-}" = healthcheck ]; then
  exec curl -fsS -o /dev/null --max-time 5 \
    "${HEALTHCHECK_URL:-http://127.0.0.1:${API_PORT:-8000}/readyz}"
fi
if [ "${SLEEP_ON_START:-0}" = 1 ]; then
  log "SLEEP_ON_START=1: sleeping; exec into the container to debug, unset it to start"
  exec sleep infinity
fi
[ $# -gt 0 ] || set -- serve

children=()
stop_all() { # stop_all SIGNAL: sends it to every child still running and waits for them
  local pid
  for pid in "${children[@]}"; do kill "-$1" "$pid" 2>/dev/null || true; done
  for pid in "${children[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap 'log "SIGTERM: stopping"; stop_all TERM; exit 143' TERM
trap 'log "SIGINT: stopping"; stop_all INT; exit 130' INT

if [ "$1" = serve ] && [ -n "${TILT_MODEL:-}" ]; then
  port="${TILT_PORT:-8001}"
  log "starting the TILT model server ($TILT_SERVER, model $TILT_MODEL) on 127.0.0.1:$port"
  "$TILT_SERVER" --host 127.0.0.1 --port "$port" &
  children+=($!)
  export VLLM_BASE_URL="${VLLM_BASE_URL:-http://127.0.0.1:$port/v1}"
  # A model server started here is the one the API extracts with, unless told otherwise.
  export KIE_BACKEND="${KIE_BACKEND:-openai}" VLLM_STYLE="${VLLM_STYLE:-tilt}"
fi

if [ "$1" = serve ] && [ -n "${VLLM_BASE_URL:-}" ]; then
  url="${VLLM_BASE_URL%/}/models"
  log "waiting up to ${TIMEOUT}s for the model server at $url"
  deadline=$((SECONDS + TIMEOUT))
  until curl -fsS -o /dev/null --max-time 5 "$url"; do
    for pid in "${children[@]}"; do
      if ! kill -0 "$pid" 2>/dev/null; then
        wait "$pid" && rc=0 || rc=$?
        log "the model server exited (status $rc) before it was ready"
        exit "$(( rc == 0 ? 1 : rc ))"
      fi
    done
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "the model server at $url did not answer within ${TIMEOUT}s (MODEL_SERVER_TIMEOUT_S); giving up"
      stop_all TERM
      exit 1
    fi
    sleep 1
  done
  log "the model server is ready"
fi

if [ ${#children[@]} -eq 0 ]; then
  exec "$OCRLTY" "$@"
fi
# The API reaches the model through tilt-server (the openai backend): TILT_MODEL is not its.
env -u TILT_MODEL "$OCRLTY" "$@" &
children+=($!)
# Whichever exits first ends the container, taking the other with it.
wait -n "${children[@]}" && rc=0 || rc=$?
log "a process exited (status $rc): stopping the others"
stop_all TERM
exit "$rc"
