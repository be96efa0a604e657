#!/usr/bin/env bash
# Dotfiles (.env, .git/config, sub/.htpasswd) are not served unless the
# operator says dotfiles = allow: 404, from the cache too, as for a missing
# file. A top-level /.well-known (RFC 8615) is served all the same.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

# body URL CURL-ARGS...: "STATUS BODY" on one line (newlines as '|')
body() {
        local url=$1 code
        shift
        code=$(curl -s -o "$TMP/body.out" -w '%{http_code}' --max-time 5 "$@" "$url") || true
        echo "$code $(tr '\n' '|' <"$TMP/body.out" 2>/dev/null || true)"
}

# stop: SIGTERM, and the exit status must be 0
stop() {
        kill -TERM "$CD_PID"
        wait_exit "$CD_PID" 20 || die "clusterd did not stop within 20s"
        check_eq "$1: SIGTERM, exit status 0" 0 "$EXIT_STATUS"
}

make_root
printf 'SECRET=hunter2\n' >"$ROOT/.env"
mkdir -p "$ROOT/.git" "$ROOT/sub" "$ROOT/a.b" "$ROOT/.well-known/acme-challenge" \
        "$ROOT/sub/.well-known"
printf '[core]\n\trepositoryformatversion = 0\n' >"$ROOT/.git/config"
printf '<p>git index</p>\n' >"$ROOT/.git/index.html"
printf 'hidden\n' >"$ROOT/sub/.hidden"
printf 'inside a.b\n' >"$ROOT/a.b/c"
printf 'Contact: mailto:security@example.org\n' >"$ROOT/.well-known/security.txt"
printf 'token-body\n' >"$ROOT/.well-known/acme-challenge/TOKEN"
printf '<p>well-known index</p>\n' >"$ROOT/.well-known/index.html"
printf 'not this one\n' >"$ROOT/.well-known/.secret"
printf 'nested\n' >"$ROOT/sub/.well-known/x"
# symlinks whose own names have no dot, leading to dotfiles, and one that
# leads to a plain file
ln -s .env "$ROOT/envlink"
ln -s .git "$ROOT/gitlink"
ln -s ../.env "$ROOT/sub/uplink"
ln -s hello.txt "$ROOT/hellolink"
NOT_FOUND='404 404 Not Found|'
PORT=$(free_port)
URL=http://127.0.0.1:$PORT

# ---- the default: deny ----
# one worker, so that a second request for a path on the same connection
# finds whatever the first one put in that worker's file cache
clusterd_start --workers 1
wait_serving 1

check_eq "GET /.env: 404 Not Found, no secret" "$NOT_FOUND" "$(body "$URL/.env")"
check_eq "GET /.env twice on one connection: 404 both times (nothing cached)" "404 404" \
        "$(curl -s -o /dev/null -o /dev/null -w '%{http_code} ' "$URL/.env" "$URL/.env" |
                sed 's/ $//' || true)"
check_eq "GET /.env with a Range (never cached): 404" 404 "$(http_code "$URL/.env" -r 0-3)"
check_eq "GET /%2eenv: 404" "$NOT_FOUND" "$(body "$URL/%2eenv" --path-as-is)"
check_eq "GET /%2Eenv: 404" "$NOT_FOUND" "$(body "$URL/%2Eenv" --path-as-is)"
check_eq "GET /./.env: 404" 404 "$(http_code "$URL/./.env" --path-as-is)"
check_eq "GET //.env: 404" 404 "$(http_code "$URL//.env" --path-as-is)"
out=$(raw_request HEAD /.env)
check_match "HEAD /.env: 404" '^HTTP/1.1 404' "$out"
check_eq "HEAD /.env: no body" "body-bytes: 0" "$(tail -n1 <<<"$out")"
check_eq "GET /.git/config: 404" "$NOT_FOUND" "$(body "$URL/.git/config")"
check_eq "GET /.git/: 404, not its index.html" "$NOT_FOUND" "$(body "$URL/.git/")"
check_eq "GET /.git: 404, not a 301" 404 "$(http_code "$URL/.git")"
check_eq "GET /sub/.hidden: 404" "$NOT_FOUND" "$(body "$URL/sub/.hidden")"
check_eq "GET /sub/.well-known/x (not top-level): 404" 404 "$(http_code "$URL/sub/.well-known/x")"
check_eq "GET /.well-known/.secret (a dot segment beneath it): 404" 404 \
        "$(http_code "$URL/.well-known/.secret")"
check_eq "GET /missing/.env: 404 like any missing file" 404 "$(http_code "$URL/missing/.env")"
check_eq "GET /envlink (a symlink to .env): 404" "$NOT_FOUND" "$(body "$URL/envlink")"
check_eq "GET /gitlink/config (through a symlink to .git): 404" 404 "$(http_code "$URL/gitlink/config")"
check_eq "GET /gitlink/ (the index.html in .git): 404" 404 "$(http_code "$URL/gitlink/")"
check_eq "GET /gitlink: 404, not a 301 that tells a directory is there" 404 \
        "$(http_code "$URL/gitlink")"
check_eq "GET /sub/uplink (a symlink to ../.env): 404" 404 "$(http_code "$URL/sub/uplink")"
check_eq "GET /hellolink (a symlink to hello.txt): 200" 200 "$(http_code "$URL/hellolink")"

