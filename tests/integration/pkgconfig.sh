#!/bin/sh
# Installs the build into a scratch root, builds examples/print_records.c
# against it through the installed llmbench.pc alone (and once more against
# the static archive), and runs both against the installed llm-mock.
# Usage: pkgconfig.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1
src=$2
cc=${CC:-cc}
# Set by the build for sanitizer builds, whose library needs their runtimes.
extra=${LLMB_EXTRA_CFLAGS:-}
dest=$(mktemp -d /tmp/llmb_pc_XXXXXX)
mock_pid=
cleanup() {
    if [ -n "$mock_pid" ]; then kill "$mock_pid" 2>/dev/null || true; wait "$mock_pid" 2>/dev/null || true; fi
    rm -rf "$dest"
}
trap cleanup EXIT INT TERM

meson install -C "$build" --destdir "$dest" --no-rebuild --quiet
pc=$(find "$dest" -name llmbench.pc | head -n 1)
[ -n "$pc" ] || { echo "no llmbench.pc was installed" >&2; exit 1; }
prefix=$(sed -n 's/^prefix=//p' "$pc")
# The .pc as installed, moved under the scratch root.
mkdir -p "$dest/pc"
sed "s|^prefix=.*|prefix=$dest$prefix|" "$pc" > "$dest/pc/llmbench.pc"
export PKG_CONFIG_PATH="$dest/pc"

libdir=$(pkg-config --variable=libdir llmbench)
bindir="$dest$prefix/bin"
$cc -std=c11 -Wall -Wextra -Werror $extra "$src/examples/print_records.c" \
    $(pkg-config --cflags --libs llmbench) -o "$dest/pr_shared"
$cc -std=c11 -Wall -Wextra -Werror $extra "$src/examples/print_records.c" \
    $(pkg-config --cflags llmbench) "$libdir/libllmbench.a" \
    $(pkg-config --libs libcurl jansson libpng) -lpthread -lm -o "$dest/pr_static"
# The static program must not need the shared library.
if ldd "$dest/pr_static" | grep -q libllmbench; then
    echo "pr_static links libllmbench.so" >&2
    exit 1
fi

LD_LIBRARY_PATH="$libdir" "$bindir/llm-mock" --port 0 --ttft-ms 5 --itl-ms 1 --quiet \
    > "$dest/mock.out" &
mock_pid=$!
for _ in $(seq 1 500); do
    grep -q listening "$dest/mock.out" 2>/dev/null && break
    sleep 0.01
done
url=$(sed -n 's/.*listening on //p' "$dest/mock.out")
[ -n "$url" ] || { echo "llm-mock did not start" >&2; exit 1; }

for prog in pr_shared pr_static; do
    LD_LIBRARY_PATH="$libdir" "$dest/$prog" "$url" 3 > "$dest/$prog.out"
    for n in 1 2 3; do
        grep -q "^#$n: TTFT .* 64 tokens" "$dest/$prog.out" || {
            echo "$prog: no line for request $n:" >&2
            cat "$dest/$prog.out" >&2
            exit 1
        }
    done
done
echo "built and ran print_records through $pc"
