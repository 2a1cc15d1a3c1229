# shellcheck shell=bash disable=SC1091
# Real services for the CLI tests: a Docker Distribution registry on loopback
# and a private Docker daemon on a unix socket, plus the image fixtures.
# Source it after tests/lib.sh:
#
#     source "$FERRY_ROOT/tests/lib.sh"
#     source "$FERRY_ROOT/tests/services.sh"
#     start_registry || { skip "$SVC_WHY"; exit 0; }
#
# Call the start_* functions directly, never inside $(...): they export
# variables and register their stop with at_exit in the calling shell.
# Each returns non-zero when its service cannot start, after printing why on
# stderr and leaving the reason in $SVC_WHY.
#
# It also works standalone (tests/fixtures/*.sh): if lib.sh was not sourced,
# it brings its own $T, at_exit and free_port.

if ! declare -F at_exit >/dev/null; then
	T=$(mktemp -d "${TMPDIR:-/tmp}/ferry-svc.XXXXXX")
	_cleanups=()
	at_exit() { _cleanups+=("$1"); }
	_svc_run_cleanups() {
		local i
		for ((i = ${#_cleanups[@]} - 1; i >= 0; i--)); do eval "${_cleanups[$i]}" || true; done
		_svc_rmdir "$T"
	}
	trap _svc_run_cleanups EXIT
	trap 'exit 130' INT TERM
	free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
fi

# _svc_rmdir DIR: removes a temporary directory. Failing to is a warning, never
# a failed step: the work it held is done (a mount a daemon left behind in a
# chroot made `rm -rf` fail after every fixture had been written).
_svc_rmdir() {
	rm -rf "$1" 2>/dev/null && return 0
	echo "services: warning: could not remove the temporary directory $1 (left in place)" >&2
	return 0
}

# The reason the last start_* or need_fixtures failed, for skip.
export SVC_WHY=''
_svc_fail() { SVC_WHY=$*; echo "services: $*" >&2; return 1; }

# _svc_stop PID [SECONDS]: SIGTERM, wait up to SECONDS (default 10), then SIGKILL.
_svc_stop() {
	local pid=$1 n=$((${2:-10} * 10))
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
	kill -TERM "$pid" 2>/dev/null
	while [ $n -gt 0 ] && kill -0 "$pid" 2>/dev/null; do sleep 0.1; n=$((n - 1)); done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

# _svc_http_code URL [CURL ARGS...]: the HTTP status, or 000 when nothing answers.
_svc_http_code() {
	local url=$1; shift
	curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$@" "$url" 2>/dev/null || true
}

# ---------------------------------------------------------------- registry

# start_registry [--htpasswd USER:PASS] [--tls]
# Starts `docker-registry serve` (Docker Distribution 2.8) on a free loopback
# port, storage under $T. Exports:
#   REG_PORT, REG_ADDR (127.0.0.1:PORT), REG_URL (http://REG_ADDR, or https),
#   REG_DATA (storage root dir), REG_DIR (config, log), REG_LOG (its log,
#   with the access log: one line per request), REG_PID;
#   with --htpasswd also REG_USER, REG_PASS, REG_HTPASSWD (bcrypt file);
#   with --tls (HTTPS with a throw-away CA; server cert for IP 127.0.0.1 and
#   localhost) also REG_CACERT (the CA, for --cacert) and REG_CERTDIR (a
#   directory holding it as ca.crt, for skopeo --dest-cert-dir/--cert-dir).
# Stopped on exit. Calling it twice starts a second registry (variables then
# describe the newest one).
start_registry() {
	local user='' pass='' tls='' scheme=http _try port dir code n
	SVC_WHY=''
	while [ $# -gt 0 ]; do
		case $1 in
		--htpasswd)
			if [ $# -lt 2 ] || [[ $2 != *:* ]]; then _svc_fail "start_registry: --htpasswd USER:PASS"; return 2; fi
			user=${2%%:*} pass=${2#*:}; shift 2 ;;
		--tls) tls=1 scheme=https; shift ;;
		*) _svc_fail "start_registry: unknown option $1"; return 2 ;;
		esac
	done
	command -v docker-registry >/dev/null || { _svc_fail "registry: docker-registry not installed (scripts/install-deps.sh)"; return 1; }
	command -v curl >/dev/null || { _svc_fail "registry: curl not installed (scripts/install-deps.sh)"; return 1; }
	if [ -n "$user" ]; then
		command -v htpasswd >/dev/null || { _svc_fail "registry: htpasswd not installed (apache2-utils)"; return 1; }
	fi
	if [ -n "$tls" ]; then
		command -v openssl >/dev/null || { _svc_fail "registry: openssl not installed"; return 1; }
	fi

	# A free port can be taken between the probe and the bind: retry.
	for _try in 1 2 3; do
		port=$(free_port) || { _svc_fail "registry: no free port"; return 1; }
		dir=$T/registry-$port
		mkdir -p "$dir/data" || { _svc_fail "registry: cannot create $dir"; return 1; }
		{
			echo "version: 0.1"
			echo "log: {level: info, formatter: text, fields: {service: registry}}"
			echo "storage:"
			echo "  filesystem: {rootdirectory: $dir/data}"
			echo "  delete: {enabled: true}"
			echo "  maintenance: {uploadpurging: {enabled: false}}"
			echo "http:"
			echo "  addr: 127.0.0.1:$port"
			echo "  secret: ferry-test-secret-$port"
			echo "  headers: {X-Content-Type-Options: [nosniff]}"
		} >"$dir/config.yml"
		# under http: (before auth:, which would otherwise take it)
		if [ -n "$tls" ]; then
			_svc_mkcert "$dir/tls" || { _svc_fail "registry: cannot make a test certificate: $(tail -2 "$dir/tls/openssl.log" | tr '\n' ' ')"; return 1; }
			echo "  tls: {certificate: $dir/tls/server.crt, key: $dir/tls/server.key}" >>"$dir/config.yml"
		fi
		if [ -n "$user" ]; then
			htpasswd -Bbc "$dir/htpasswd" "$user" "$pass" >/dev/null 2>&1 ||
				{ _svc_fail "registry: htpasswd -B failed"; return 1; }
			{
				echo "auth:"
				echo "  htpasswd: {realm: ferry-test-registry, path: $dir/htpasswd}"
			} >>"$dir/config.yml"
		fi
		docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 </dev/null &
		REG_PID=$!
		# Ready when /v2/ answers: 200 without auth, 401 with auth.
		code=000
		for ((n = 0; n < 100; n++)); do
			kill -0 "$REG_PID" 2>/dev/null || break
			code=$(_svc_http_code "$scheme://127.0.0.1:$port/v2/" --cacert "$dir/tls/ca.crt")
			[ "$code" = 200 ] || [ "$code" = 401 ] && break
			sleep 0.1
		done
		if [ "$code" = 200 ] || [ "$code" = 401 ]; then
			at_exit "_svc_stop $REG_PID 5"
			unset REG_USER REG_PASS REG_HTPASSWD REG_CACERT REG_CERTDIR
			export REG_PORT=$port REG_ADDR=127.0.0.1:$port REG_URL=$scheme://127.0.0.1:$port
			export REG_DATA=$dir/data REG_DIR=$dir REG_LOG=$dir/log REG_PID
			if [ -n "$user" ]; then
				export REG_USER=$user REG_PASS=$pass REG_HTPASSWD=$dir/htpasswd
			fi
			if [ -n "$tls" ]; then
				export REG_CACERT=$dir/tls/ca.crt REG_CERTDIR=$dir/tls/certdir
			fi
			return 0
		fi
		grep -q 'address already in use' "$dir/log" && { _svc_stop "$REG_PID" 2; continue; }
		if kill -0 "$REG_PID" 2>/dev/null; then
			_svc_fail "registry: no answer on $scheme://127.0.0.1:$port/v2/ within 10 s (HTTP $code); log: $(tail -3 "$dir/log" | tr '\n' ' ')"
		else
			_svc_fail "registry: exited during start; log: $(tail -3 "$dir/log" | tr '\n' ' ')"
		fi
		_svc_stop "$REG_PID" 2
		return 1
	done
	_svc_fail "registry: could not bind a free port (3 tries)"
	return 1
}

# _svc_mkcert DIR: a throw-away CA (DIR/ca.crt, also DIR/certdir/ca.crt) and a
# server certificate signed by it for 127.0.0.1 and localhost (DIR/server.*).
_svc_mkcert() {
	local d=$1
	mkdir -p "$d/certdir"
	{
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
			-subj "/CN=ferry test CA" -keyout "$d/ca.key" -out "$d/ca.crt" \
			-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign &&
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-subj "/CN=127.0.0.1" -keyout "$d/server.key" -out "$d/server.csr" &&
		printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$d/ext" &&
		openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
			-days 2 -extfile "$d/ext" -out "$d/server.crt" &&
		cp "$d/ca.crt" "$d/certdir/ca.crt"
	} >"$d/openssl.log" 2>&1
}

# ---------------------------------------------------------------- dockerd

# start_dockerd
# Starts a private Docker daemon (vfs storage, no iptables, no bridge) with its
# own data-root under $T and its exec-root and socket under a short /tmp path
# (unix socket paths are limited to 108 bytes). It starts its own containerd
# (a child process), with its own containerd namespace. Exports:
#   DOCKER_HOST (unix://SOCK), DOCKER_SOCK, DOCKERD_PID, DOCKERD_LOG,
#   DOCKERD_ROOT (data-root), DOCKERD_EXEC (exec-root).
# Containers have no network: run them with `--network none`.
# Stopped on exit, with its containerd and shims.
start_dockerd() {
	local run root n ok=
	SVC_WHY=''
	[ "$(id -u)" -eq 0 ] || { _svc_fail "dockerd: needs root (running as uid $(id -u))"; return 1; }
	command -v dockerd >/dev/null || { _svc_fail "dockerd: not installed (docker.io, scripts/install-deps.sh)"; return 1; }
	command -v docker >/dev/null || { _svc_fail "dockerd: docker client not installed"; return 1; }
	command -v containerd >/dev/null || { _svc_fail "dockerd: containerd not installed"; return 1; }

	run=$(mktemp -d /tmp/fdk.XXXXXX) || { _svc_fail "dockerd: mktemp /tmp failed"; return 1; }
	root=$T/dockerd
	mkdir -p "$root" "$run/x"
	echo '{}' >"$run/daemon.json"
	# Registered first so that it runs last: remove the short dir after the stop.
	at_exit "_svc_rmdir '$run'"
	dockerd --config-file "$run/daemon.json" \
		--data-root "$root" --exec-root "$run/x" --pidfile "$run/pid" \
		-H "unix://$run/d.sock" \
		--containerd-namespace "ferry$$" --containerd-plugins-namespace "ferry$$p" \
		--storage-driver vfs --iptables=false --ip6tables=false --bridge=none \
		--userland-proxy=false --log-level warn \
		>"$run/log" 2>&1 </dev/null &
	DOCKERD_PID=$!
	at_exit "_svc_stop_dockerd $DOCKERD_PID '$run' '$root'"
	for ((n = 0; n < 300; n++)); do
		kill -0 "$DOCKERD_PID" 2>/dev/null || break
		if [ -S "$run/d.sock" ] && DOCKER_HOST=unix://$run/d.sock timeout 5 docker version >/dev/null 2>&1; then
			ok=1; break
		fi
		sleep 0.1
	done
	if [ -z "$ok" ]; then
		if kill -0 "$DOCKERD_PID" 2>/dev/null; then
			_svc_fail "dockerd: no answer on $run/d.sock within 30 s; log: $(tail -3 "$run/log" | tr '\n' ' ')"
		else
			_svc_fail "dockerd: exited during start; log: $(grep -E 'level=(error|fatal)|failed' "$run/log" | tail -3 | tr '\n' ' ')"
		fi
		return 1
	fi
	export DOCKER_HOST=unix://$run/d.sock DOCKER_SOCK=$run/d.sock
	export DOCKERD_PID DOCKERD_LOG=$run/log DOCKERD_ROOT=$root DOCKERD_EXEC=$run/x
	return 0
}

# _svc_stop_dockerd PID RUNDIR DATAROOT: stops the daemon, then anything left
# that belongs to it (its containerd, shims: processes whose command line
# names its own exec-root), then unmounts what it left mounted.
_svc_stop_dockerd() {
	local pid=$1 run=$2 root=$3 kids='' p m
	[ -r "/proc/$pid/task/$pid/children" ] && kids=$(cat "/proc/$pid/task/$pid/children" 2>/dev/null)
	_svc_stop "$pid" 20
	for p in $kids $(_svc_pids_mentioning "$run/"); do
		kill -0 "$p" 2>/dev/null || continue
		kill -TERM "$p" 2>/dev/null
	done
	sleep 0.2
	for p in $kids $(_svc_pids_mentioning "$run/"); do
		kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
	done
	# Mounts left in its directories (container shm, overlay of a crash), deepest
	# first, and the directories themselves: dockerd bind-mounts its data root onto
	# itself, and in a chroot with its own mount namespace that mount outlives it.
	while read -r _ m _; do
		case $m in "$root" | "$root"/* | "$run" | "$run"/*) umount -l "$m" 2>/dev/null ;; esac
	done < <(sort -r -k2 /proc/mounts)
	return 0
}

# _svc_pids_mentioning STRING: pids whose command line contains STRING. Read
# with builtins only: a fork per process made a stop take seconds on a busy machine.
_svc_pids_mentioning() {
	local d
	local -a args
	for d in /proc/[0-9]*; do
		{ mapfile -d '' -t args <"$d/cmdline"; } 2>/dev/null || continue
		case "${args[*]}" in *"$1"*) echo "${d#/proc/}" ;; esac
	done
}

# ---------------------------------------------------------------- fixtures

# need_fixtures [debian]
# Makes sure the image fixtures exist (tests/fixtures/mkimages.sh, cached in
# ${FERRY_FIXTURES:-$FERRY_ROOT/tests/.fixtures}) and loads expected.env.
# Exports FX (the directory holding app-a.docker.tar etc.) and every key of
# expected.env. With "debian", also the debootstrap image (FX_DEBIAN dir with
# debian.docker.tar; slow the first time).
need_fixtures() {
	local base=${FERRY_FIXTURES:-${FERRY_ROOT:?}/tests/.fixtures} log
	SVC_WHY=''
	log=$T/mkimages.log
	# Their own private daemon (env -u DOCKER_HOST), whatever the test runs.
	if ! env -u DOCKER_HOST bash "$FERRY_ROOT/tests/fixtures/mkimages.sh" "$base/images" >"$log" 2>&1; then
		_svc_fail "fixtures: mkimages.sh failed: $(tail -3 "$log" | tr '\n' ' ')"
		return 1
	fi
	export FX=$base/images
	set -a
	# shellcheck disable=SC1091
	. "$FX/expected.env"
	set +a
	if [ "${1:-}" = debian ]; then
		log=$T/mkdebian.log
		if ! env -u DOCKER_HOST bash "$FERRY_ROOT/tests/fixtures/mkdebian.sh" "$base/debian" >"$log" 2>&1; then
			_svc_fail "fixtures: mkdebian.sh failed: $(tail -3 "$log" | tr '\n' ' ')"
			return 1
		fi
		export FX_DEBIAN=$base/debian
		set -a
		. "$FX_DEBIAN/expected.env"
		set +a
	fi
	return 0
}
