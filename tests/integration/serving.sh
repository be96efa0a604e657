#!/usr/bin/env bash
# Serving the document root as a client sees it: status codes, headers,
# HEAD, redirects, keep-alive, large files, ranges, conditional requests,
# no way out of the root, IPv6.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

# on_each_worker PATH CURL-ARGS...: "WORKER STATUS" lines, one per worker. Each
# comes from a connection that asks /metrics first, to learn which worker it
# reached (X-Clusterd-Worker), and then PATH with CURL-ARGS; new connections
# are tried until every worker has answered.
on_each_worker() {
        local path=$1 seen=" " tries=0 worker code
        shift
        while ((tries++ < 60)) && [[ $(wc -w <<<"$seen") -lt 2 ]]; do
                code=$(curl -s -o /dev/null -D "$TMP/each.head" "$URL/metrics" --next -s -o /dev/null \
                        -w '%{http_code}\n' --max-time 5 "$@" "$URL$path" | tail -n1) || true
                worker=$(sed -n 's/^X-Clusterd-Worker: \([0-9]*\)\r\?$/\1/ip' \
                        "$TMP/each.head" 2>/dev/null | head -n1)
                [[ -n $worker && $seen != *" $worker "* ]] || continue
                seen+="$worker "
                echo "$worker $code"
        done | sort -n
}

header() { # header NAME: the value of NAME in the headers on stdin, or nothing
        { grep -i "^$1:" || true; } | head -n1 | cut -d: -f2- | sed 's/^ *//; s/\r$//'
}

make_root
ln -s /etc/passwd "$ROOT/passwd-link"
ln -s /etc "$ROOT/etc-link"
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
listen6=()
if PORT6=$(free_port6 2>/dev/null); then
        listen6=(--listen "[::1]:$PORT6")
fi
clusterd_start "${listen6[@]}" --workers 2
wait_serving 2

# GET and HEAD
headers=$(curl -s -D - -o "$TMP/index.out" "$URL/" || true)
check_match "GET /: 200" '^HTTP/1.1 200' "$headers"
check_match "GET /: Content-Type is text/html" '^text/html' "$(header Content-Type <<<"$headers")"
check_cmd "GET /: body is index.html" cmp -s "$TMP/index.out" "$ROOT/index.html"
check_match "GET /hello.txt: Content-Type is text/plain" '^text/plain' \
        "$(curl -s -D - -o /dev/null "$URL/hello.txt" | header Content-Type || true)"
head_out=$(raw_request HEAD / || true)
check_match "HEAD /: 200" '^HTTP/1.1 200' "$head_out"
check_eq "HEAD /: Content-Length is the file's size" "$(stat -c %s "$ROOT/index.html")" \
        "$(header Content-Length <<<"$head_out")"
check_eq "HEAD /: no body" "body-bytes: 0" "$(tail -n1 <<<"$head_out")"

# errors
check_eq "GET /missing.html: 404" 404 "$(http_code "$URL/missing.html")"
headers=$(curl -s -D - -o /dev/null -X POST -d x=1 "$URL/" || true)
check_match "POST /: 405" '^HTTP/1.1 405' "$headers"
check_match "POST /: Allow lists GET and HEAD" 'GET.*HEAD|HEAD.*GET' "$(header Allow <<<"$headers")"
check_match "DELETE /index.html: 405" '^405$' "$(http_code "$URL/index.html" -X DELETE)"
# a refused upload is not read when the client waits for "100 Continue"
# (curl's own choice for a body this size): the 405 comes instead
head -c 20000000 /dev/zero >"$TMP/upload.bin"
verbose=$(curl -sv -o /dev/null -w 'uploaded=%{size_upload}\n' -X POST --data-binary @"$TMP/upload.bin" \
        "$URL/hello.txt" 2>&1 || true)
check_match "POST 20 MB, Expect: 100-continue: 405" '^< HTTP/1.1 405' "$verbose"
check_no_match "POST 20 MB, Expect: 100-continue: no 100 Continue" '^< HTTP/1.1 100' "$verbose"
check_match "POST 20 MB, Expect: 100-continue: Connection: close" '^< Connection: close' "$verbose"
check_match "POST 20 MB, Expect: 100-continue: none of the body was sent" '^uploaded=0$' "$verbose"
# without Expect the body is already on its way: it is read and dropped, so
# a client that writes all of it before reading still gets the 405 (closing
# with it unread would reset the connection under the client's feet)
check_eq "POST 5 MB without Expect, body written before reading: 405" 405 "$(python3 - "$PORT" <<'PY'
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
try:
    c.request("POST", "/hello.txt", body=b"x" * 5000000)
    print(c.getresponse().status)
