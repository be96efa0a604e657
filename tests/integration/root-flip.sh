#!/usr/bin/env bash
# Deploys under load (README, "Deploying a new release"): the root named as
# a symlink, current -> releases/v1, flipped with ln -sfn + mv -T, and then
# a root named as a directory with a new one renamed into place. Each time,
# with ab fetching a cached file on keep-alive and on fresh connections, no
# request fails; the new release is all that is served within 1.5 s, on old
# keep-alive connections and on new ones alike; a download begun before the
# deploy ends with the old release's bytes; a symlink to a dotfile in the
# new release stays hidden; the old release can be deleted afterwards; and
# in a further deploy, a file that only the newest release has is found at
# once, not only within the second.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

# ab_connected: ab has a connection open to the server
# shellcheck disable=SC2317 # called through wait_for
ab_connected() {
        [[ -n $(ss -Htn state established "( dport = :$PORT )") ]]
}

# make_release DIR NAME: a release whose hello.txt says "release NAME" (the
# same length for every NAME of two characters: ab counts a body of another
# length as a failed request), a 1 MiB big.bin of its own, a symlink to a
# plain file and one to a dotfile, and new-NAME.txt, which no other has
make_release() {
        mkdir -p "$1/docs"
        printf 'only in %s\n' "$2" >"$1/new-$2.txt"
        printf 'release %s\n' "$2" >"$1/hello.txt"
        printf '<p>docs of %s</p>\n' "$2" >"$1/docs/index.html"
        head -c 1048576 /dev/urandom >"$1/big.bin"
        printf 'SECRET=%s\n' "$2" >"$1/.env"
        ln -s .env "$1/envlink"
        ln -s hello.txt "$1/hello-link"
}

# poll STOP-FILE OUT: every 20 ms until STOP-FILE exists, GET /hello.txt on
# each of 8 keep-alive connections opened at the start and on one fresh
# connection; one line per answer in OUT: "MS KIND STATUS BODY", MS the wall
# clock in milliseconds, KIND "keep" or "fresh", STATUS 000 when the
# request failed
poll() {
        python3 -c '
import os, socket, sys, time
port, stop, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]

def get(s, close):
    s.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: t\r\n%s\r\n"
              % (b"Connection: close\r\n" if close else b""))
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            raise OSError("closed")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = s.recv(4096)
        if not chunk:
            raise OSError("closed")
        body += chunk
    return head.split(b" ")[1].decode(), body.decode(errors="replace").strip()

def connect():
    return socket.create_connection(("127.0.0.1", port), timeout=5)

keep = [connect() for _ in range(8)]
with open(out, "w", buffering=1) as f:
    while not os.path.exists(stop):
        for i in range(len(keep) + 1):
            try:
                if i < len(keep):
                    kind, answer = "keep", get(keep[i], False)
                else:
                    kind = "fresh"
                    with connect() as s:
                        answer = get(s, True)
            except (OSError, ValueError, IndexError) as e:
                answer = ("000", str(e).replace(" ", "_"))
                if i < len(keep):
                    keep[i] = connect()
            f.write("%d %s %s %s\n" % (time.time() * 1000, kind, answer[0],
                                       answer[1].replace(" ", "_")))
        time.sleep(0.02)' "$PORT" "$@"
}

