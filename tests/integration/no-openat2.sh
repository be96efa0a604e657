#!/usr/bin/env bash
# Where openat2() is missing (kernels before 5.6) or filtered (seccomp
# profiles that answer ENOSYS), workers open paths by walking them one
# component at a time with O_NOFOLLOW (path.c). This runs the real clusterd
# under a seccomp filter that makes openat2 fail with ENOSYS, as such a
# profile does, and checks that it serves, refuses every symlink (README:
# the walk "refuses every symlink"), those that lead out of the root with
# 403, and still refuses ".." and dotfiles.
# Needs Debian's python3-seccomp (tests/run installs it); skips without it.
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

# the interpreter python3-seccomp is built for, whatever python3 PATH finds
SECCOMP_PYTHON=/usr/bin/python3
if ! "$SECCOMP_PYTHON" -c 'import seccomp' 2>/dev/null; then
        skip "no python3-seccomp for $SECCOMP_PYTHON: apt-get install python3-seccomp"
        exit 77
fi
# WRAP's command: loads the filter (kept across fork and exec, so the
# workers have it too), makes sure openat2 now fails with ENOSYS, and execs
# clusterd with the rest of its arguments
# shellcheck disable=SC2016 # Python, not shell
WRAP=("$SECCOMP_PYTHON" -c '
import ctypes, errno, os, seccomp, sys
f = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
f.add_rule(seccomp.ERRNO(errno.ENOSYS), "openat2")
f.load()
libc = ctypes.CDLL(None, use_errno=True)
nr = seccomp.resolve_syscall(seccomp.Arch.NATIVE, "openat2")
if libc.syscall(nr, -100, b"/", None, 0) != -1 or ctypes.get_errno() != errno.ENOSYS:
    sys.exit("openat2 does not fail with ENOSYS under the filter")
os.execv(sys.argv[1], sys.argv[1:])')

make_root
make_links
printf 'SECRET=hunter2\n' >"$ROOT/.env"
mkdir -p "$ROOT/.well-known"
printf 'Contact: mailto:security@example.org\n' >"$ROOT/.well-known/security.txt"
printf 'hidden\n' >"$ROOT/docs/.hidden"
PORT=$(free_port)
clusterd_start --workers 1
wait_serving 1

worker=$(worker_pids)
check_match "the worker runs under the filter (Seccomp: 2 in its status)" '^Seccomp:[[:space:]]+2$' \
        "$(grep '^Seccomp:' "/proc/$worker/status" 2>/dev/null || true)"

# serving, as with openat2
check_get "GET /" / 200 "$ROOT/index.html"
check_get "GET /hello.txt" /hello.txt 200 "$ROOT/hello.txt"
check_get "GET /hello.txt again (from the cache)" /hello.txt 200 "$ROOT/hello.txt"
check_get "GET /docs/" /docs/ 200 "$ROOT/docs/index.html"
check_get "GET /docs/index.html" /docs/index.html 200 "$ROOT/docs/index.html"
check_eq "GET /docs: 301 to /docs/" /docs/ \
        "$(curl -s -D - -o /dev/null "http://127.0.0.1:$PORT/docs" | tr -d '\r' |
                sed -n 's/^Location: //ip' || true)"
check_get "GET /missing.txt" /missing.txt 404

# "..": refused before any open, whichever way it is written
check_get "GET /../../../../etc/passwd" /../../../../etc/passwd 403
check_get "GET /docs/../../outside/secret.txt" /docs/../../outside/secret.txt 403
check_get "GET /%2e%2e/outside/secret.txt" /%2e%2e/outside/secret.txt 403

# dotfiles: 404, and a top-level /.well-known/ is served
check_get "GET /.env" /.env 404
check_get "GET /docs/.hidden" /docs/.hidden 404
check_get "GET /.well-known/security.txt" /.well-known/security.txt 200 \
        "$ROOT/.well-known/security.txt"

# symlinks: the walk follows none, not even one that stays inside, which
# openat2 serves (symlinks.sh): a 403 here is the walk's own answer. A
# symlink as the last component fails with ELOOP: 403.
check_get "GET /in-file (-> hello.txt)" /in-file 403
check_get "GET /in-chain (-> in-chain-2 -> hello.txt)" /in-chain 403
check_get "GET /abs-in (-> \$ROOT/hello.txt, absolute)" /abs-in 403
check_get "GET /out-file (-> a file outside)" /out-file 403
check_get "GET /etc-passwd (-> /etc/passwd)" /etc-passwd 403
check_get "GET /out-dir/ (a directory outside)" /out-dir/ 403
check_get "GET /out-dir (a directory outside)" /out-dir 403
check_get "GET /docs/up-up (-> ../../outside/secret.txt)" /docs/up-up 403
check_get "GET /out-chain (-> out-chain-2 -> docs/up-up -> outside)" /out-chain 403
# A symlink walked through as a directory: refused as a symlink (403), as
# openat2 and README's table have it, not taken for a file asked for as a
# directory (404)
check_get "GET /in-dir/index.html (in-dir -> docs)" /in-dir/index.html 403
check_get "GET /out-dir/secret.txt (out-dir -> a directory outside)" /out-dir/secret.txt 403
check_get "GET /up-dir/outside/secret.txt (up-dir -> ..)" /up-dir/outside/secret.txt 403
check_get "GET /hello.txt afterwards" /hello.txt 200 "$ROOT/hello.txt"
check_no_match "no answer needed a warning" 'cannot tell where|cannot open' "$(cat "$LOG")"

kill -TERM "$CD_PID"
wait_exit "$CD_PID" 20 || die "clusterd did not stop within 20s"
check_eq "SIGTERM: exit status 0" 0 "$EXIT_STATUS"
finish