except OSError as e:
    print(type(e).__name__)
PY
)"
check_eq "POST 5 MB chunked without Expect, written before reading: 405" 405 "$(python3 - "$PORT" <<'PY'
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
try:
    c.request("POST", "/hello.txt", body=iter([b"x" * 65536] * 80), encode_chunked=True)
    print(c.getresponse().status)
except OSError as e:
    print(type(e).__name__)
PY
)"
# a small body is read and dropped, and the connection is kept
verbose=$(curl -sv -o /dev/null -o /dev/null -X POST -d x=1 "$URL/hello.txt" "$URL/hello.txt" 2>&1 || true)
check_eq "POST a small body twice on one connection: 405 twice" 2 \
        "$(grep -c '^< HTTP/1.1 405' <<<"$verbose" || true)"
check_match "POST a small body twice on one connection: the connection is kept" \
        'Re-using existing connection' "$verbose"
check_eq "GET /hello.txt after the refused uploads: 200" 200 "$(http_code "$URL/hello.txt")"

# nothing outside the root
refused() { # refused DESC CURL-ARGS...: a 4xx and no /etc/passwd content
        local desc=$1 code body
        shift
        code=$(curl -s -o "$TMP/refused.out" -w '%{http_code}' --max-time 5 "$@") || true
        body=$(cat "$TMP/refused.out" 2>/dev/null || true)
        if [[ $code == 4?? ]] && ! grep -q 'root:' <<<"$body"; then
                pass "$desc refused ($code)"
        else
                fail "$desc refused (expected a 4xx without /etc/passwd, got $code: $(head -c 80 <<<"$body"))"
        fi
}
refused "GET /../../../../etc/passwd (--path-as-is)" --path-as-is "$URL/../../../../etc/passwd"
refused "GET /docs/../../../etc/passwd (--path-as-is)" --path-as-is "$URL/docs/../../../etc/passwd"
refused "GET /%2e%2e/%2e%2e/%2e%2e/etc/passwd (--path-as-is)" --path-as-is \
        "$URL/%2e%2e/%2e%2e/%2e%2e/etc/passwd"
refused "GET /%2E%2E%2F%2E%2E%2Fetc%2Fpasswd" --path-as-is "$URL/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd"
# exactly 403: the dotfile check's 404 for a file it cannot place would also
# keep /etc/passwd out, and did hide openat2 without RESOLVE_BENEATH
check_get "GET /passwd-link (symlink to /etc/passwd)" /passwd-link 403
check_get "GET /etc-link/passwd (symlink to /etc)" /etc-link/passwd 403

# names the file system cannot open as files: not found or forbidden, not 500
check_eq "GET a 300-byte path segment: 404" 404 "$(http_code "$URL/$(printf 'a%.0s' {1..300})")"
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$ROOT/a.sock"
check_eq "GET a Unix socket in the root: 403" 403 "$(http_code "$URL/a.sock")"

# directories
headers=$(curl -s -D - -o /dev/null "$URL/docs" || true)
check_match "GET /docs: 301" '^HTTP/1.1 301' "$headers"
check_eq "GET /docs: Location is /docs/" /docs/ "$(header Location <<<"$headers")"
check_eq "GET /docs/: 200 (its index.html)" 200 "$(http_code "$URL/docs/")"
check_eq "GET /docs?x=1&y=a%20b&flag: the redirect keeps the query" '/docs/?x=1&y=a%20b&flag' \
        "$(curl -s -D - -o /dev/null "$URL/docs?x=1&y=a%20b&flag" | header Location || true)"
mkdir "$ROOT/evil.com"
printf "<p>here</p>\n" >"$ROOT/evil.com/index.html"
check_eq "GET //evil.com: Location stays on this host" '/evil.com/' \
        "$(curl -s --path-as-is -D - -o /dev/null "$URL//evil.com" | header Location || true)"
mkdir "$ROOT/my dir"
printf '<p>spaced</p>\n' >"$ROOT/my dir/index.html"
check_eq "GET /my%20dir: Location is encoded again" '/my%20dir/' \
        "$(curl -s -D - -o /dev/null "$URL/my%20dir" | header Location || true)"