# deploy_under_load NAME OLD-DIR DEPLOY-FUNCTION: what the head of this file
# says, with "DEPLOY-FUNCTION N" deploying release vN (first v2, then v3)
# and OLD-DIR naming v1's directory after the first deploy
deploy_under_load() {
        local name=$1 old=$2 deploy=$3 ab_keep ab_fresh poll_out=$TMP/poll-$1.txt flip_ms
        local code codes=()

        cp "$ROOT/big.bin" "$TMP/big-old.bin"
        # -t before -n: -t alone would cap the run at 50,000 requests
        ab -r -s 10 -k -c 8 -t 100 -n 2000000 "http://127.0.0.1:$PORT/hello.txt" \
                >"$TMP/ab-$name-keep.log" 2>&1 &
        ab_keep=$!
        track "$ab_keep"
        ab -r -s 10 -c 4 -t 100 -n 2000000 "http://127.0.0.1:$PORT/hello.txt" \
                >"$TMP/ab-$name-fresh.log" 2>&1 &
        ab_fresh=$!
        track "$ab_fresh"
        wait_for 30 ab_connected || die "$name: ab did not get going"
        # a download at 128 KiB/s from before the deploy until after the
        # old release is deleted
        rm -f "$TMP/big-got.bin" "$TMP/poll-stop"
        slow_get "$PORT" /big.bin "$TMP/big-got.bin" 131072 >"$TMP/slow-$name.log" 2>&1 &
        local slow=$!
        track "$slow"
        poll "$TMP/poll-stop" "$poll_out" &
        local poller=$!
        track "$poller"
        # both under way, however long python takes to start on a busy machine
        wait_for 20 test -s "$TMP/big-got.bin" || die "$name: the download did not begin"
        wait_for 20 test -s "$poll_out" || die "$name: the poller did not begin"
        sleep 0.5

        flip_ms=$(now_ms)
        "$deploy" 2
        sleep 2.5
        touch "$TMP/poll-stop"
        wait "$poller" || die "$name: the poller failed"

        local summary
        summary=$(awk -v flip="$flip_ms" '
                $3 != "200" { bad++ }
                $4 == "release_v1" && $1 <= flip { v1[$2]++ }
                $4 == "release_v1" && $1 > flip && $1 - flip > late[$2] { late[$2] = $1 - flip }
                $4 == "release_v2" { v2[$2]++ }
                END { printf "%d %d %d %d %d %d %d", bad, v1["keep"], v1["fresh"], late["keep"],
                        late["fresh"], v2["keep"], v2["fresh"] }' \
                "$poll_out")
        read -r bad v1_keep v1_fresh late_keep late_fresh v2_keep v2_fresh <<<"$summary"
        check_eq "$name: every polled answer was a 200" 0 "$bad"
        check_ge "$name: the old release polled before the deploy on keep-alive connections ($v1_keep answers)" \
                1 "$v1_keep"
        check_ge "$name: ... and on fresh ones ($v1_fresh answers)" 1 "$v1_fresh"
        check_le "$name: the old release seen on keep-alive connections until ${late_keep} ms after the deploy" \
                1500 "$late_keep"
        check_le "$name: the old release seen on fresh connections until ${late_fresh} ms after the deploy" \
                1500 "$late_fresh"
        check_ge "$name: the new release served on keep-alive connections ($v2_keep answers)" 1 "$v2_keep"
        check_ge "$name: the new release served on fresh connections ($v2_fresh answers)" 1 "$v2_fresh"
        check_get "$name: a symlink to a plain file in the new release" /hello-link 200 "$ROOT/hello.txt"
        check_get "$name: a symlink to a dotfile in the new release" /envlink 404
        check_get "$name: a directory's index in the new release" /docs/ 200 "$ROOT/docs/index.html"

        # the old release goes while ab runs and the download is under way
        check_cmd "$name: the download is still running when the old release is deleted" alive "$slow"
        rm -rf "$old"
        sleep 1
        if wait "$slow"; then
                pass "$name: the download begun before the deploy ended"
        else
                fail "$name: the download begun before the deploy ended ($(cat "$TMP/slow-$name.log"))"
        fi
        check_cmd "$name: ... with the old release's bytes" cmp -s "$TMP/big-old.bin" "$TMP/big-got.bin"
        check_get "$name: after the old release is gone" /hello.txt 200 "$ROOT/hello.txt"

        # v3 while ab keeps each worker's last look at the root less than
        # a second old: the lookup that fails looks again at once
        "$deploy" 3
        for _ in 1 2 3 4 5 6 7 8; do
                code=$(http_code "http://127.0.0.1:$PORT/new-v3.txt")
                codes+=("$code")
        done
        check_eq "$name: a file only the next release has, at once on 8 fresh connections" \
                "200 200 200 200 200 200 200 200" "${codes[*]}"

        kill -INT "$ab_keep" "$ab_fresh" 2>/dev/null || true
        wait "$ab_keep" || true # 1 after SIGINT; the report tells what happened
        wait "$ab_fresh" || true
        local kind out
        for kind in keep fresh; do
                out=$(cat "$TMP/ab-$name-$kind.log")
                check_match "$name, ab $kind: completed requests ($(grep -m1 '^Complete requests' <<<"$out" || true))" \
                        '^Complete requests: +[1-9][0-9]*$' "$out"
                check_match "$name, ab $kind: Failed requests: 0" '^Failed requests: +0$' "$out"
                check_no_match "$name, ab $kind: no non-2xx responses" '^Non-2xx responses' "$out"
        done
}

# 1. The Capistrano/Ansible layout: the root is a symlink to a release
SITE=$TMP/site
for v in v1 v2 v3; do
        make_release "$SITE/releases/$v" $v
done
ln -s releases/v1 "$SITE/current"
ROOT=$SITE/current
PORT=$(free_port)
clusterd_start --workers 2
wait_serving 2
check_get "flip: before, the first release" /hello.txt 200 "$SITE/releases/v1/hello.txt"
check_get "flip: before, a file of the second release is not found" /new-v2.txt 404

# deploy_flip N: current -> releases/vN
# shellcheck disable=SC2317 # called by deploy_under_load
deploy_flip() {
        (cd "$SITE" && ln -sfn "releases/v$1" current.tmp && mv -T current.tmp current)
}
deploy_under_load flip "$SITE/releases/v1" deploy_flip

kill -TERM "$CD_PID"
wait_exit "$CD_PID" 20 || die "flip: clusterd did not stop within 20s"
check_eq "flip: SIGTERM: exit status 0" 0 "$EXIT_STATUS"
check_no_match "flip: no warning logged" ' (warning|error) worker' "$(cat "$LOG")"

# 2. The root named as a directory, and a new one renamed into place
SITE=$TMP/renamed
make_release "$SITE/site" v1
make_release "$SITE/site.v2" v2
make_release "$SITE/site.v3" v3
ROOT=$SITE/site
PORT=$(free_port)
clusterd_start --workers 2
wait_serving 2

# deploy_rename N: site.vN renamed to site, the old site out of the way first
# shellcheck disable=SC2317 # called by deploy_under_load
deploy_rename() {
        (cd "$SITE" && mv site "site.old-v$(($1 - 1))" && mv "site.v$1" site)
}
deploy_under_load rename "$SITE/site.old-v1" deploy_rename

kill -TERM "$CD_PID"
wait_exit "$CD_PID" 20 || die "rename: clusterd did not stop within 20s"
check_eq "rename: SIGTERM: exit status 0" 0 "$EXIT_STATUS"
check_no_match "rename: no warning logged" ' (warning|error) worker' "$(cat "$LOG")"
finish
