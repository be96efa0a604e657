# shellcheck shell=bash
# install_missing WHO PACKAGE...: installs, with apt-get, those Debian
# packages that are not installed yet; WHO names the caller in messages.
# Sourced by tests/run, service/run and packaging/build-deb.
install_missing() {
    local who=$1 missing=() p
    shift
    for p in "$@"; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    ((${#missing[@]})) || return 0
    echo "$who: installing ${missing[*]}"
    if ((EUID != 0)); then
        echo "$who: need root to install packages (or install them yourself)" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
}
