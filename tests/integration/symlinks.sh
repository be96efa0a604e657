#!/usr/bin/env bash
# Symlinks in the document root, with openat2(RESOLVE_BENEATH): one whose
# target stays inside the root is followed; one that leads out of it, to a
# file or a directory, by an absolute or a relative target, directly or at
# the end of a chain, is 403 (README: "a symlink leading out of the root").
# An absolute target is refused even when it names a file inside, since the
# kernel resolves it from "/", not from the root. Each status is exact: a
# 404 would also keep the file out, but says something else.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

make_root
make_links
PORT=$(free_port)
# one worker: a second request for a path finds what the first one cached
clusterd_start --workers 1
wait_serving 1

check_get "GET /in-file (-> hello.txt)" /in-file 200 "$ROOT/hello.txt"
check_get "GET /in-file again (from the cache)" /in-file 200 "$ROOT/hello.txt"
check_get "GET /in-dir/index.html (in-dir -> docs)" /in-dir/index.html 200 "$ROOT/docs/index.html"
check_get "GET /in-dir/ (its index.html)" /in-dir/ 200 "$ROOT/docs/index.html"
check_get "GET /in-chain (-> in-chain-2 -> hello.txt)" /in-chain 200 "$ROOT/hello.txt"
check_get "GET /abs-in (-> \$ROOT/hello.txt, absolute)" /abs-in 403

check_get "GET /out-file (-> a file outside, absolute)" /out-file 403
check_get "GET /out-file again" /out-file 403
check_get "GET /etc-passwd (-> /etc/passwd)" /etc-passwd 403
check_get "GET /out-dir/secret.txt (out-dir -> a directory outside)" /out-dir/secret.txt 403
check_get "GET /out-dir/ (a directory outside)" /out-dir/ 403
check_get "GET /out-dir (no redirect to a directory outside)" /out-dir 403
check_get "GET /docs/up-up (-> ../../outside/secret.txt)" /docs/up-up 403
check_get "GET /in-dir/up-up (the same, through an inside link)" /in-dir/up-up 403
check_get "GET /up-dir/outside/secret.txt (up-dir -> ..)" /up-dir/outside/secret.txt 403
check_get "GET /out-chain (-> out-chain-2 -> docs/up-up -> outside)" /out-chain 403
check_get "GET /hello.txt afterwards" /hello.txt 200 "$ROOT/hello.txt"
check_no_match "no answer needed a warning" 'cannot tell where|cannot open' "$(cat "$LOG")"

kill -TERM "$CD_PID"
wait_exit "$CD_PID" 20 || die "clusterd did not stop within 20s"
check_eq "SIGTERM: exit status 0" 0 "$EXIT_STATUS"
finish
