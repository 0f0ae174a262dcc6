#!/usr/bin/env bash
# Typing beside floods, measured with clients we did not build the bench from: 10 sessions
# flooding (`cat /dev/zero | tr '\0' a`, read by Node's WebSocket: outside-floods.mjs) and one more
# where a plain-socket Python client types one byte at a time (ws-echo.py; the terminal's own echo
# sends it back). bunty runs with its default flags except --no-token and --pool-size 0.
#   scripts/bench/outside-fairness.sh [BUNTY_BINARY] [PORT]     (default dist/bunty, 7801)
# Prints the typist's p50 / p99 and the floods' MB/s of the last seconds.
set -u
cd "$(dirname "$0")/../.."
BIN=${1:-dist/bunty}; PORT=${2:-7801}
CMD='read -r what; if [ "$what" = flood ]; then exec sh -c "cat /dev/zero | tr \"\\0\" a"; else exec cat; fi'
setsid "$BIN" --port "$PORT" --no-token --pool-size 0 --log-level warn -- sh -c "$CMD" > /dev/null 2>&1 &
srv=$!
trap 'kill -TERM -- -$srv 2>/dev/null' EXIT
sleep 1.5
log=$(mktemp)
timeout 20 node --experimental-websocket scripts/bench/outside-floods.mjs "ws://127.0.0.1:$PORT/ws" 10 2> "$log" &
floods=$!
sleep 2 # the floods are under way
timeout 30 python3 scripts/bench/ws-echo.py bunty "$PORT" /ws 1500
kill "$floods" 2>/dev/null
tail -3 "$log" | tr '\n' ' '; echo
rm -f "$log"
