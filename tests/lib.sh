# Sourced by every tests/cli/*.sh. Gives each script a temp dir ($T), the two
# programs ($PACK, $LOAD) and assertions that record into $FERRY_RESULTS.
set -u
: "${FERRY_BIN:?run through tests/run.sh or make check}"
PACK=$FERRY_BIN/ferry-pack
FERRY_RESULTS=${FERRY_RESULTS:-/dev/null}
T=$(mktemp -d "${TMPDIR:-/tmp}/ferry-test.XXXXXX")
# load and extract remember the sequences they loaded (rollback protection): never in
# the machine's /var/lib/ferry. $LOAD gives every run a state file of its own, so
# tests that load older builds of a bundle after newer ones are not refused as
# rollbacks; 47-rollback.sh passes --state to test the state itself.
export FERRY_STATE=$T/state.json
mkdir -p "$T/bin" "$T/states"
printf '#!/bin/sh\nFERRY_STATE="%s/states/$$.json" exec "%s/ferry-load" "$@"\n' "$T" "$FERRY_BIN" >"$T/bin/ferry-load"
chmod +x "$T/bin/ferry-load"
LOAD=$T/bin/ferry-load
_cleanups=()
at_exit() { _cleanups+=("$1"); }
_run_cleanups() {
	local i
	for ((i = ${#_cleanups[@]} - 1; i >= 0; i--)); do eval "${_cleanups[$i]}" || true; done
	rm -rf "$T"
}
trap _run_cleanups EXIT

pass() { echo "ok - $*"; echo pass >>"$FERRY_RESULTS"; }
fail() { echo "not ok - $*"; echo fail >>"$FERRY_RESULTS"; }
skip() { echo "skip - $*"; echo skip >>"$FERRY_RESULTS"; }

# run CMD...: runs it with stdout in $T/out, stderr in $T/err, code in $RC.
run() { "$@" >"$T/out" 2>"$T/err"; RC=$?; }

# expect CODE DESC CMD...: passes when CMD exits with CODE.
expect() {
	local code=$1 desc=$2; shift 2
	run "$@"
	if [ "$RC" -eq "$code" ]; then pass "$desc"; else
		fail "$desc (exit $RC, wanted $code)"; sed 's/^/#   /' "$T/err" | head -15
	fi
}

# expect_err CODE REGEX DESC CMD...: exit CODE and stderr matching REGEX (grep -E).
expect_err() {
	local code=$1 re=$2 desc=$3; shift 3
	run "$@"
	if [ "$RC" -eq "$code" ] && grep -Eq -- "$re" "$T/err"; then pass "$desc"; else
		fail "$desc (exit $RC, wanted $code and /$re/)"; sed 's/^/#   /' "$T/err" | head -15
	fi
}

# assert DESC CMD...: passes when CMD succeeds (a shell test, a grep, ...).
assert() {
	local desc=$1; shift
	if "$@" >"$T/assert.out" 2>&1; then pass "$desc"; else fail "$desc"; sed "s/^/#   /" "$T/assert.out" | head -10; fi
}

# A throw-away GnuPG home with an unprotected test key; sets GNUPGHOME, FPR, KEYRING.
new_gpg_home() {
	export GNUPGHOME=$T/gnupg${1:-}
	mkdir -p "$GNUPGHOME"; chmod 700 "$GNUPGHOME"
	at_exit "gpgconf --homedir '$GNUPGHOME' --kill all >/dev/null 2>&1"
	"$PACK" keygen --pgp --name "Ferry Test${1:-} <test${1:-}@ferry.invalid>" --export "$T/pub${1:-}.asc" >"$T/keygen.out" 2>&1 ||
		{ cat "$T/keygen.out"; return 1; }
	KEYRING=$T/pub${1:-}.asc
	FPR=$(gpg --with-colons --list-secret-keys 2>/dev/null | awk -F: '/^fpr/{print $10; exit}')
}

# Free TCP port on loopback.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
