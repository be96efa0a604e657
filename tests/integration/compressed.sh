#!/usr/bin/env bash
# Compressed answers as a client sees them: precompressed siblings
# (app.js.br, app.js.gz) byte for byte, with Vary and an ETag each, Range,
# If-None-Match and HEAD on them; siblings older than the file, hidden or
# outside the root not used; small text compressed in the cache matching
# the file once decompressed; precompressed = off and compress = off.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

command -v brotli >/dev/null || die "no brotli command (Debian package brotli)"

header() { # header NAME: the value of NAME in the headers in $TMP/h
        { grep -i "^$1:" "$TMP/h" || true; } | head -n1 | cut -d: -f2- | sed 's/^ *//; s/\r$//'
}

# get PATH ACCEPT-ENCODING [CURL-ARGS...]: headers into $TMP/h, the body
# as sent (curl decodes nothing) into $TMP/b; prints the status
get() {
        local path=$1 ae=$2
        shift 2
        local args=()
        [[ -n $ae ]] && args=(-H "Accept-Encoding: $ae")
        curl -s -D "$TMP/h" -o "$TMP/b" -w '%{http_code}' "${args[@]}" "$@" "$URL$path" || true
}

# slice FILE OFFSET [LENGTH]: those bytes of FILE into $TMP/want, to compare
# with cmp as a plain file: a process substitution handed to check_cmd was
# once gone before cmp read it (1 run in 8 failed a match that held)
slice() {
        python3 -c 'import sys
with open(sys.argv[1], "rb") as f:
    f.seek(int(sys.argv[2]))
    data = f.read(int(sys.argv[3])) if len(sys.argv) > 3 else f.read()
sys.stdout.buffer.write(data)' "$@" >"$TMP/want"
}

# decoded CODING: $TMP/b decompressed, on stdout
decoded() {
        if [[ $1 == gzip ]]; then gzip -dc <"$TMP/b"; else brotli -dc <"$TMP/b"; fi 2>/dev/null ||
                echo "(not $1)"
}

stop() {
        kill -TERM "$CD_PID"
        wait_exit "$CD_PID" 20 || die "clusterd did not stop within 20s"
}

# sibling FILE CODING: FILE.gz or FILE.br beside it, with FILE's mtime
# to the nanosecond (an equal mtime is not older)
sibling() {
        if [[ $2 == gz ]]; then gzip -9 -k -f "$1"; else brotli -k -f "$1"; fi
        touch -r "$1" "$1.$2"
}

# text worth compressing (gzip's 20 bytes of framing make a line a loss)
lines() { for i in $(seq 20); do echo "$1 $i"; done; }

make_root
make_links
for i in $(seq 400); do echo "export function f$i(a) { return a * $i + 1; }"; done >"$ROOT/app.js"
sibling "$ROOT/app.js" gz
sibling "$ROOT/app.js" br
# past the cache's 64 KiB: sent from its fd, as are ranges
for i in $(seq 3000); do echo "const big$i = 'a string for line $i';"; done >"$ROOT/big.js"
sibling "$ROOT/big.js" gz
# text without siblings: compressed in the cache
for i in $(seq 200); do echo ".rule$i { color: #$((i % 10))$((i % 7))0; }"; done >"$ROOT/style.css"
# a sibling one hour older than its file, and one older by half a second
# within the same second: stale, both hold something else
echo "stale" | gzip >"$ROOT/old.js.gz"
lines "console.log('current');" >"$ROOT/old.js"
touch -d '-1 hour' "$ROOT/old.js.gz"
echo "stale" | gzip >"$ROOT/nano.js.gz"
lines "console.log('current, nano');" >"$ROOT/nano.js"
sec=$(date +%s)
touch -d "@$sec.700000000" "$ROOT/nano.js"
touch -d "@$sec.200000000" "$ROOT/nano.js.gz"
# siblings behind symlinks: to a dotfile, and out of the root
lines "console.log('hidden');" >"$ROOT/hid.js"
echo "hidden-sibling" >"$ROOT/.hid.gz"
ln -s .hid.gz "$ROOT/hid.js.gz"
lines "console.log('out');" >"$ROOT/out.js"
echo "outside-sibling" >"$OUTSIDE/out.gz"
ln -s "$OUTSIDE/out.gz" "$ROOT/out.js.gz"
touch "$ROOT/hid.js.gz" "$ROOT/out.js.gz" # not older than the files

