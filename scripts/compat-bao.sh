#!/bin/sh
# make compat: drive OpenBao's own CLI (bao, v2.6.2) through the commands
# issue 18 lists against a throw-away devstack, and check each answer and
# exit code as OpenBao gives them (0 success, 2 an error from the server or a
# sealed `status`, 1 a local error); then run a list of commands with
# -format=json against the devstack and against `bao server -dev`, and
# compare their exit codes and JSON keys.
#
# bao is built once from source (about 9 minutes and 3.3 GB of memory cold,
# see ../shared/notes/openbao-baseline.md) into .tools/bin/bao; BAO=<path>
# uses another binary. Sources are cloned into .tools/src unless BAO_SRC
# (an openbao checkout at v2.6.2) and KMS_SRC (go-kms-wrapping at the pinned
# commit) point at existing ones.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
GO=${GO:-go}
BAO=${BAO:-$ROOT/.tools/bin/bao}
BAO_TAG=v2.6.2
KMS_COMMIT=af8b1885827f2a0e7806f002236ffab381c62de3
WORK=$(mktemp -d /tmp/stratum-compat.XXXXXX)
STACK_PID=

cleanup() {
	if [ -n "$STACK_PID" ]; then kill "$STACK_PID" 2>/dev/null || true; wait "$STACK_PID" 2>/dev/null || true; fi
	rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

build_bao() {
	src=${BAO_SRC:-$ROOT/.tools/src/openbao}
	kms=${KMS_SRC:-$ROOT/.tools/src/go-kms-wrapping}
	if [ ! -d "$src" ]; then
		git clone --quiet --depth 1 --branch "$BAO_TAG" https://github.com/openbao/openbao "$src"
	fi
	if [ ! -d "$kms" ]; then
		git clone --quiet https://github.com/openbao/go-kms-wrapping "$kms"
		git -C "$kms" checkout --quiet "$KMS_COMMIT"
	fi
	# The Go proxy refuses these six wrapper modules: build them from the checkout.
	for m in alicloudkms awskms azurekeyvault gcpckms ocikms pkcs11; do
		(cd "$src" && $GO mod edit -replace="github.com/openbao/go-kms-wrapping/wrappers/$m/v2=$kms/wrappers/$m")
	done
	mkdir -p "$(dirname "$BAO")"
	echo "building bao $BAO_TAG (about 9 minutes and 3.3 GB the first time)…"
	(cd "$src" && CGO_ENABLED=0 GOFLAGS=-mod=mod $GO build -trimpath -o "$BAO" .)
}

[ -x "$BAO" ] || build_bao

# A devstack in memory on free ports; its endpoints land in a JSON file when ready.
$GO build -o "$WORK/stratum" ./cmd/stratum
"$WORK/stratum" dev --mem --ephemeral-ports --endpoints-file "$WORK/endpoints.json" >"$WORK/dev.log" 2>&1 &
STACK_PID=$!
for _ in $(seq 1 120); do
	[ -s "$WORK/endpoints.json" ] && break
	kill -0 "$STACK_PID" 2>/dev/null || { cat "$WORK/dev.log"; echo "devstack died"; exit 1; }
	sleep 1
done
VAULT_ADDR=$(sed -n 's/.*"vault": *"\([^"]*\)".*/\1/p' "$WORK/endpoints.json")
[ -n "$VAULT_ADDR" ] || { echo "no vault gateway in $WORK/endpoints.json"; exit 1; }
export VAULT_ADDR BAO_ADDR="$VAULT_ADDR"
unset VAULT_TOKEN BAO_TOKEN || true

FAILED=0
# run WANT_EXIT PATTERN CMD...: CMD must exit WANT_EXIT and print (stdout or
# stderr) something matching the extended regexp PATTERN ("" for anything).
run() {
	want=$1 pattern=$2
	shift 2
	set +e
	out=$("$@" 2>&1)
	code=$?
	set -e
	if [ "$code" -ne "$want" ] || { [ -n "$pattern" ] && ! printf '%s' "$out" | grep -Eq -- "$pattern"; }; then
		FAILED=$((FAILED + 1))
		printf 'FAIL  %s (exit %s, want %s%s)\n%s\n' "$*" "$code" "$want" "${pattern:+, /$pattern/}" "$out" | sed 's/^/      /'
	else
		printf 'ok    %s\n' "$*"
	fi
	LAST=$out
}

# Seal and unseal, as unseal scripts do.
run 0 '"root_token"' "$BAO" operator init -key-shares=1 -key-threshold=1 -format=json
KEY=$(printf '%s' "$LAST" | tr -d '\n ' | sed -n 's/.*"unseal_keys_b64":\["\([^"]*\)".*/\1/p')
ROOT_TOKEN=$(printf '%s' "$LAST" | tr -d '\n ' | sed -n 's/.*"root_token":"\([^"]*\)".*/\1/p')
run 2 'Sealed +true' "$BAO" status
run 0 'Sealed +false' "$BAO" operator unseal "$KEY"
run 0 'Sealed +false' "$BAO" status
export VAULT_TOKEN="$ROOT_TOKEN" BAO_TOKEN="$ROOT_TOKEN"

# Every kv command: each starts with the sys/internal/ui/mounts preflight.
run 0 'Success' "$BAO" secrets enable -path=secret -version=2 kv
run 0 'version +1' "$BAO" kv put secret/app/db password=hunter2 user=app
run 0 'password +hunter2' "$BAO" kv get secret/app/db
run 0 'user +ops' sh -c "'$BAO' kv patch secret/app/db user=ops >/dev/null && '$BAO' kv get secret/app/db"
run 0 'version +3' "$BAO" kv patch -method=rw secret/app/db user=rw
run 0 'db' "$BAO" kv list secret/app
run 0 'current_version +3' "$BAO" kv metadata get secret/app/db
run 0 'Success' "$BAO" kv metadata put -max-versions=5 -custom-metadata=owner=ops secret/app/db
run 0 'Success' "$BAO" kv metadata patch -custom-metadata=team=pay secret/app/db
run 0 'team:pay' "$BAO" kv metadata get secret/app/db
run 0 'Success' "$BAO" kv delete secret/app/db
run 0 'Success' "$BAO" kv undelete -versions=3 secret/app/db
run 0 'version +4' "$BAO" kv rollback -version=1 secret/app/db
run 0 'Success' "$BAO" kv destroy -versions=2 secret/app/db
run 0 'destroyed +true' "$BAO" kv get -version=2 secret/app/db
run 0 '' sh -c "printf '{\"data\":{\"extra\":\"1\"}}' | '$BAO' patch secret/data/app/db -"
run 0 'extra +1' "$BAO" kv get secret/app/db

# Mount tuning, separate from mounting.
run 0 'Success' "$BAO" secrets enable pki
run 0 'Success' "$BAO" secrets tune -max-lease-ttl=87600h pki
run 0 'max_lease_ttl +(87600h|315360000)' "$BAO" read sys/mounts/pki/tune

# HCL policies, capabilities, auth methods, host info.
printf '%s\n' 'path "secret/data/app/*" { capabilities = ["read", "list"] }' \
	'path "secret/data/app/locked" { capabilities = ["deny"] }' >"$WORK/app.hcl"
run 0 'Success' "$BAO" policy write app "$WORK/app.hcl"
run 0 'secret/data/app/locked' "$BAO" policy read app
run 0 '^app$|[[:space:]]app' "$BAO" policy list
run 0 's\.' "$BAO" token create -policy=app -ttl=1h -field=token
APP_TOKEN=$LAST
run 0 'list, read|read, list' "$BAO" token capabilities "$APP_TOKEN" secret/data/app/db
run 0 'deny' "$BAO" token capabilities "$APP_TOKEN" secret/data/app/locked
run 0 'root' "$BAO" token capabilities secret/data/app/db
printf '%s\n' 'path "x" {' '  capabilities = ["create"]' '  allowed_parameters = { "a" = [] }' '}' >"$WORK/bad.hcl"
run 2 'allowed_parameters' "$BAO" policy write bad "$WORK/bad.hcl"
run 0 'token/' "$BAO" auth list
run 0 'hostname' "$BAO" read sys/host-info

# Tokens: exact TTLs, periodic tokens, renewals, a bogus token.
run 0 'token_duration +1h' "$BAO" token create -ttl=1h
run 0 'token_duration +30m' "$BAO" token create -period=30m
run 0 '^s\.' "$BAO" token create -ttl=1h -field=token
T=$LAST
run 0 'token_duration +2h' "$BAO" token renew -increment=2h "$T"
run 0 'token_duration +2h' "$BAO" token renew "$T"
run 2 'bad token|permission denied' "$BAO" token lookup s.bogus

# Transit through the generic verbs.
run 0 'Success' "$BAO" secrets enable transit
run 0 'type +aes256-gcm96' "$BAO" write transit/keys/orders type=aes256-gcm96   # OpenBao answers with the key, not Success
run 0 'vault:v1:' "$BAO" write -field=ciphertext transit/encrypt/orders plaintext=aGVsbG8=

# AppRole: how machines log in.
run 0 'Success' "$BAO" auth enable approle
run 0 'approle/' "$BAO" auth list
run 0 'Success' "$BAO" write auth/approle/role/web token_policies=app token_ttl=1h secret_id_num_uses=5
run 0 '' "$BAO" read -field=role_id auth/approle/role/web/role-id
ROLE_ID=$LAST
run 0 '' "$BAO" write -f -field=secret_id auth/approle/role/web/secret-id
SECRET_ID=$LAST
run 0 'token_policies +\[.*app.*default' "$BAO" write auth/approle/login role_id="$ROLE_ID" secret_id="$SECRET_ID"
run 2 'invalid role or secret ID' "$BAO" write auth/approle/login role_id="$ROLE_ID" secret_id=wrong
run 0 'Success' "$BAO" auth disable approle
run 2 'invalid role or secret ID|no handler' "$BAO" write auth/approle/login role_id="$ROLE_ID" secret_id="$SECRET_ID"

# The same commands with -format=json against an OpenBao dev server: each
# must exit with OpenBao's code and answer with OpenBao's keys (a value's
# keys too, down the tree; maps of user data are not compared). Extensions
# of this vault are allowed: KEYS_EXTRA lists them.
KEYS_EXTRA='.data.post_quantum'
# keys OUT: the exit code and key paths of each command of the list.
keys() {
	out=$1
	: >"$out"
	"$BAO" secrets enable -path=cmp -version=2 kv >/dev/null 2>&1
	"$BAO" secrets enable -path=cmp-pki pki >/dev/null 2>&1
	"$BAO" secrets enable -path=cmp-transit transit >/dev/null 2>&1
	printf 'path "cmp/data/app/*" { capabilities = ["read", "list"] }\n' >"$WORK/cmp.hcl"
	while IFS= read -r line; do
		[ -n "$line" ] || continue
		printf '== %s\n' "$line" >>"$out"
		# shellcheck disable=SC2086
		set +e
		res=$(BAO_FORMAT=json VAULT_FORMAT=json "$BAO" $line 2>/dev/null)
		printf 'exit %s\n' "$?" >>"$out"
		set -e
		printf '%s' "$res" | node -e '
let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
  let v; try { v = JSON.parse(s); } catch { return; }
  const skip = /^(custom_metadata|versions|keys|meta)$/;
  const walk = (x, p) => { if (x && typeof x === "object" && !Array.isArray(x)) for (const k of Object.keys(x).sort()) {
    if (k.includes("/")) continue; console.log(p + "." + k); if (!skip.test(k)) walk(x[k], p + "." + k); } };
  walk(v, "");
});' >>"$out"
	done <<-EOF
	kv put cmp/app/db password=hunter2 user=app
	kv get cmp/app/db
	kv patch cmp/app/db user=ops
	kv metadata get cmp/app/db
	kv delete cmp/app/db
	kv undelete -versions=2 cmp/app/db
	kv rollback -version=1 cmp/app/db
	kv destroy -versions=2 cmp/app/db
	kv get -version=2 cmp/app/db
	kv list cmp/app
	secrets tune -max-lease-ttl=87600h cmp-pki
	read sys/mounts/cmp-pki/tune
	read sys/mounts/cmp/tune
	policy write cmp $WORK/cmp.hcl
	policy read cmp
	token create -policy=cmp -ttl=1h
	token create -period=30m
	token capabilities cmp/data/app/db
	token lookup s.bogus
	auth list
	read sys/leader
	write cmp-transit/keys/orders type=aes256-gcm96
	read cmp-transit/keys/orders
	write cmp-transit/encrypt/orders plaintext=aGVsbG8=
	policy delete default
	policy delete root
	auth enable approle
	write auth/approle/role/cmp token_policies=cmp token_ttl=1h
	read auth/approle/role/cmp
	read auth/approle/role/cmp/role-id
	write -f auth/approle/role/cmp/secret-id
	write auth/approle/login role_id=nope secret_id=nope
	EOF
}
keys "$WORK/ours.keys"
BAO_PORT=$((20000 + $$ % 20000))
"$BAO" server -dev -dev-root-token-id=compat-root -dev-listen-address="127.0.0.1:$BAO_PORT" >"$WORK/openbao.log" 2>&1 &
OPENBAO_PID=$!
(
	export VAULT_ADDR="http://127.0.0.1:$BAO_PORT" BAO_ADDR="http://127.0.0.1:$BAO_PORT" VAULT_TOKEN=compat-root BAO_TOKEN=compat-root
	for _ in $(seq 1 30); do "$BAO" status >/dev/null 2>&1 && break; sleep 1; done
	keys "$WORK/openbao.keys"
)
kill "$OPENBAO_PID" 2>/dev/null || true
wait "$OPENBAO_PID" 2>/dev/null || true
for extra in $KEYS_EXTRA; do
	grep -vxF -- "$extra" "$WORK/ours.keys" >"$WORK/ours.tmp" || true
	mv "$WORK/ours.tmp" "$WORK/ours.keys"
done
if diff -u "$WORK/openbao.keys" "$WORK/ours.keys" >"$WORK/keys.diff"; then
	printf 'ok    %s commands: exit codes and JSON keys as OpenBao'"'"'s\n' "$(grep -c '^==' "$WORK/ours.keys")"
else
	FAILED=$((FAILED + 1))
	printf 'FAIL  exit codes or JSON keys differ from OpenBao'"'"'s (- OpenBao, + this vault):\n'
	sed 's/^/      /' "$WORK/keys.diff"
fi

run 0 'Success' "$BAO" operator seal
run 2 'Sealed +true' "$BAO" status

echo
if [ "$FAILED" -ne 0 ]; then
	echo "compat: $FAILED command(s) did not behave as against OpenBao"
	exit 1
fi
echo "compat: every bao command behaved as against OpenBao"
