#!/usr/bin/env bash
# Runs schemathesis against a real `outdial serve` (the admin API's OpenAPI description at
# /api/v1/openapi.json): every response must conform to the description (status code,
# content type, headers, body schema) and none may be a server error. Called by .ci/run
# after the tests; run it by hand the same way:  bash tools/schemathesis.sh
#
# The server runs the debug binary (target/debug/outdial, built by the tests; built here if
# stale) on a new SQLite file with the fake carrier, a campaign and a few leads, and an
# API key of its temporary config. Reproducible: a fixed seed (ST_SEED) and a bounded number
# of examples per operation (ST_EXAMPLES), no time budget: under a minute on 2 cores. Exit
# status: schemathesis's (non-zero on any failure).
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION="4.32.5"
SEED="${ST_SEED:-20261204}"
EXAMPLES="${ST_EXAMPLES:-60}"

if ! python3 -c "import schemathesis, sys; sys.exit(schemathesis.__version__ != '$SCHEMATHESIS_VERSION')" 2>/dev/null; then
  echo "installing schemathesis $SCHEMATHESIS_VERSION from PyPI"
  python3 -m pip install --quiet --root-user-action=ignore "schemathesis==$SCHEMATHESIS_VERSION" \
    || python3 -m pip install --quiet --root-user-action=ignore --break-system-packages \
      "schemathesis==$SCHEMATHESIS_VERSION"
fi

# The debug binary; after the tests this build has nothing to do.
cargo build --locked --quiet -p outdial
bin="${CARGO_TARGET_DIR:-target}/debug/outdial"

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

# Free loopback ports for the carrier and the server.
read -r carrier_port serve_port < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
for s in socks: s.close()')

# A fresh API key for this run only; it stays in the config file and the header.
api_key="schemathesis-$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
carrier_token="fake-carrier-token"
base="http://127.0.0.1:$serve_port"
cat > "$work/outdial.toml" <<TOML
database = "$work/outdial.db"
listen = "127.0.0.1:$serve_port"
public_url = "$base"
api_keys = ["$api_key"]

[twilio]
api_base = "http://127.0.0.1:$carrier_port"
account_sid = "AC00000000000000000000000000000000"
auth_token = "$carrier_token"
TOML
export OUTDIAL_CONFIG="$work/outdial.toml" RUST_LOG="${RUST_LOG:-warn}"

# Data for the operations to find: a campaign and a few leads (ids 1 to 3).
"$bin" campaign create schemathesis --caller-id +15005550006 \
  --answer-document '<Response/>' --db "$work/outdial.db" >/dev/null
printf 'phone_number,first_name\n+12125550101,Ada\n+12125550102,Grace\n+13105550103,Edsger\n' \
  > "$work/leads.csv"
"$bin" import "$work/leads.csv" --campaign schemathesis --db "$work/outdial.db" >/dev/null

OUTDIAL_CARRIER_AUTH_TOKEN="$carrier_token" \
  "$bin" carrier --listen "127.0.0.1:$carrier_port" --provider twilio >"$work/carrier.log" 2>&1 &
pids+=($!)
"$bin" serve --db "$work/outdial.db" >"$work/serve.log" 2>&1 &
pids+=($!)

for _ in $(seq 1 60); do
  curl -fsS "$base/healthz" >/dev/null 2>&1 && break
  sleep 0.5
done
if ! curl -fsS "$base/healthz" >/dev/null; then
  echo "outdial serve did not answer /healthz:" >&2
  cat "$work/serve.log" >&2
  exit 1
fi

status=0
# From the temporary folder: schemathesis keeps a cache (.schemathesis/) in its working folder.
(cd "$work" && schemathesis run "$base/api/v1/openapi.json" \
  --header "Authorization: Bearer $api_key" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
  --phases examples,coverage,fuzzing \
  --max-examples "$EXAMPLES" \
  --seed "$SEED" \
  --workers 1 \
  --request-timeout 10 \
  --no-color) || status=$?

if [ "$status" -ne 0 ]; then
  echo "schemathesis found failures (exit $status); the server's log:" >&2
  tail -n 50 "$work/serve.log" >&2
fi
exit "$status"