PORT=$(free_port)
URL=http://127.0.0.1:$PORT
clusterd_start --workers 1
wait_serving 1

# ---- precompressed siblings, from the cache, twice (store, then hit) ----
for pass in stored cached; do
        check_eq "$pass: app.js, no Accept-Encoding: 200" 200 "$(get /app.js '')"
        check_cmd "$pass: app.js identity: the file byte for byte" cmp -s "$TMP/b" "$ROOT/app.js"
        check_eq "$pass: app.js identity: Vary" "Accept-Encoding" "$(header Vary)"
        check_eq "$pass: app.js identity: no Content-Encoding" "" "$(header Content-Encoding)"
        etag_id=$(header ETag)
        type_id=$(header Content-Type)
        check_eq "$pass: app.js gzip: 200" 200 "$(get /app.js gzip)"
        check_cmd "$pass: app.js gzip: app.js.gz byte for byte" cmp -s "$TMP/b" "$ROOT/app.js.gz"
        check_eq "$pass: app.js gzip: Content-Encoding" gzip "$(header Content-Encoding)"
        check_eq "$pass: app.js gzip: Vary" "Accept-Encoding" "$(header Vary)"
        check_eq "$pass: app.js gzip: Content-Type of app.js" "$type_id" "$(header Content-Type)"
        etag_gz=$(header ETag)
        check_eq "$pass: app.js br: 200" 200 "$(get /app.js br)"
        check_cmd "$pass: app.js br: app.js.br byte for byte" cmp -s "$TMP/b" "$ROOT/app.js.br"
        check_eq "$pass: app.js br: Content-Encoding" br "$(header Content-Encoding)"
        etag_br=$(header ETag)
        check_cmd "$pass: app.js: three distinct ETags ($etag_id $etag_gz $etag_br)" \
                test -n "$etag_id" -a "$etag_id" != "$etag_gz" -a "$etag_gz" != "$etag_br" \
                -a "$etag_id" != "$etag_br"
done
get /app.js 'gzip, deflate, br' >/dev/null
check_eq "app.js 'gzip, deflate, br': br first (br,gz)" br "$(header Content-Encoding)"
get /app.js 'br;q=0.5, gzip' >/dev/null
check_eq "app.js 'br;q=0.5, gzip': gzip" gzip "$(header Content-Encoding)"
get /app.js 'gzip, identity;q=0' >/dev/null
check_cmd "app.js 'gzip, identity;q=0': app.js.gz" cmp -s "$TMP/b" "$ROOT/app.js.gz"
get /app.js 'gzip;q=0, br;q=0' >/dev/null
check_cmd "app.js 'gzip;q=0, br;q=0': the file" cmp -s "$TMP/b" "$ROOT/app.js"
get /app.js '*' >/dev/null
check_eq "app.js '*': br" br "$(header Content-Encoding)"

# conditionals, per representation
check_eq "app.js gzip, If-None-Match its ETag: 304" 304 \
        "$(get /app.js gzip -H "If-None-Match: $etag_gz")"
check_eq "app.js gzip 304: Vary" "Accept-Encoding" "$(header Vary)"
check_eq "app.js gzip 304: its ETag" "$etag_gz" "$(header ETag)"
check_eq "app.js br, If-None-Match the gzip ETag: 200" 200 \
        "$(get /app.js br -H "If-None-Match: $etag_gz")"
check_eq "app.js identity, If-None-Match the br ETag: 200" 200 \
        "$(get /app.js '' -H "If-None-Match: $etag_br")"

