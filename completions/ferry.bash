# bash completion for ferry-pack and ferry-load                -*- shell-script -*-
#
# Verbs and options are read from the --help of the program being completed,
# so they match the version installed; file arguments are completed by their
# extension. Installed as share/bash-completion/completions/ferry-pack and
# ferry-load (bash-completion loads it by command name). The same parser
# checks the man pages against --help (tests/cli/07-man.sh).

# _ferry_help_parse CMD [VERB...]: every option CMD [VERB...] --help prints,
# one a line as "OPTION ARG DEF". ARG is 1 when the help names an argument
# after it ("--output FILE", "--seats N|unlimited", "--compress zstd", and -o
# in "-o, --output FILE"). DEF is 1 where the help offers the option rather
# than mentions it in passing: first on a line (or after "-X, "), on a usage
# line, in brackets, or with its argument ("(--zstd-level N, ...)"); not in
# prose such as "(loaders refuse it without --allow-unsigned)". An option the
# help shows twice is printed twice.
_ferry_help_parse() {
	"$@" --help 2>/dev/null | awk '
	/^usage:/ { usage = 1 }
	/^[^ ]/ && !/^usage:/ { usage = 0 }
	/^$/ { usage = 0 }
	{
		line = " " $0
		lead = 1
		while (match(line, /[] [,|("]--?[A-Za-z][A-Za-z0-9-]*/)) {
			before = substr(line, 1, RSTART)
			opt = substr(line, RSTART + 1, RLENGTH - 1)
			line = substr(line, RSTART + RLENGTH)
			arg = line ~ /^[ =]("|[A-Z]|[a-z]+(\||  |$))/ ||
			    line ~ /^, --[A-Za-z][A-Za-z0-9-]*[ =]("|[A-Z]|[a-z]+(\||  |$))/
			first = lead && before ~ /^ +$/
			def = usage || first || before ~ /\[$/ || arg
			print opt, (arg ? 1 : 0), (def ? 1 : 0)
			# "-o, --output": the long form is first on the line too
			lead = first && line ~ /^, /
			if (lead) { line = substr(line, 2) }
		}
	}'
}

# _ferry_verbs CMD: the verbs CMD --help lists under "Verbs:", one a line;
# a verb with a subcommand as two words ("license issue").
_ferry_verbs() {
	"$1" --help 2>/dev/null | awk '
	/^Verbs:/ { on = 1; next }
	on && /^$/ { exit }
	on && /^  [a-z]/ { if ($2 ~ /^[a-z]+$/) print $1, $2; else print $1 }'
}

# _ferry_files CUR EXTENSIONS: directories, and files whose name ends in
# .EXT for one of the |-separated EXTENSIONS (a regular expression; empty:
# every file).
_ferry_files() {
	local cur=$1 ext=$2 f IFS=$'\n'
	compopt -o filenames 2>/dev/null
	for f in $(compgen -d -- "$cur"); do COMPREPLY+=("$f"); done
	for f in $(compgen -f -- "$cur"); do
		[ -d "$f" ] && continue
		if [ -z "$ext" ] || [[ $f =~ \.($ext)$ ]]; then COMPREPLY+=("$f"); fi
	done
}

# _ferry_dirs CUR: directories only.
_ferry_dirs() {
	local f IFS=$'\n'
	compopt -o filenames 2>/dev/null
	for f in $(compgen -d -- "$1"); do COMPREPLY+=("$f"); done
}

# _ferry_targets CUR: the --to syntaxes, and directories after oci:.
_ferry_targets() {
	local cur=$1 f IFS=$'\n'
	compopt -o nospace 2>/dev/null
	if [[ $cur == oci:* ]]; then
		for f in $(compgen -d -- "${cur#oci:}"); do COMPREPLY+=("oci:$f/"); done
		return
	fi
	for f in $(compgen -W $'registry://\noci:\ndocker://\ndocker://unix://\ndocker://tcp://' -- "$cur"); do
		COMPREPLY+=("$f")
	done
}

# _ferry_option_value PROGRAM VERB OPTION CUR: the argument of OPTION.
_ferry_option_value() {
	local IFS=$'\n'
	case $1:$2:$3 in
	*:--keyring) _ferry_files "$4" 'asc|gpg|pgp|kbx' ;;
	*:--export) _ferry_files "$4" 'asc' ;;
	*:--key | *:--pubkey | *:--license-pubkey) _ferry_files "$4" 'pem|pub|key' ;;
	*:--cacert | *:--tls-cert) _ferry_files "$4" 'pem|crt|cer' ;;
	*:--tls-key) _ferry_files "$4" 'pem|key' ;;
	*:--htpasswd) _ferry_files "$4" '' ;;
	*:--entitlements) _ferry_files "$4" 'json' ;;
	*:--passphrase-file) _ferry_files "$4" '' ;;
	*:-C | *:--license) _ferry_dirs "$4" ;;
	*:--to | ferry-load:rewrite:--target) _ferry_targets "$4" ;;
	*:--image-map | *:--map) _ferry_files "$4" 'json|yaml|yml' ;;
	*:--state) _ferry_files "$4" 'json' ;;
	*:--compress) COMPREPLY=($(compgen -W $'zstd\nnone' -- "$4")) ;;
	*:--layer-compression) COMPREPLY=($(compgen -W $'gzip\nzstd' -- "$4")) ;;
	*:--format) COMPREPLY=($(compgen -W $'spdx\ncyclonedx\ntable' -- "$4")) ;;
	*:--against) _ferry_files "$4" 'ferry|parts|ferry\.[0-9]+' ;;
	ferry-load:report:-o | ferry-load:report:--output) _ferry_files "$4" 'html|json' ;;
	ferry-pack:build:-o | ferry-pack:build:--output) _ferry_files "$4" 'ferry' ;;
	ferry-pack:license\ issue:-o) _ferry_files "$4" 'lic' ;;
	ferry-load:rewrite:-o | ferry-load:rewrite:--output) _ferry_files "$4" 'yaml|yml' ;;
	esac
}

