#!/usr/bin/env bash
# kill -9 of the hub during a SCIM write load (sequential curl creates): after a restart, every
# user that got a 201 is in the store, every stored user has its talent.person.registered event,
# no event id is doubled and the outbox is empty.
# Usage: scim_kill_test.sh SIMPANG_BINARY
set -euo pipefail
SIMPANG=$1
DIR=$(mktemp -d)
HUB=
cleanup() { [ -n "$HUB" ] && kill -9 "$HUB" 2>/dev/null; wait 2>/dev/null; rm -rf "$DIR"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
TOKEN=scim-kill-token-0123456789
printf '%s' "$TOKEN" > "$DIR/token"
cat > "$DIR/hub.yaml" <<'YAML'
hub:
  state_dir: state
  log_level: warn
plugins:
  - name: scim
    plugin: hr-scim
    config:
      republish_interval: 200ms
      clients:
        - {name: acme, token: "${file:token}", organisation_id: org-acme}
  - name: out
    plugin: sink-jsonl
    config: {path: events.jsonl}
routes:
  - {name: people, from: [scim], match: {type: talent.**}, to: [out]}
YAML
cd "$DIR"
start_hub() {
  rm -f state/instances/scim/port
  "$SIMPANG" run hub.yaml >> hub.log 2>&1 &
  HUB=$!
  for _ in $(seq 200); do [ -s state/instances/scim/port ] && return; sleep 0.05; done
  fail "the hub did not start: $(cat hub.log)"
}
start_hub
U=http://127.0.0.1:$(cat state/instances/scim/port)/scim/v2
touch ok.txt
( for i in $(seq 1 100000); do
    c=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
      -H "Content-Type: application/scim+json" -X POST "$U/Users" \
      -d "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"k$i\"}")
    [ "$c" = 201 ] && echo "k$i" >> ok.txt
    [ "$c" = 000 ] && break
  done ) &
LOAD=$!
# Kill once a good number of writes has been answered (a condition, not a timer).
for _ in $(seq 600); do [ "$(wc -l < ok.txt)" -ge 150 ] && break; sleep 0.05; done
kill -9 "$HUB"; wait "$HUB" 2>/dev/null || true; HUB=
wait "$LOAD" || true
[ "$(wc -l < ok.txt)" -ge 1 ] || fail "no write was answered before the kill"
start_hub
# Wait until the outbox is drained (the restart publishes what was pending).
for _ in $(seq 200); do
  n=$(/usr/bin/python3 -c 'import sqlite3; print(sqlite3.connect("state/instances/scim/scim.db").execute("select count(*) from outbox").fetchone()[0])')
  [ "$n" = 0 ] && break; sleep 0.05
done
kill -INT "$HUB"; wait "$HUB" || true; HUB=
/usr/bin/python3 - <<'PY'
import json, sqlite3, sys
ok = set(l.strip() for l in open("ok.txt"))
db = sqlite3.connect("state/instances/scim/scim.db")
stored = {r[0] for r in db.execute("select name_key from resources")}
ids = {"scim:acme:" + r[0] for r in db.execute("select id from resources")}
outbox = db.execute("select count(*) from outbox").fetchone()[0]
events = [json.loads(l) for l in open("state/instances/out/events.jsonl")]
registered = {e["subject"] for e in events if e["type"] == "talent.person.registered"}
problems = []
if ok - stored: problems.append("2xx'd but not stored: %s" % sorted(ok - stored)[:5])
if ids - registered: problems.append("stored without event: %d" % len(ids - registered))
if registered - ids: problems.append("event without stored user: %d" % len(registered - ids))
if len(events) != len({e["id"] for e in events}): problems.append("an event id twice")
if outbox: problems.append("outbox not empty: %d" % outbox)
print("2xx=%d stored=%d registered=%d" % (len(ok), len(stored), len(registered)))
if problems: print("FAIL: " + "; ".join(problems)); sys.exit(1)
PY
echo ok