curl -sL -o "$TMP/got" "$URL/my%20dir" || true
check_cmd "GET /my%20dir, following the redirect: its index.html" \
        cmp -s "$TMP/got" "$ROOT/my dir/index.html"

# a file asked for as a directory is not found, both when the worker opens it
# and when it has it cached (the GET in between caches it on every worker)
printf 'not a directory\n' >"$ROOT/notdir.txt"
check_eq "GET /notdir.txt/ on each worker, uncached: 404" $'1 404\n2 404' "$(on_each_worker /notdir.txt/)"
check_eq "GET /notdir.txt on each worker: 200" $'1 200\n2 200' "$(on_each_worker /notdir.txt)"
check_eq "GET /notdir.txt/ on each worker, cached: 404" $'1 404\n2 404' "$(on_each_worker /notdir.txt/)"
check_eq "GET /notdir.txt/. (--path-as-is): 404" 404 "$(http_code "$URL/notdir.txt/." --path-as-is)"
check_eq "GET /docs/index.html/: 404" 404 "$(http_code "$URL/docs/index.html/")"
check_eq "GET /docs/. (--path-as-is): 200, the index" 200 "$(http_code "$URL/docs/." --path-as-is)"

# keep-alive: two requests on one connection
verbose=$(curl -sv "$URL/" "$URL/hello.txt" 2>&1 >/dev/null || true)
check_match "keep-alive: curl reuses the connection for the second request" \
        'Re-using existing connection' "$verbose"
check_no_match "keep-alive: no response says 'Connection: close'" '^< Connection: close' "$verbose"
check_eq "keep-alive: one connection for both requests" 1 \
        "$(grep -c 'Connected to' <<<"$verbose" || true)"

# large files go out with sendfile in pieces, corked then uncorked: each
# arrives whole, also one after another on a kept-alive connection and
# several at once
head -c 1048576 /dev/urandom >"$ROOT/big.bin"
head -c 300001 /dev/urandom >"$ROOT/odd.bin"
verbose=$(curl -sv -o "$TMP/big1" -o "$TMP/hello1" -o "$TMP/odd1" -o "$TMP/big2" \
        "$URL/big.bin" "$URL/hello.txt" "$URL/odd.bin" "$URL/big.bin" 2>&1 || true)
check_eq "large files: four responses on one connection" 1 \
        "$(grep -c 'Connected to' <<<"$verbose" || true)"
check_cmd "large files: 1 MiB file intact" cmp -s "$TMP/big1" "$ROOT/big.bin"
check_cmd "large files: small file after it intact" cmp -s "$TMP/hello1" "$ROOT/hello.txt"
check_cmd "large files: 300001-byte file intact" cmp -s "$TMP/odd1" "$ROOT/odd.bin"
check_cmd "large files: 1 MiB file again intact" cmp -s "$TMP/big2" "$ROOT/big.bin"
pids=()
for i in 1 2 3 4 5 6 7 8; do
        curl -s --max-time 30 -o "$TMP/par$i" "$URL/big.bin" &
        pids+=($!)
        track "$!"
done
wait "${pids[@]}"
intact=0
for i in 1 2 3 4 5 6 7 8; do
        cmp -s "$TMP/par$i" "$ROOT/big.bin" && intact=$((intact + 1))
done
check_eq "large files: 8 parallel downloads intact" 8 "$intact"

# ranges: one byte range gets 206, a range past the end 416, anything
# else (several ranges, or an If-Range that does not match) the whole file;
# downloads resume
headers=$(curl -s -D - -o "$TMP/range.out" -r 0-9 "$URL/big.bin" || true)
check_match "Range 0-9: 206" '^HTTP/1.1 206' "$headers"
check_eq "Range 0-9: Content-Range" 'bytes 0-9/1048576' "$(header Content-Range <<<"$headers")"
head -c 10 "$ROOT/big.bin" >"$TMP/want"
check_cmd "Range 0-9: the first 10 bytes" cmp -s "$TMP/range.out" "$TMP/want"
curl -s -r 1048570- -o "$TMP/got" "$URL/big.bin" || true
tail -c 6 "$ROOT/big.bin" >"$TMP/want"
check_cmd "Range 1048570-: the last 6 bytes" cmp -s "$TMP/got" "$TMP/want"
# the first request caches the file in the worker that the second one,
# on the same connection, asks for a range
headers=$(curl -s -o /dev/null "$URL/hello.txt" --next -s -D - -o "$TMP/range.out" -r -5 \
        "$URL/hello.txt" || true)
