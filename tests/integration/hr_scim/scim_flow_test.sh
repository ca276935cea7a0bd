#!/usr/bin/env bash
# hr-scim in a real `simpang run` hub with sink-jsonl, curl as the identity provider: the Entra ID /
# Okta provisioning sequence, a table of bad requests (status, scimType, detail), paging, ETag
# preconditions, and the talent events in the sink.
# Usage: scim_flow_test.sh SIMPANG_BINARY
set -euo pipefail
SIMPANG=$1
DIR=$(mktemp -d)
HUB_PID=
cleanup() { [ -n "$HUB_PID" ] && kill "$HUB_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$DIR"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
TOKEN=scim-test-token-0123456789
printf '%s' "$TOKEN" > "$DIR/token"
cat > "$DIR/hub.yaml" <<YAML
hub:
  state_dir: state
plugins:
  - name: scim
    plugin: hr-scim
    config:
      max_results: 3
      clients:
        - name: acme
          token: \${file:token}
          organisation_id: org-acme
  - name: out
    plugin: sink-jsonl
    config:
      path: events.jsonl
routes:
  - name: people
    from: [scim]
    match:
      type: talent.**
    to: [out]
YAML
cd "$DIR"
"$SIMPANG" run hub.yaml > hub.log 2>&1 &
HUB_PID=$!
for _ in $(seq 200); do [ -s state/instances/scim/port ] && break; sleep 0.05; done
[ -s state/instances/scim/port ] || fail "the hub did not start: $(cat hub.log)"
U=http://127.0.0.1:$(cat state/instances/scim/port)/scim/v2
AUTH="Authorization: Bearer $TOKEN"
CT="Content-Type: application/scim+json"
USER='{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],"userName":"BJensen@acme.example","externalId":"e-1","name":{"givenName":"Barbara","familyName":"Jensen"},"emails":[{"value":"bjensen@acme.example","type":"work","primary":true}],"title":"Guide","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"701984","department":"Tours","organization":"Acme"}}'

json() { /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# Entra/Okta: create, find by userName, PATCH active false, PUT, DELETE.
ID=$(curl -sf -H "$AUTH" -H "$CT" -X POST "$U/Users" -d "$USER" | json 'd["id"]')
FOUND=$(curl -sf -H "$AUTH" -G "$U/Users" --data-urlencode 'filter=userName eq "bjensen@ACME.example"' | json 'd["totalResults"], d["Resources"][0]["id"]')
[ "$FOUND" = "1 $ID" ] || fail "filter userName eq: got $FOUND"
CODE=$(curl -s -o /dev/null -w '%{http_code}' -H "$AUTH" -H "$CT" -X PATCH "$U/Users/$ID" \
  -d '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}')
[ "$CODE" = 200 ] || fail "PATCH active: $CODE"
ACTIVE=$(curl -sf -H "$AUTH" "$U/Users/$ID" | json 'd["active"], d["meta"]["version"]')
[ "$ACTIVE" = 'False W/"2"' ] || fail "after PATCH: $ACTIVE"
CODE=$(curl -s -o /dev/null -w '%{http_code}' -H "$AUTH" -H 'If-None-Match: W/"2"' "$U/Users/$ID")
[ "$CODE" = 304 ] || fail "If-None-Match: $CODE"
PUT=$(curl -s -w ' %{http_code}' -H "$AUTH" -H "$CT" -H 'If-Match: W/"2"' -X PUT "$U/Users/$ID" \
  -d '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bjensen@acme.example","title":"Lead","active":true}')
[ "${PUT##* }" = 200 ] || fail "PUT: $PUT"

# The bad-request table: method, path, body, expected status, scimType, detail.
check() {
  local method=$1 path=$2 body=$3 status=$4 type=$5 detail=$6 extra=${7:-}
  local out
  out=$(curl -s -w '\n%{http_code}' -X "$method" -H "$AUTH" -H "$CT" $extra "$U$path" ${body:+-d "$body"})
  local code=${out##*$'\n'} reply=${out%$'\n'*}
  [ "$code" = "$status" ] || fail "$method $path: status $code, want $status ($reply)"
  local got
  got=$(printf '%s' "$reply" | json 'd["status"] + "|" + d.get("scimType", "") + "|" + d["detail"]')
  [ "$got" = "$status|$type|$detail" ] || fail "$method $path: got '$got', want '$status|$type|$detail'"
}
check POST /Users "$USER" 409 uniqueness "userName 'BJensen@acme.example' is taken (compared case-insensitively) by $ID"
check GET '/Users?filter=userName%20eqq%20%22x%22' '' 400 invalidFilter \
  "filter: at 9: expected a comparison operator (eq, ne, co, sw, ew, gt, ge, lt, le) or pr, got 'eqq'"
check POST /Users '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"]}' 400 invalidValue "userName: required, a non-empty string"
check POST /Users '{"userName":"x"}' 400 invalidSyntax "schemas: must hold urn:ietf:params:scim:schemas:core:2.0:User"
check POST /Users '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"y","active":"yes"}' 400 invalidValue 'active: must be true or false, got "yes"'
check POST /Users '{not json' 400 invalidSyntax "the body is not valid JSON"
check PATCH "/Users/$ID" '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"id","value":"x"}]}' 400 mutability "Operations[0]: 'id' is readOnly"
check PATCH "/Users/$ID" '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"emails[type eq \"fax\"]"}]}' 400 noTarget "Operations[0]: no element of 'emails' matches the filter"
check PATCH "/Users/$ID" '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"emails[type eq","value":"x"}]}' 400 invalidPath "Operations[0].path: at 14: expected a space and a value after 'eq'"
check PUT "/Users/$ID" '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"z"}' 412 "" 'If-Match W/"1" does not match the current version W/"3"' "-H If-Match:W/\"1\""
# A tag that only contains the current one is another tag: W/"13" is not W/"3".
check PUT "/Users/$ID" '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"z"}' 412 "" 'If-Match W/"13" does not match the current version W/"3"' "-H If-Match:W/\"13\""
check GET /Users/nope '' 404 "" "User nope not found"
OUT=$(curl -s -w ' %{http_code}' -H "$AUTH" -H 'Content-Type: text/plain' -X POST "$U/Users" -d '{}')
[ "${OUT##* }" = 415 ] || fail "415: $OUT"
[[ "$OUT" == *"Content-Type must be application/scim+json (or application/json), got 'text/plain'"* ]] || fail "415: $OUT"
CODE=$(curl -s -o /dev/null -w '%{http_code}' "$U/Users")
[ "$CODE" = 401 ] || fail "no token: $CODE"

# Paging: 1-based startIndex, count capped at max_results (3).
for i in 1 2 3 4; do
  curl -sf -o /dev/null -H "$AUTH" -H "$CT" -X POST "$U/Users" -d "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"u$i\"}"
done
PAGE=$(curl -sf -H "$AUTH" "$U/Users?startIndex=2&count=10&sortBy=userName" | json 'd["totalResults"], d["startIndex"], d["itemsPerPage"], d["Resources"][0]["userName"]')
[ "$PAGE" = "5 2 3 u1" ] || fail "paging: $PAGE"

CODE=$(curl -s -o /dev/null -w '%{http_code}' -H "$AUTH" -X DELETE "$U/Users/$ID")
[ "$CODE" = 204 ] || fail "DELETE: $CODE"

# The events every 2xx promised are in the sink already (answered only once durable).
TYPES=$(/usr/bin/python3 - <<PY
import json
seen = [json.loads(l) for l in open("state/instances/out/events.jsonl")]
mine = [e for e in seen if e["subject"] == "scim:acme:$ID"]
print(" ".join(e["type"].split(".", 1)[1] for e in mine))
reg = [e for e in mine if e["type"] == "talent.person.registered"][0]["data"]
assert {"system": "hr:org-acme", "value": "701984"} in reg["ids"], reg
assert len(seen) == len({e["id"] for e in seen}), "an event twice"
PY
)
[ "$TYPES" = "person.registered employment.updated employment.updated person.deactivated person.updated employment.updated person.deactivated employment.updated" ] || fail "events: $TYPES"

# A password (writeOnly, returned never) is accepted and dropped: not answered, not stored.
SECRET=Pw-never-kept-4711
CREATED=$(curl -sf -H "$AUTH" -H "$CT" -X POST "$U/Users" \
  -d "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"pw\",\"password\":\"$SECRET\"}")
PWID=$(echo "$CREATED" | json 'd["id"]')
case "$CREATED$(curl -sf -H "$AUTH" "$U/Users/$PWID")" in *"$SECRET"*|*'"password"'*) fail "password answered: $CREATED" ;; esac
if grep -qa "$SECRET" state/instances/scim/*.db* state/instances/out/events.jsonl; then fail "password stored"; fi
echo "ok"