# Range on a compressed representation: bytes of the .gz
check_eq "app.js gzip, Range 0-9: 206" 206 "$(get /app.js gzip -H 'Range: bytes=0-9')"
slice "$ROOT/app.js.gz" 0 10
check_cmd "app.js gzip, Range 0-9: the first 10 bytes of app.js.gz" cmp -s "$TMP/b" "$TMP/want"
check_eq "app.js gzip, Range 0-9: Content-Range of the .gz" \
        "bytes 0-9/$(stat -c %s "$ROOT/app.js.gz")" "$(header Content-Range)"
check_eq "app.js gzip, Range: Content-Encoding" gzip "$(header Content-Encoding)"
check_eq "app.js gzip, Range: Vary" "Accept-Encoding" "$(header Vary)"
check_eq "app.js gzip, Range with If-Range its ETag: 206" 206 \
        "$(get /app.js gzip -H 'Range: bytes=5-' -H "If-Range: $etag_gz")"
slice "$ROOT/app.js.gz" 5
check_cmd "app.js gzip, Range 5-: app.js.gz from byte 5" cmp -s "$TMP/b" "$TMP/want"
check_eq "app.js br, Range past the end: 416" 416 "$(get /app.js br -H 'Range: bytes=999999-')"
check_eq "app.js br, 416: the size of the .br" "bytes */$(stat -c %s "$ROOT/app.js.br")" \
        "$(header Content-Range)"

# HEAD
head_out=$(raw_request HEAD /app.js "Accept-Encoding: gzip" || true)
check_match "HEAD app.js gzip: 200" '^HTTP/1.1 200' "$head_out"
check_match "HEAD app.js gzip: Content-Length of the .gz" \
        "^Content-Length: $(stat -c %s "$ROOT/app.js.gz")"$'\r'"?$" "$head_out"
check_match "HEAD app.js gzip: Content-Encoding" '^Content-Encoding: gzip' "$head_out"
check_eq "HEAD app.js gzip: no body" "body-bytes: 0" "$(tail -n1 <<<"$head_out")"
head_out=$(raw_request HEAD /app.js || true)
check_match "HEAD app.js identity: Vary" '^Vary: Accept-Encoding' "$head_out"

# a directory's index.html has its siblings too
lines "<p>docs</p>" >"$ROOT/docs/index.html"
sibling "$ROOT/docs/index.html" gz
check_eq "/docs/ gzip: 200" 200 "$(get /docs/ gzip)"
check_cmd "/docs/ gzip: docs/index.html.gz byte for byte" cmp -s "$TMP/b" "$ROOT/docs/index.html.gz"
check_match "/docs/ gzip: Content-Type of index.html" '^text/html' "$(header Content-Type)"

# ---- past the cache: sent from the fd ----
check_eq "big.js gzip: 200" 200 "$(get /big.js gzip)"
check_cmd "big.js gzip: big.js.gz byte for byte" cmp -s "$TMP/b" "$ROOT/big.js.gz"
etag_big=$(header ETag)
check_eq "big.js gzip, If-None-Match its ETag: 304" 304 \
        "$(get /big.js gzip -H "If-None-Match: $etag_big")"
check_eq "big.js gzip, Range 100-199: 206" 206 "$(get /big.js gzip -H 'Range: bytes=100-199')"
slice "$ROOT/big.js.gz" 100 100
check_cmd "big.js gzip, Range 100-199: those bytes of big.js.gz" cmp -s "$TMP/b" "$TMP/want"
check_eq "big.js gzip, Range: Content-Range of the .gz" \
        "bytes 100-199/$(stat -c %s "$ROOT/big.js.gz")" "$(header Content-Range)"