check_eq "Range -5 of a cached small file: Content-Range" 'bytes 6-10/11' \
        "$(header Content-Range <<<"$headers")"
tail -c 5 "$ROOT/hello.txt" >"$TMP/want"
check_cmd "Range -5: the last 5 bytes" cmp -s "$TMP/range.out" "$TMP/want"
headers=$(curl -s -D - -o /dev/null -r 5000000- "$URL/big.bin" || true)
check_match "Range past the end: 416" '^HTTP/1.1 416' "$headers"
check_eq "Range past the end: Content-Range names the size" 'bytes */1048576' \
        "$(header Content-Range <<<"$headers")"
check_eq "two ranges: the whole file, 200" 200 "$(http_code "$URL/hello.txt" -r 0-1,5-6)"
check_eq "Range with a wrong If-Range: the whole file, 200" 200 \
        "$(http_code "$URL/hello.txt" -r 0-3 -H 'If-Range: x')"
check_eq "files say Accept-Ranges: bytes" bytes \
        "$(curl -s -D - -o /dev/null "$URL/hello.txt" | header Accept-Ranges || true)"
head -c 300000 "$ROOT/big.bin" >"$TMP/resumed"
curl -s -C - -o "$TMP/resumed" "$URL/big.bin" || true
check_cmd "curl -C - resumes a cut download to the whole file" cmp -s "$TMP/resumed" "$ROOT/big.bin"

# conditional requests: every file answer carries ETag and Last-Modified;
# a client whose copy is current gets 304, headers only; If-Range with the
# current validator gets its range. cond.txt is asked for a few times first
# so that both workers hold it in their caches.
cond() { # cond URL CURL-ARGS...: status line, headers, then "body-bytes: N"
        local url=$1
        shift
        curl -s -D - -o /dev/null -w 'body-bytes: %{size_download}\n' --max-time 5 "$@" "$url" |
                tr -d '\r' || true
}
status() { head -n1 | cut -d' ' -f2; } # the status code in cond's output
printf 'version one\n' >"$ROOT/cond.txt"
touch -d '2024-01-01 00:00:00 UTC' "$ROOT/cond.txt"
check_eq "GET /cond.txt: both workers hold it" "$(printf "1 200\n2 200")" "$(on_each_worker /cond.txt)"
out=$(cond "$URL/cond.txt")
etag=$(header ETag <<<"$out")
lm=$(header Last-Modified <<<"$out")
check_match "GET /cond.txt: a quoted, strong ETag" '^"[^"]+"$' "$etag"
check_eq "GET /cond.txt: Last-Modified is the file's mtime" 'Mon, 01 Jan 2024 00:00:00 GMT' "$lm"
etag=${etag:-'"none-sent"'} # curl drops an empty header: keep every request conditional
lm=${lm:-'Mon, 01 Jan 2024 00:00:00 GMT'}
out=$(cond "$URL/cond.txt" -H "If-None-Match: $etag")
check_eq "If-None-Match with the ETag: 304" 304 "$(status <<<"$out")"
check_eq "304: the same ETag" "$etag" "$(header ETag <<<"$out")"
check_eq "304: Last-Modified" "$lm" "$(header Last-Modified <<<"$out")"
# curl never reads a 304's body, so ask on a raw connection the server closes
check_eq "304: no body, though Content-Length names the file's" "body-bytes: 0" \
        "$(raw_request GET /cond.txt "If-None-Match: $etag" | tail -n1)"
check_eq "304: no Content-Length but the file's" "" \
        "$(header Content-Length <<<"$out" | grep -vx 12 || true)"
check_eq "If-None-Match with the weak form of the ETag, in a list: 304" 304 \
        "$(cond "$URL/cond.txt" -H "If-None-Match: \"x\", W/$etag" | status)"
check_eq "If-None-Match: *: 304" 304 "$(cond "$URL/cond.txt" -H 'If-None-Match: *' | status)"
check_eq "HEAD with If-None-Match: 304" 304 \
        "$(cond "$URL/cond.txt" -I -H "If-None-Match: $etag" | status)"
out=$(cond "$URL/cond.txt" -H 'If-None-Match: "not-it"')
check_eq "If-None-Match with another ETag: 200" 200 "$(status <<<"$out")"
check_eq "If-None-Match with another ETag: the body" "body-bytes: 12" "$(tail -n1 <<<"$out")"
check_eq "If-Modified-Since equal to Last-Modified: 304" 304 \
        "$(cond "$URL/cond.txt" -H "If-Modified-Since: $lm" | status)"
