# lib.sh: shell helpers shared by the scripts in this folder. Source it.

log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }
die() { log "$*"; exit 1; }

# as_root runs a command as root, through sudo when the caller is not root.
as_root() {
	if [[ $(id -u) == 0 ]]; then "$@"; else sudo "$@"; fi
}

# apt_install installs the Debian packages that are not installed yet.
apt_install() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	((${#missing[@]})) || return 0
	log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	as_root apt-get update -qq || log "apt-get update failed; trying the install anyway"
	as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# port_open reports whether something listens on 127.0.0.1:$1.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_port waits up to $2 seconds (default 30) for 127.0.0.1:$1.
wait_port() {
	local i
	for ((i = 0; i < ${2:-30} * 10; i++)); do
		port_open "$1" && return 0
		sleep 0.1
	done
	return 1
}

# elapsed T0 prints the seconds since T0 (from `date +%s.%N`), to 0.1 s.
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# fail reports a failed check of a test script and exits.
fail() {
	log "FAIL: $*"
	exit 1
}

# free_port prints a loopback TCP port that was free a moment ago.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