check_eq "big.js gzip, Range: Content-Encoding" gzip "$(header Content-Encoding)"
check_eq "big.js identity: the file" 200 "$(get /big.js '')"
check_cmd "big.js identity: byte for byte" cmp -s "$TMP/b" "$ROOT/big.js"
check_eq "big.js identity: Vary" "Accept-Encoding" "$(header Vary)"
check_cmd "big.js: distinct ETags" test "$etag_big" != "$(header ETag)"

# ---- siblings that must not be used ----
for path in old nano; do
        get /$path.js gzip >/dev/null
        check_eq "$path.js (sibling older): gzip of the file, not the sibling" \
                "$(cat "$ROOT/$path.js")" "$(decoded gzip)"
done
get /hid.js gzip >/dev/null
check_eq "hid.js.gz -> .hid.gz (a dotfile): not served" 0 "$(grep -ac hidden-sibling "$TMP/b" || true)"
check_eq "hid.js gzip: the file compressed" "$(cat "$ROOT/hid.js")" "$(decoded gzip)"
get /out.js gzip >/dev/null
check_eq "out.js.gz -> outside the root: not served" 0 "$(grep -ac outside-sibling "$TMP/b" || true)"
check_eq "out.js gzip: the file compressed" "$(cat "$ROOT/out.js")" "$(decoded gzip)"

# ---- text compressed in the cache ----
for coding in gzip br; do
        check_eq "style.css $coding: 200" 200 "$(get /style.css $coding)"
        check_eq "style.css $coding: Content-Encoding" $coding "$(header Content-Encoding)"
        decoded $coding >"$TMP/want"
        check_cmd "style.css $coding: decompressed, the file byte for byte" \
                cmp -s "$TMP/want" "$ROOT/style.css"
        check_le "style.css $coding: smaller than the file" "$(stat -c %s "$ROOT/style.css")" \
                "$(stat -c %s "$TMP/b")"
        check_eq "style.css $coding: Vary" "Accept-Encoding" "$(header Vary)"
        check_match "style.css $coding: an ETag of its own" "-${coding:0:2}\"\$" "$(header ETag)"
        etag_css=$(header ETag)
        check_eq "style.css $coding, If-None-Match its ETag: 304" 304 \
                "$(get /style.css $coding -H "If-None-Match: $etag_css")"
done
# Range on a representation made in the cache: bytes of the compressed body
get /style.css gzip >/dev/null
cp "$TMP/b" "$TMP/style.gz"
etag_css=$(header ETag)
check_eq "style.css gzip, Range 10-19: 206" 206 "$(get /style.css gzip -H 'Range: bytes=10-19')"
slice "$TMP/style.gz" 10 10
check_cmd "style.css gzip, Range 10-19: bytes 10-19 of the gzip answer" cmp -s "$TMP/b" "$TMP/want"
check_eq "style.css gzip, Range: Content-Range of the gzip body" \
        "bytes 10-19/$(stat -c %s "$TMP/style.gz")" "$(header Content-Range)"
check_eq "style.css gzip, Range: Content-Encoding" gzip "$(header Content-Encoding)"
check_match "style.css gzip, Range: Content-Type of the file" '^text/css' "$(header Content-Type)"
check_eq "style.css gzip, Range, If-Range its ETag: 206" 206 \
        "$(get /style.css gzip -H 'Range: bytes=0-' -H "If-Range: $etag_css")"
check_cmd "style.css gzip, Range 0-: the whole gzip body" cmp -s "$TMP/b" "$TMP/style.gz"
check_eq "style.css br, Range, If-Range the gzip ETag: 200" 200 \
        "$(get /style.css br -H 'Range: bytes=0-9' -H "If-Range: $etag_css")"