check_eq "If-Modified-Since a second earlier: 200" 200 \
        "$(cond "$URL/cond.txt" -H 'If-Modified-Since: Sun, 31 Dec 2023 23:59:59 GMT' | status)"
check_eq "If-Modified-Since that is no date: ignored, 200" 200 \
        "$(cond "$URL/cond.txt" -H 'If-Modified-Since: yesterday' | status)"
check_eq "If-None-Match not matching wins over If-Modified-Since: 200" 200 \
        "$(cond "$URL/cond.txt" -H 'If-None-Match: "not-it"' -H "If-Modified-Since: $lm" | status)"
check_eq "/healthz ignores If-None-Match: *" 200 \
        "$(cond "$URL/healthz" -H 'If-None-Match: *' | status)"

# If-Match (strong comparison) and If-Unmodified-Since: 412 when they fail,
# before anything else is looked at; cond.txt comes from the workers' caches
check_eq "If-Match with the ETag: 200" 200 "$(cond "$URL/cond.txt" -H "If-Match: $etag" | status)"
check_eq "If-Match: *: 200" 200 "$(cond "$URL/cond.txt" -H 'If-Match: *' | status)"
out=$(raw_request GET /cond.txt 'If-Match: "not-it"')
check_match "If-Match with another ETag: 412" '^HTTP/1.1 412' "$out"
check_eq "412: a short body" "body-bytes: $(printf '412 Precondition Failed\n' | wc -c)" \
        "$(tail -n1 <<<"$out")"
check_eq "If-Match with the weak form of the ETag: 412" 412 \
        "$(cond "$URL/cond.txt" -H "If-Match: W/$etag" | status)"
check_eq "If-Match that is no entity-tag list: 412" 412 \
        "$(cond "$URL/cond.txt" -H 'If-Match: garbage' | status)"
check_eq "HEAD with If-Match with another ETag: 412" 412 \
        "$(cond "$URL/cond.txt" -I -H 'If-Match: "not-it"' | status)"
check_eq "If-Match failing wins over a matching If-None-Match: 412" 412 \
        "$(cond "$URL/cond.txt" -H 'If-Match: "not-it"' -H "If-None-Match: $etag" | status)"
check_eq "If-Match on both workers: 412 from each" "$(printf "1 412\n2 412")" \
        "$(on_each_worker /cond.txt -H 'If-Match: "not-it"')"
check_eq "If-Unmodified-Since a second before Last-Modified: 412" 412 \
        "$(cond "$URL/cond.txt" -H 'If-Unmodified-Since: Sun, 31 Dec 2023 23:59:59 GMT' | status)"
check_eq "If-Unmodified-Since equal to Last-Modified: 200" 200 \
        "$(cond "$URL/cond.txt" -H "If-Unmodified-Since: $lm" | status)"
check_eq "If-Unmodified-Since in the future: 200" 200 \
        "$(cond "$URL/cond.txt" -H 'If-Unmodified-Since: Fri, 01 Jan 2100 00:00:00 GMT' | status)"
check_eq "If-Unmodified-Since that is no date: ignored, 200" 200 \
        "$(cond "$URL/cond.txt" -H 'If-Unmodified-Since: yesterday' | status)"
check_eq "If-Unmodified-Since in the past beside a matching If-Match: ignored, 200" 200 \
        "$(cond "$URL/cond.txt" -H "If-Match: $etag" \
                -H 'If-Unmodified-Since: Sun, 31 Dec 2023 23:59:59 GMT' | status)"
check_eq "If-Unmodified-Since in the past, If-Modified-Since current: 412" 412 \
        "$(cond "$URL/cond.txt" -H 'If-Unmodified-Since: Sun, 31 Dec 2023 23:59:59 GMT' \
                -H "If-Modified-Since: $lm" | status)"

# several lines of a list header are one list (RFC 9110, 5.3), whatever
# the case of their names
check_match "two If-None-Match lines, the second with the ETag: 304" '^HTTP/1.1 304' \
        "$(raw_request GET /cond.txt 'If-None-Match: "x"' "if-none-match: $etag" | head -n1)"
check_match "two If-None-Match lines, neither with the ETag: 200" '^HTTP/1.1 200' \
        "$(raw_request GET /cond.txt 'If-None-Match: "x"' 'If-None-Match: "y"' | head -n1)"