_ferry() {
	local cmd=$1 prog=${1##*/} line cur prev='' verb sub strip n IFS=$' \t\n'
	local -a words
	COMPREPLY=()
	# The line up to the cursor, in words split at blanks only: bash splits
	# COMP_WORDS at ':' and '=' too, which cuts oci:DIR and --opt=VALUE apart.
	line=${COMP_LINE:0:COMP_POINT}
	read -r -a words <<<"$line"
	if [ ${#words[@]} -eq 0 ] || [[ $line == *[[:space:]] ]]; then words+=(''); fi
	n=${#words[@]}
	cur=${words[n - 1]}
	[ "$n" -ge 2 ] && prev=${words[n - 2]}
	if [[ $cur == -*=* ]]; then
		prev=${cur%%=*} cur=${cur#*=}
	fi

	if [ "$n" -le 2 ]; then
		COMPREPLY=($(compgen -W "$(_ferry_verbs "$cmd" | cut -d' ' -f1) --help --version" -- "$cur"))
		return 0
	fi
	verb=${words[1]}
	sub=$(_ferry_verbs "$cmd" | awk -v v="$verb" '$1 == v && NF == 2 { print $2 }')
	if [ -n "$sub" ]; then
		if [ "$n" -eq 3 ]; then
			COMPREPLY=($(compgen -W "$sub --help" -- "$cur"))
			return 0
		fi
		verb="$verb ${words[2]}"
	fi

	# $verb unquoted: "license issue" is two arguments.
	# shellcheck disable=SC2086
	if [[ $prev == -* ]] && _ferry_help_parse "$cmd" $verb | grep -q -- "^$prev 1 "; then
		_ferry_option_value "$prog" "$verb" "$prev" "$cur"
	elif [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(_ferry_help_parse "$cmd" $verb | awk '$3 == 1 { print $1 }' | sort -u) --help" -- "$cur"))
	else
		case $prog:$verb in
		ferry-pack:build) _ferry_files "$cur" 'yaml|yml' ;;
		ferry-load:verify | ferry-load:inspect | ferry-load:extract | ferry-load:load | ferry-load:sbom | ferry-load:report)
			_ferry_files "$cur" 'ferry|parts|ferry\.[0-9]+' ;;
		ferry-load:serve) _ferry_files "$cur" 'ferry' ;; # plain bundles only
		ferry-load:license\ verify) _ferry_files "$cur" 'lic' ;;
		ferry-load:rewrite) _ferry_files "$cur" 'yaml|yml' ;;
		esac
	fi
	# What readline replaces starts after the last ':' of the word.
	strip=${cur%"${cur##*:}"}
	if [ -n "$strip" ] && [[ $COMP_WORDBREAKS == *:* ]]; then
		COMPREPLY=("${COMPREPLY[@]#"$strip"}")
	fi
	return 0
}

complete -F _ferry ferry-pack ferry-load
