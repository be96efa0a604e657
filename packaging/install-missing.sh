# shellcheck shell=bash
# install_missing WHO PACKAGE...: installs, with apt-get, those Debian
# packages that are not installed yet; WHO names the caller in messages.
# Sourced by tests/run, service/run and packaging/build-deb; mhd_packages
# (below) names the libmicrohttpd packages the build needs here.
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

# mhd_packages: what meson's libmicrohttpd >= 1.0 needs (meson.build): the
# system's libmicrohttpd-dev where it is 1.0 or later (Debian 13), else GnuTLS
# and make for the bundled 1.0.1 (subprojects/libmicrohttpd.wrap). What is
# installed already decides first: asking apt for the archive's version takes
# a second, which service/run would spend on every start.
mhd_packages() {
    local installed candidate
    installed=$(dpkg-query -W -f '${Status} ${Version}' libmicrohttpd-dev 2>/dev/null || true)
    if [[ $installed == "install ok installed "* ]] &&
        dpkg --compare-versions "${installed##* }" ge 1.0; then
        echo libmicrohttpd-dev
        return
    fi
    if dpkg -s libgnutls28-dev make >/dev/null 2>&1; then
        echo libgnutls28-dev make
        return
    fi
    candidate=$(apt-cache policy libmicrohttpd-dev 2>/dev/null | sed -n 's/^ *Candidate: //p')
    if [[ $candidate =~ ^[0-9] ]] && dpkg --compare-versions "$candidate" ge 1.0; then
        echo libmicrohttpd-dev
    else
        echo libgnutls28-dev make
    fi
}