check_match "two If-Match lines, the second with the ETag: 200" '^HTTP/1.1 200' \
        "$(raw_request GET /cond.txt 'If-Match: "x"' "IF-MATCH: $etag" | head -n1)"
check_match "two If-Match lines, the second with its weak form: 412" '^HTTP/1.1 412' \
        "$(raw_request GET /cond.txt "If-Match: \"x\"" "If-Match: W/$etag" | head -n1)"

# a large file, sent with sendfile from the opened fd; older than a second,
# so that its Last-Modified is a strong validator for If-Range
touch -d '2024-01-05 00:00:00 UTC' "$ROOT/big.bin"
out=$(cond "$URL/big.bin")
big_etag=$(header ETag <<<"$out")
check_match "GET /big.bin: an ETag" '^"[^"]+"$' "$big_etag"
big_etag=${big_etag:-'"none-sent"'}
big_lm=$(LC_ALL=C date -u -r "$ROOT/big.bin" '+%a, %d %b %Y %H:%M:%S GMT')
check_eq "GET /big.bin: Last-Modified is the file's mtime" "$big_lm" \
        "$(header Last-Modified <<<"$out")"
out=$(cond "$URL/big.bin" -H "If-None-Match: $big_etag")
check_eq "big.bin, If-None-Match with the ETag: 304" 304 "$(status <<<"$out")"
check_eq "big.bin, 304: Content-Length is the file's size or none" "" \
        "$(header Content-Length <<<"$out" | grep -vx 1048576 || true)"
out=$(cond "$URL/big.bin" -r 0-9 -H "If-Range: $big_etag")
check_eq "If-Range with the ETag: 206" 206 "$(status <<<"$out")"
check_eq "If-Range with the ETag: 10 bytes" "body-bytes: 10" "$(tail -n1 <<<"$out")"
check_eq "206: the same ETag" "$big_etag" "$(header ETag <<<"$out")"
check_eq "If-Range with Last-Modified: 206" 206 \
        "$(cond "$URL/big.bin" -r 0-9 -H "If-Range: $big_lm" | status)"
out=$(cond "$URL/big.bin" -r 0-9 -H 'If-Range: "not-it"')
check_eq "If-Range with another ETag: 200" 200 "$(status <<<"$out")"
check_eq "If-Range with another ETag: the whole file" "body-bytes: 1048576" "$(tail -n1 <<<"$out")"
check_eq "If-Range with the weak form of the ETag: 200" 200 \
        "$(cond "$URL/big.bin" -r 0-9 -H "If-Range: W/$big_etag" | status)"
check_eq "If-Range with another date: 200" 200 \
        "$(cond "$URL/big.bin" -r 0-9 -H 'If-Range: Mon, 01 Jan 2024 00:00:00 GMT' | status)"
# from the opened file, not the cache
check_eq "big.bin, If-Match with the ETag: 200" 200 \
        "$(cond "$URL/big.bin" -I -H "If-Match: $big_etag" | status)"
check_eq "big.bin, Range with If-Match with another ETag: 412, no 206" 412 \
        "$(cond "$URL/big.bin" -r 0-9 -H 'If-Match: "not-it"' | status)"
check_eq "big.bin, If-Unmodified-Since before its mtime: 412" 412 \
        "$(cond "$URL/big.bin" -I -H 'If-Unmodified-Since: Mon, 01 Jan 2024 00:00:00 GMT' | status)"
check_eq "big.bin, If-Unmodified-Since at its mtime: 200" 200 \
        "$(cond "$URL/big.bin" -I -H "If-Unmodified-Since: $big_lm" | status)"
# a 416 names the version whose size it gives
out=$(cond "$URL/big.bin" -r 2000000-)
check_eq "416: the file's ETag" "$big_etag" "$(header ETag <<<"$out")"
check_eq "416: the file's Last-Modified" "$big_lm" "$(header Last-Modified <<<"$out")"

# a file touched into the future says Last-Modified no later than its Date
# (RFC 9110, 8.8.2.1), from every worker, cached or not
# future_answers FILE: of 6 requests, how many got 200 with a Last-Modified
# no later than their Date and earlier than FILE's mtime (clamped)
future_answers() {
        local n=0 out lm_s date_s mtime_s
        mtime_s=$(date -r "$1" +%s)
        for _ in 1 2 3 4 5 6; do
                out=$(cond "$URL/${1##*/}")
                lm_s=$(date -d "$(header Last-Modified <<<"$out")" +%s 2>/dev/null || echo 0)
                date_s=$(date -d "$(header Date <<<"$out")" +%s 2>/dev/null || echo -1)
                if [[ $(status <<<"$out") == 200 && $lm_s -gt 0 && $lm_s -le $date_s &&
                        $lm_s -lt $mtime_s ]]; then
                        n=$((n + 1))
                fi
        done
        echo "$n"
}
printf 'from the future\n' >"$ROOT/future.txt"
touch -d "@$(($(date +%s) + 3600))" "$ROOT/future.txt"
check_eq "mtime an hour ahead: Last-Modified no later than Date, six times" 6 \
        "$(future_answers "$ROOT/future.txt")"
