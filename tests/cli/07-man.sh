# Man pages and bash completion against the programs themselves. The options
# are read from the --help of the binaries under test (each program, each
# verb) with the parser the completion uses, so this stays right when the
# options change:
#   - every option --help offers is documented in the man page (a line of its
#     own, "*--option* _ARG_"), and every option the man page documents is one
#     --help prints;
#   - every verb has its section, every exit code and every environment
#     variable the sources read is documented;
#   - the pages render without a groff warning;
#   - completion offers verbs, options, option values and files by extension.
source "$FERRY_ROOT/tests/lib.sh"
# shellcheck source=../../completions/ferry.bash
source "$FERRY_ROOT/completions/ferry.bash"

command -v scdoc >/dev/null || { skip "scdoc not installed (scripts/install-deps.sh)"; exit 0; }
mkdir -p "$T/man"
for src in "$FERRY_ROOT"/man/*.scd; do
	page=$(basename "$src" .scd)
	expect 0 "man: scdoc builds $page" scdoc <"$src"
	cp "$T/out" "$T/man/$page"
	LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$T/man/$page" >"$T/groff.out" 2>&1
	assert "man: $page renders without groff warnings" test ! -s "$T/groff.out"
done
assert "man: ferry-bundle(5) is rendered by man" \
	bash -c 'MANWIDTH=80 man -l "$1" 2>/dev/null | grep -q "SHA256SUMS.asc"' _ "$T/man/ferry-bundle.5"

# help_options PROGRAM [all]: the options --help of PROGRAM and of each of its
# verbs offers (or, with "all", every option it prints), sorted, one a line.
help_options() {
	local prog=$1 verb
	{
		_ferry_help_parse "$prog"
		while IFS= read -r verb; do
			# shellcheck disable=SC2086 # "license issue" is two words
			_ferry_help_parse "$prog" $verb
		done < <(_ferry_verbs "$prog")
	} | awk -v all="${2:-}" 'all != "" || $3 == 1 { print $1 }' | sort -u
}

# man_options PAGE.scd: the options the page documents (definition lines).
man_options() {
	grep -E '^\*-' "$1" | grep -oE '\*--?[A-Za-z][A-Za-z0-9-]*' | tr -d '*' | sort -u
}

# compare PROGRAM PAGE.scd: prints what is in one and not the other; silent when equal.
compare() {
	local prog=$1 page=$2
	help_options "$prog" >"$T/help.def"
	help_options "$prog" all >"$T/help.all"
	man_options "$page" >"$T/man.def"
	comm -23 "$T/help.def" "$T/man.def" | sed 's/^/--help offers, the man page lacks: /'
	comm -13 "$T/help.all" "$T/man.def" | sed 's/^/the man page documents, --help never prints: /'
}

for prog in ferry-pack ferry-load; do
	bin=$FERRY_BIN/$prog
	scd=$FERRY_ROOT/man/$prog.1.scd
	help_options "$bin" >"$T/n"
	assert "$prog: --help offers options (parser sanity: at least 15)" test "$(wc -l <"$T/n")" -ge 15
	compare "$bin" "$scd" >"$T/diff"
	assert "$prog: the options of --help and of $prog(1) are the same" test ! -s "$T/diff"
	sed 's/^/#   /' "$T/diff"
	while IFS= read -r verb; do
		assert "$prog(1): has a section for the verb '$verb'" grep -qxF "## $verb" "$scd"
	done < <(_ferry_verbs "$bin")
	codes=$("$bin" --help | sed -n 's/^Exit: //p' | grep -oE '(^|, )[0-9]+' | tr -dc '0-9\n')
	assert "$prog: --help names exit codes" test -n "$codes"
	for c in $codes; do
		assert "$prog(1): documents exit code $c" \
			bash -c 'sed -n "/^# EXIT STATUS/,/^# /p" "$1" | grep -qx "\*$2\*"' _ "$scd" "$c"
	done
done

# The comparison can fail: a page without --jobs and --dry-run is caught.
grep -vE '^\*--(jobs|dry-run)\*' "$FERRY_ROOT/man/ferry-load.1.scd" >"$T/broken.scd"
compare "$FERRY_BIN/ferry-load" "$T/broken.scd" >"$T/diff"
assert "man check: a page that lacks --jobs and --dry-run is reported" \
	bash -c 'grep -q "lacks: --jobs" "$1" && grep -q "lacks: --dry-run" "$1"' _ "$T/diff"
printf '*--no-such-option*\n\tNothing.\n' >>"$T/broken.scd"
compare "$FERRY_BIN/ferry-load" "$T/broken.scd" >"$T/diff"
assert "man check: an option the page invents is reported" grep -q 'never prints: --no-such-option' "$T/diff"

# Every environment variable the sources read is in ENVIRONMENT of a page.
envs=$(grep -rhoE 'getenv\("[A-Z_]+"\)' "$FERRY_ROOT/src" | sed -E 's/getenv\("([A-Z_]+)"\)/\1/' | sort -u)
assert "sources: getenv found (parser sanity)" test -n "$envs"
for v in $envs; do
	assert "man: $v is documented under ENVIRONMENT" bash -c '
		for p in "$@"; do sed -n "/^# ENVIRONMENT/,/^# /p" "$p"; done | grep -qx "\*$0\*"' \
		"$v" "$FERRY_ROOT"/man/ferry-pack.1.scd "$FERRY_ROOT"/man/ferry-load.1.scd
done

# ---- bash completion
mkdir -p "$T/c/sub" && cd "$T/c" || exit 1
touch a.ferry b.ferry.000 b.ferry.parts spec.yaml spec2.yml keys.asc acme.lic license.pub \
	license.key ca.pem notes.txt map.json
# complete_line "LINE": what completion offers at the end of LINE, as bash sets it up.
complete_line() {
	COMP_LINE=$1 COMP_POINT=${#1}
	read -r -a COMP_WORDS <<<"$1"
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	[[ $1 == *' ' ]] && COMP_CWORD=${#COMP_WORDS[@]}
	COMPREPLY=()
	_ferry "${COMP_WORDS[0]}" 2>/dev/null
	printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}
# offers "LINE" "EXPECTED": the offer equals EXPECTED (sorted, space-separated).
offers() {
	local got
	got=$(PATH=$FERRY_BIN:$PATH complete_line "$1")
	if [ "$got" = "$2" ]; then pass "completion: '$1' offers $2"; else
		fail "completion: '$1' offers '$got', wanted '$2'"
	fi
}
complete -p ferry-pack ferry-load >"$T/complete-p" 2>&1
assert "completion: complete -p ferry-pack names _ferry" grep -qx 'complete -F _ferry ferry-pack' "$T/complete-p"
assert "completion: complete -p ferry-load names _ferry" grep -qx 'complete -F _ferry ferry-load' "$T/complete-p"
offers "ferry-pack " "--help --version build keygen license"
offers "ferry-load " "--help --version extract inspect license load report rewrite sbom serve verify"
offers "ferry-load license " "--help verify"
offers "ferry-load ver" "verify"
offers "ferry-pack build " "spec.yaml spec2.yml sub"
offers "ferry-load verify " "a.ferry b.ferry.000 b.ferry.parts sub"
offers "ferry-load license verify " "acme.lic sub"
offers "ferry-load verify a.ferry --keyring " "keys.asc sub"
offers "ferry-load verify a.ferry --keyring=" "keys.asc sub"
offers "ferry-load license verify acme.lic --pubkey " "ca.pem license.key license.pub sub"
offers "ferry-load extract a.ferry -C " "sub"
offers "ferry-load serve " "a.ferry sub"
offers "ferry-load serve a.ferry --tls-" "--tls-cert --tls-key"
offers "ferry-load serve a.ferry --tls-key " "ca.pem license.key sub"
offers "ferry-pack build spec.yaml --compress " "none zstd"
offers "ferry-pack build spec.yaml --layer-compression z" "zstd"
offers "ferry-pack build spec.yaml -o " "a.ferry sub"
offers "ferry-load load a.ferry --to " "docker:// docker://tcp:// docker://unix:// oci: registry://"
offers "ferry-load load a.ferry --to oci:s" "sub/"
offers "ferry-load load a.ferry --dry" "--dry-run"
offers "ferry-load inspect a.ferry --" "--charts-path --help --image --image-map --json --keep-registry-host --keyring --now --state --to"
offers "ferry-load load a.ferry --image-map " "map.json spec.yaml spec2.yml sub"
offers "ferry-load rewrite " "spec.yaml spec2.yml sub"
offers "ferry-load rewrite spec.yaml --map " "map.json spec.yaml spec2.yml sub"
offers "ferry-load load a.ferry --state " "map.json sub"
offers "ferry-load rewrite spec.yaml --pin" "--pin-digest"
offers "ferry-load sbom " "a.ferry b.ferry.000 b.ferry.parts sub"
offers "ferry-load sbom a.ferry --format " "cyclonedx spdx table"
offers "ferry-load report a.ferry --against " "a.ferry b.ferry.000 b.ferry.parts sub"
offers "ferry-pack keygen --" "--export --help --license --name --pgp --rsa"
# Every option completion offers for a verb is one ferry accepts there.
got=$(PATH=$FERRY_BIN:$PATH complete_line "ferry-pack build spec.yaml --")
assert "completion: build options come from build --help (no --allow-unsigned from its prose)" \
	bash -c '[[ " $1 " == *" --zstd-level "* && " $1 " != *" --allow-unsigned "* ]]' _ "$got"