# RFC 8615: served, also from the cache on a second request
check_eq "GET /.well-known/security.txt: 200, its body" \
        "200 Contact: mailto:security@example.org|" "$(body "$URL/.well-known/security.txt")"
check_eq "GET /.well-known/security.txt twice on one connection: 200 both times" "200 200" \
        "$(curl -s -o /dev/null -o /dev/null -w '%{http_code} ' "$URL/.well-known/security.txt" \
                "$URL/.well-known/security.txt" | sed 's/ $//' || true)"
check_eq "GET /.well-known/acme-challenge/TOKEN: 200, its body" "200 token-body|" \
        "$(body "$URL/.well-known/acme-challenge/TOKEN")"
check_eq "GET /.well-known/: 200, its index.html" "200 <p>well-known index</p>|" \
        "$(body "$URL/.well-known/")"
check_eq "GET /.well-known: 301" 301 "$(http_code "$URL/.well-known")"

# the rest is as before
check_eq "GET /a.b/c (a dot inside a name): 200" "200 inside a.b|" "$(body "$URL/a.b/c")"
check_eq "GET /hello.txt: 200" 200 "$(http_code "$URL/hello.txt")"
check_eq "GET /healthz: 200" "200 ok|" "$(body "$URL/healthz")"
check_eq "GET /metrics: 200" 200 "$(http_code "$URL/metrics")"
check_eq "GET /../.env (--path-as-is): 403 as before" 403 "$(http_code "$URL/../.env" --path-as-is)"
check_no_match "no warnings logged for the refused paths" 'cannot open' "$(cat "$LOG")"
stop "deny"

# ---- --dotfiles allow ----
clusterd_start --workers 1 --dotfiles allow
wait_serving 1
check_eq "--dotfiles allow: GET /.env: 200, its body" "200 SECRET=hunter2|" "$(body "$URL/.env")"
# MHD decodes the path before clusterd sees it: /%2eenv is /.env
check_eq "--dotfiles allow: GET /%2eenv: 200, the body of .env" "200 SECRET=hunter2|" \
        "$(body "$URL/%2eenv" --path-as-is)"
check_eq "--dotfiles allow: GET /.git/config: 200" 200 "$(http_code "$URL/.git/config")"
check_eq "--dotfiles allow: GET /.git/: its index.html" "200 <p>git index</p>|" \
        "$(body "$URL/.git/")"
check_eq "--dotfiles allow: GET /.git: 301" 301 "$(http_code "$URL/.git")"
check_eq "--dotfiles allow: GET /sub/.hidden: 200" "200 hidden|" "$(body "$URL/sub/.hidden")"
check_eq "--dotfiles allow: GET /envlink: 200, the body of .env" "200 SECRET=hunter2|" \
        "$(body "$URL/envlink")"
check_eq "--dotfiles allow: GET /.well-known/security.txt: 200" 200 \
        "$(http_code "$URL/.well-known/security.txt")"
stop "allow"

# ---- a root that is itself beneath a dot directory: only what lies below
# the root counts ----
mkdir -p "$TMP/.site"
printf 'only in .site\n' >"$TMP/.site/only-here.txt"
ln -s "$TMP/.site" "$TMP/site-link"
clusterd_start --workers 1 --root "$TMP/site-link"
wait_serving 1
check_eq "root site-link -> .site: GET /only-here.txt: 200, its body" "200 only in .site|" \
        "$(body "$URL/only-here.txt")"
stop "root beneath a dot directory"

# ---- the root renamed under the workers (a blue/green swap): where a
# symlink leads is judged against the root as it is now ----
mkdir -p "$TMP/blue"
printf 'SECRET=blue\n' >"$TMP/blue/.env"
ln -s .env "$TMP/blue/envlink"
printf 'blue\n' >"$TMP/blue/plain.txt"
ln -s plain.txt "$TMP/blue/plainlink"
clusterd_start --workers 1 --root "$TMP/blue"
wait_serving 1
check_eq "root blue: GET /envlink: 404" 404 "$(http_code "$URL/envlink")"
mv "$TMP/blue" "$TMP/blue.old"
mkdir "$TMP/blue"
check_eq "root renamed to blue.old while serving: GET /envlink: still 404" "$NOT_FOUND" \
        "$(body "$URL/envlink")"
check_eq "root renamed: GET /plainlink (to a plain file): 200" "200 blue|" "$(body "$URL/plainlink")"
stop "renamed root"

# ---- the config file, and a reload that changes it ----
printf '[clusterd]\ndotfiles = allow\n' >"$CONF"
clusterd_start --workers 1
wait_serving 1
check_eq "config dotfiles = allow: GET /.env: 200, its body" "200 SECRET=hunter2|" \
        "$(body "$URL/.env")"
printf '[clusterd]\ndotfiles = deny\n' >"$CONF"
kill -HUP "$CD_PID"
wait_log 'reload finished' 30 || die "no 'reload finished' in the log 30 s after SIGHUP"
check_eq "reloaded with dotfiles = deny: GET /.env: 404" "$NOT_FOUND" "$(body "$URL/.env")"
stop "config file"
finish