check_match "mtime an hour ahead: still an ETag" '^"[^"]+"$' \
        "$(cond "$URL/future.txt" | header ETag)"
# a clamped date holds for its moment only: once the clock has passed the
# mtime, the mtime itself, also from a worker that answered before
printf 'soon\n' >"$ROOT/soon.txt"
touch -d "@$(($(date +%s) + 2))" "$ROOT/soon.txt"
check_eq "mtime 2 s ahead: clamped at first, six times" 6 "$(future_answers "$ROOT/soon.txt")"
sleep 3
future_lm=$(LC_ALL=C date -u -r "$ROOT/soon.txt" '+%a, %d %b %Y %H:%M:%S GMT')
future_ok=0
for _ in 1 2 3 4 5 6; do
        [[ $(cond "$URL/soon.txt" | header Last-Modified) == "$future_lm" ]] &&
                future_ok=$((future_ok + 1))
done
check_eq "mtime now past: Last-Modified is the mtime again, six times" 6 "$future_ok"

# a changed file never answers to its old validators, cached or not: new
# content of the same size, then only a new mtime
printf 'version two\n' >"$ROOT/cond.txt"
touch -d '2024-01-02 00:00:00 UTC' "$ROOT/cond.txt"
check_eq "rewritten: the old ETag gets 200 from both workers" "$(printf "1 200\n2 200")" \
        "$(on_each_worker /cond.txt -H "If-None-Match: $etag")"
out=$(cond "$URL/cond.txt")
etag2=$(header ETag <<<"$out")
check_match "rewritten: a new ETag" '^"[^"]+"$' "$etag2"
etag2=${etag2:-'"none-sent"'}
check_cmd "rewritten: the new ETag differs from the old" test "$etag2" != "$etag"
check_eq "rewritten: Last-Modified moves on" 'Tue, 02 Jan 2024 00:00:00 GMT' \
        "$(header Last-Modified <<<"$out")"
check_eq "rewritten: the old Last-Modified in If-Modified-Since gets 200" 200 \
        "$(cond "$URL/cond.txt" -H "If-Modified-Since: $lm" | status)"
curl -s -o "$TMP/got" "$URL/cond.txt" -H "If-None-Match: $etag" || true
check_cmd "rewritten: the new content" cmp -s "$TMP/got" "$ROOT/cond.txt"
check_eq "rewritten: the new ETag gets 304" 304 \
        "$(cond "$URL/cond.txt" -H "If-None-Match: $etag2" | status)"
touch -d '2024-01-03 00:00:00 UTC' "$ROOT/cond.txt"
check_eq "touched: the previous ETag gets 200" 200 \
        "$(cond "$URL/cond.txt" -H "If-None-Match: $etag2" | status)"
check_eq "touched: If-Range with the previous ETag gets the whole file" 200 \
        "$(cond "$URL/cond.txt" -r 0-3 -H "If-Range: $etag2" | status)"

# what cp -p and rsync -t --inplace do: new bytes of the same size written
# into the same inode, the old mtime put back, so only the ctime tells. One
# kept-alive connection, so one worker: it caches the file on the first GET,
# answers the second from its cache, then the file is rewritten so, and the
# third GET must see the new bytes.
printf 'first copy\n' >"$ROOT/inplace.txt"
printf 'other copy\n' >"$TMP/inplace.new"
touch -d '2024-01-04 00:00:00.123456789 UTC' "$ROOT/inplace.txt"
touch -r "$ROOT/inplace.txt" "$TMP/inplace.new"
before=$(stat -c '%i %s %.9Y' "$ROOT/inplace.txt")
ctime_before=$(stat -c %.9Z "$ROOT/inplace.txt")
bodies=$(python3 - "$PORT" "$TMP/inplace.new" "$ROOT/inplace.txt" <<'PY'
import http.client, subprocess, sys, time
port, new, target = int(sys.argv[1]), sys.argv[2], sys.argv[3]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
def get():
    c.request("GET", "/inplace.txt")
    r = c.getresponse()
    print(r.status, r.read().decode().strip())
get()
get()
time.sleep(0.02)  # older kernels stamp ctime from a clock of a few ms
subprocess.run(["cp", "-p", new, target], check=True)
get()
PY
)
check_eq "cp -p over a cached file: inode, size and mtime stay" "$before" \
        "$(stat -c '%i %s %.9Y' "$ROOT/inplace.txt")"