check_eq "style.css br, past the end: 416" 416 "$(get /style.css br -H 'Range: bytes=99999-')"
check_eq "style.css br, 416: Vary" "Accept-Encoding" "$(header Vary)"
get /style.css '' >/dev/null
check_cmd "style.css identity: the file" cmp -s "$TMP/b" "$ROOT/style.css"
check_eq "style.css identity: Vary" "Accept-Encoding" "$(header Vary)"
# not kept when not smaller; and not for types that are not text
printf 'x\n' >"$ROOT/tiny.txt"
get /tiny.txt gzip >/dev/null
check_eq "tiny.txt gzip: identity (gzip is not smaller)" "" "$(header Content-Encoding)"
check_eq "tiny.txt: no Vary" "" "$(header Vary)"
cp "$ROOT/style.css" "$ROOT/style.bin"
get /style.bin gzip >/dev/null
check_eq "style.bin (octet-stream) gzip: identity" "" "$(header Content-Encoding)"

# a missing sibling costs no system call per request: 50 answers of
# style.css from the cache stat style.css 50 times and its siblings only
# when the entry looks again (once a second: br and gz, at most twice here)
if command -v strace >/dev/null; then
        worker=$(worker_pids | head -n1)
        get /style.css gzip >/dev/null
        strace -qq -f -e trace=newfstatat,fstatat64,statx,openat,openat2 -o "$TMP/strace" \
                -p "$worker" &
        strace_pid=$!
        track "$strace_pid"
        sleep 0.5
        urls=()
        for _ in $(seq 50); do urls+=("$URL/style.css"); done
        curl -s -H 'Accept-Encoding: gzip' "${urls[@]}" >/dev/null || true
        sleep 0.2
        kill -INT "$strace_pid" 2>/dev/null || true
        wait "$strace_pid" 2>/dev/null || true
        check_eq "50 cached answers: style.css stat 50 times" 50 \
                "$(grep -c '"style\.css"' "$TMP/strace" || true)"
        check_le "50 cached answers: style.css.br/.gz looked for at most 4 times" 4 \
                "$(grep -cE '"style\.css\.(br|gz)"' "$TMP/strace" || true)"
else
        skip "no strace: the system calls of a cached answer are not counted"
fi

# a sibling made after the file was cached is found within a second
echo "console.log('late');" >"$ROOT/late.js"
get /late.js gzip >/dev/null
sibling "$ROOT/late.js" gz
sleep 1.2
get /late.js gzip >/dev/null
check_cmd "late.js.gz made after late.js was cached: served a second later" \
        cmp -s "$TMP/b" "$ROOT/late.js.gz"
stop

# ---- precompressed = off, compress = off ----
clusterd_start --workers 1 --precompressed off
wait_serving 1
get /app.js gzip >/dev/null
check_eq "precompressed off: app.js gzip, compressed in the cache (ETag -gz)" \
        "$etag_id" "$(header ETag | sed 's/-gz"$/"/')"
check_eq "precompressed off: app.js gzip decodes to the file" "$(cat "$ROOT/app.js")" \
        "$(decoded gzip)"
get /big.js gzip >/dev/null
check_cmd "precompressed off: big.js gzip, the file" cmp -s "$TMP/b" "$ROOT/big.js"
check_eq "precompressed off: big.js: no Vary" "" "$(header Vary)"
stop
printf '[clusterd]\nprecompressed = off\ncompress = off\n' >"$CONF"
clusterd_start --workers 1
wait_serving 1
get /app.js 'gzip, br' >/dev/null
check_cmd "config precompressed = off, compress = off: app.js, the file" \
        cmp -s "$TMP/b" "$ROOT/app.js"
check_eq "both off: no Content-Encoding" "" "$(header Content-Encoding)"
check_eq "both off: no Vary" "" "$(header Vary)"
stop
printf '[clusterd]\nprecompressed = gz,br\ncompress = off\n' >"$CONF"
clusterd_start --workers 1
wait_serving 1
get /app.js 'gzip, br' >/dev/null
check_cmd "precompressed = gz,br: app.js 'gzip, br', app.js.gz" cmp -s "$TMP/b" "$ROOT/app.js.gz"
get /style.css gzip >/dev/null
check_eq "compress = off: style.css gzip, identity" "" "$(header Content-Encoding)"
stop
finish
