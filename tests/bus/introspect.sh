#!/bin/bash
# shellcheck disable=SC2016,SC2119,SC2317 # checks are run through eval and wait_for
# The live introspection data matches service/dbus/io.clusterd1.xml, and the
# object tree holds one object per worker.
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

start_bus
start_clusterd 2

# One line per member, argument and annotation, members sorted: D-Bus gives
# member order no meaning, argument order it does. Whitespace, comments and
# the standard org.freedesktop.DBus.* interfaces are left out.
canonical() {
    python3 -c 'import sys, xml.etree.ElementTree as ET
want = sys.argv[2]
root = ET.fromstring(open(sys.argv[1]).read())
found = False
for iface in root.findall("interface"):
    if iface.get("name") != want:
        continue
    found = True
    members = []
    for m in iface:
        lines = []
        if m.tag == "property":
            lines.append("property %s %s %s" % (m.get("name"), m.get("type"), m.get("access")))
        elif m.tag in ("method", "signal"):
            lines.append("%s %s" % (m.tag, m.get("name")))
            for a in m.findall("arg"):
                d = a.get("direction") or ("in" if m.tag == "method" else "out")
                lines.append("  arg %s %s %s" % (d, a.get("type"), a.get("name")))
        elif m.tag == "annotation":
            lines.append("annotation %s=%s" % (m.get("name"), m.get("value")))
        else:
            continue
        notes = sorted("  annotation %s=%s" % (a.get("name"), a.get("value"))
                       for a in m.findall("annotation"))
        members.append("\n".join(lines + notes))
    for m in sorted(members):
        print(m)
if not found:
    print("interface %s missing" % want)' "$1" "$2"
}

compare() {
    local iface=$1 path=$2
    if ! bctl introspect --xml-interface io.clusterd1 "$path" >"$TMP/live.xml"; then
        fail "introspect $path"
        return
    fi
    canonical "$TMP/live.xml" "$iface" >"$TMP/live.txt"
    canonical "$SRCDIR/service/dbus/io.clusterd1.xml" "$iface" >"$TMP/file.txt"
    if [ -s "$TMP/file.txt" ] && diff -u "$TMP/file.txt" "$TMP/live.txt" >"$TMP/diff.txt"; then
        ok "introspection of $iface at $path matches io.clusterd1.xml ($(wc -l <"$TMP/live.txt") lines)"
    else
        fail "introspection of $iface at $path differs from io.clusterd1.xml:"
        cat "$TMP/diff.txt"
    fi
}

compare io.clusterd1.Manager /io/clusterd1
compare io.clusterd1.Worker /io/clusterd1/worker/1

bctl tree io.clusterd1 >"$TMP/tree.txt"
check "busctl tree shows /io/clusterd1/worker/1 and /2, and no /3" \
    eval 'grep -q "/io/clusterd1/worker/1$" "$TMP/tree.txt" &&
        grep -q "/io/clusterd1/worker/2$" "$TMP/tree.txt" &&
        ! grep -q "/io/clusterd1/worker/3$" "$TMP/tree.txt"'

objects=$(bctl --json=short call io.clusterd1 /io/clusterd1 org.freedesktop.DBus.ObjectManager \
    GetManagedObjects | python3 -c 'import json, sys
d = json.load(sys.stdin)["data"][0]
print(" ".join(sorted(p for p, i in d.items() if "io.clusterd1.Worker" in i)))')
check "GetManagedObjects lists the two worker objects ($objects)" \
    test "$objects" = "/io/clusterd1/worker/1 /io/clusterd1/worker/2"

check "worker objects report their id" \
    test "$(bctl get-property io.clusterd1 /io/clusterd1/worker/2 io.clusterd1.Worker Id)" = "u 2"

check "no object for a worker that does not exist (/io/clusterd1/worker/3, /worker/01)" \
    eval '! bctl get-property io.clusterd1 /io/clusterd1/worker/3 io.clusterd1.Worker Id \
            2>/dev/null &&
        ! bctl get-property io.clusterd1 /io/clusterd1/worker/01 io.clusterd1.Worker Id \
            2>/dev/null'

finish