check_cmd "cp -p over a cached file: the ctime moves on" \
        test "$(stat -c %.9Z "$ROOT/inplace.txt")" != "$ctime_before"
check_eq "cp -p over a cached file: the next GET has the new bytes" \
        $'200 first copy\n200 first copy\n200 other copy' "$bodies"

# health
check_eq "GET /healthz: 200" 200 "$(http_code "$URL/healthz")"
check_eq "HEAD /healthz: 200" 200 "$(http_code "$URL/healthz" -I)"
metrics=$(curl -s "$URL/metrics" || true)
check_match "GET /metrics: worker 1's counters" 'clusterd_worker_requests_total\{worker="1"\} [0-9]+' \
        "$metrics"
check_match "GET /metrics: worker 2's counters, from whichever worker answers" \
        'clusterd_worker_requests_total\{worker="2"\} [0-9]+' "$metrics"
check_match "GET /metrics: the total" $'\nclusterd_requests_total [0-9]+' "$metrics"
check_match "GET /metrics: the manager's figures" $'\nclusterd_workers_serving 2' "$metrics"
# one connection (curl keeps it across --next), so one worker answers them
# all: its byte counter before and after the 1 MiB file (sent with sendfile)
# and a small one twice (the second time, at least, from the in-memory
# cache), and after a HEAD of the large one
curl -s -o "$TMP/metrics1" -D "$TMP/head1" "$URL/metrics" \
        --next -s -o /dev/null "$URL/big.bin" -o /dev/null "$URL/hello.txt" -o /dev/null "$URL/hello.txt" \
        --next -s -o "$TMP/metrics2" -D "$TMP/head2" "$URL/metrics" \
        --next -s -I -o /dev/null "$URL/big.bin" \
        --next -s -o "$TMP/metrics3" -D "$TMP/head3" "$URL/metrics" || true
want=$((1048576 + 2 * $(stat -c %s "$ROOT/hello.txt")))
answered_by() { # answered_by HEADERS: the worker a /metrics answer names
        sed -n 's/^X-Clusterd-Worker: \([0-9]*\)\r\?$/\1/ip' "$1" | head -n1
}
sent_bytes() { # sent_bytes FILE WORKER: WORKER's byte counter in a /metrics answer
        sed -n "s/^clusterd_worker_sent_bytes_total{worker=\"$2\"} \([0-9]*\)$/\1/p" "$1"
}
w1=$(answered_by "$TMP/head1") w2=$(answered_by "$TMP/head2") w3=$(answered_by "$TMP/head3")
b1=$(sent_bytes "$TMP/metrics1" "$w1") b2=$(sent_bytes "$TMP/metrics2" "$w1")
b3=$(sent_bytes "$TMP/metrics3" "$w1")
check_cmd "GET /metrics: clusterd_worker_sent_bytes_total grew by the $want bytes sent (${b1:-none} -> ${b2:-none})" \
        test -n "${w1:-}" -a "${w1:-}" = "${w2:-}" -a "$((${b2:-0} - ${b1:-0}))" -eq "$want"
check_cmd "HEAD sends no body and adds nothing to it (${b2:-none} -> ${b3:-none})" \
        test -n "${w3:-}" -a "${w2:-}" = "${w3:-}" -a "${b3:-0}" = "${b2:-}"

# IPv6
if ((${#listen6[@]})); then
        check_eq "GET http://[::1]:$PORT6/: 200" 200 "$(http_code "http://[::1]:$PORT6/")"
        check_cmd "GET http://[::1]:$PORT6/: same index.html" \
                cmp -s <(curl -s "http://[::1]:$PORT6/") "$ROOT/index.html"
else
        skip "IPv6: this machine cannot bind ::1"
fi

kill -TERM "$CD_PID"
wait_exit "$CD_PID" 20 || die "clusterd did not stop within 20s"
check_eq "SIGTERM: exit status 0" 0 "$EXIT_STATUS"
finish
