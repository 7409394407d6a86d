#!/bin/bash
# The Debian package: builds it with scripts/package into a temporary
# directory, checks its contents and control data, and runs lintian on it,
# which must report no error (E:) tags.
#
#   package.sh SOURCE_DIR PACKAGE_BUILD_DIR
#
# PACKAGE_BUILD_DIR is kept between runs (scripts/package builds there), so
# a rerun rebuilds only what changed.
set -euo pipefail
src=$1
export HALTFW_PACKAGE_BUILD_DIR=$2

for tool in dpkg-deb dpkg-shlibdeps lintian readelf; do
    if ! command -v "$tool" >/dev/null; then
        echo "skipped: $tool is not installed (scripts/setup installs it)"
        exit 77
    fi
done

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
deb=$(PACKAGE_OUT=$out "$src/scripts/package" 2>"$out/package.log" | tail -n1) || {
    cat "$out/package.log"
    echo "FAIL: scripts/package failed"
    exit 1
}
echo "package: $deb"

fails=0
fail() {
    echo "FAIL: $*"
    fails=$((fails + 1))
}

version=$(sed -n 's/^project(haltfw VERSION \([0-9.]*\) .*/\1/p' "$src/CMakeLists.txt")
[[ $(basename "$deb") == "haltfw_${version}-1_amd64.deb" ]] || fail "file name '$(basename "$deb")', expected haltfw_${version}-1_amd64.deb"

# Contents.
listing=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in ./usr/sbin/haltfw ./usr/lib/haltfw/haltfw-final ./usr/lib/haltfw/haltfw-inert ./usr/share/lintian/overrides/haltfw \
    ./lib/systemd/system/haltfw.target ./lib/systemd/system/haltfw-arm.service \
    ./lib/systemd/system/haltfw-boot-halt.service ./lib/systemd/system/haltfw-watch.service ./etc/haltfw/haltfw.conf \
    ./usr/share/man/man8/haltfw.8.gz ./usr/share/man/man5/haltfw.conf.5.gz \
    ./usr/share/bash-completion/completions/haltfw \
    ./usr/share/doc/haltfw/copyright ./usr/share/doc/haltfw/changelog.Debian.gz; do
    grep -qxF "$f" <<<"$listing" || fail "the package lacks $f"
done
if grep -q '^\./usr/lib/systemd/' <<<"$listing"; then fail "units under /usr/lib/systemd, not /lib/systemd"; fi

# Control data: the conffile, Depends from the shared libraries, and no
# maintainer scripts (installing enables and starts nothing).
[[ $(dpkg-deb -I "$deb" conffiles) == /etc/haltfw/haltfw.conf ]] || fail "conffiles is not exactly /etc/haltfw/haltfw.conf"
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for lib in libnftables1 libnftnl11 libmnl0; do
    grep -qE "(^|, )$lib( |,|$)" <<<"$depends" || fail "Depends lacks $lib"
done
dpkg-deb -e "$deb" "$out/DEBIAN"
for script in preinst postinst prerm postrm config triggers; do
    [[ ! -e $out/DEBIAN/$script ]] || fail "the package has a $script"
done

# The example config enables nothing: every line is a comment or blank.
tree=$out/tree
dpkg-deb -x "$deb" "$tree"
if grep -nvE '^(#.*)?$' "$tree/etc/haltfw/haltfw.conf"; then fail "haltfw.conf has active lines (above)"; fi
# Stripped binaries.
for b in usr/sbin/haltfw usr/lib/haltfw/haltfw-final usr/lib/haltfw/haltfw-inert; do
    if readelf -S "$tree/$b" | grep -q '\.symtab\|\.debug_info'; then fail "/$b is not stripped"; fi
done
# haltfw-inert runs after the exitrd's libraries are gone: static.
if readelf -lW "$tree/usr/lib/haltfw/haltfw-inert" | grep -q 'program interpreter'; then fail "/usr/lib/haltfw/haltfw-inert is not static"; fi
echo "haltfw-inert: $(stat -c %s "$tree/usr/lib/haltfw/haltfw-inert") bytes"

# lintian: every line shown, no E: tags.
lint=$(lintian "$deb" 2>&1) || true
echo "lintian:"
echo "$lint"
if grep -q '^E:' <<<"$lint"; then fail "lintian reports errors"; fi

if ((fails)); then
    echo "package: $fails check(s) failed"
    exit 1
fi
echo "package: all checks pass"
