#!/usr/bin/env bash
# The project's one format and its shell scripts' hygiene, checked in CI:
# clang-format (rules in .clang-format) over the C sources, shellcheck over
# every script. Usage: tests/lint.sh SOURCE_DIR
set -euo pipefail
cd "$1"
status=0
if clang-format --dry-run --Werror src/*.c src/*.h tests/*.c; then
    echo "ok - C sources match .clang-format"
else
    echo "not ok - C sources differ from .clang-format (run: clang-format -i src/*.[ch] tests/*.c)"
    status=1
fi
scripts=(tests/run service/run .ci/run tests/*.sh tests/integration/*.sh tests/bus/*.sh
    tests/e2e/*.sh bench/run bench/tls bench/accesslog bench/compressed packaging/build-deb packaging/install-missing.sh service/clusterd-reload
    subprojects/fetch-libmicrohttpd subprojects/packagefiles/libmicrohttpd/build-static)
if shellcheck -x "${scripts[@]}"; then
    echo "ok - shellcheck: ${#scripts[@]} scripts"
else
    echo "not ok - shellcheck"
    status=1
fi
exit "$status"
