#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# linux-tree.sh KVER CACHE: install Debian's linux-source-KVER if missing
# (from the system's suites, else from sid, trixie-backports or bullseye through a
# private apt configuration in CACHE/apt), unpack it once into
# CACHE/linux-source-KVER and print that path. The
# unpack goes to a temporary directory first, so an interrupted run never
# leaves a half tree behind.
set -eu

kver=${1:?usage: linux-tree.sh KVER CACHE}
cache=${2:?usage: linux-tree.sh KVER CACHE}
pkg=linux-source-$kver
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)	# apt reads relative paths from /etc/apt
tree=$cache/$pkg

# The Debian package and version the tree came from, beside it: a series
# made from the tree names it as its base (there is no base-commit).
write_origin() {
	deb=$(ls "$cache/apt/${pkg}"_*.deb 2>/dev/null | head -n 1)
	if [ -n "$deb" ]; then
		ver=${deb##*/${pkg}_}
		ver=${ver%_all.deb}
	else
		ver=$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null || true)
	fi
	if [ -n "$ver" ]; then
		echo "$pkg $ver" > "$tree.origin"
	fi
}

if [ -f "$tree/Makefile" ]; then
	[ -f "$tree.origin" ] || write_origin
	echo "$tree"
	exit 0
fi

# The system's own Debian mirror, read (never edited) from its apt sources.
debian_mirror() {
	sed -n 's/^URIs:[[:space:]]*//p; s/^deb[[:space:]]\{1,\}\([^[:space:]]*\).*/\1/p' \
		/etc/apt/sources.list /etc/apt/sources.list.d/*.sources \
		/etc/apt/sources.list.d/*.list 2>/dev/null |
		tr ' ' '\n' | grep '/debian/*$' | head -n 1
}

# A release this system's suites do not carry (7.2 is in sid, 7.3 in
# trixie-backports, 5.10 in bullseye): fetch the .deb with a private apt configuration under
# the cache, which leaves the system's sources and state alone.
fetch_private() {
	apt_dir=$cache/apt
	mirror=$(debian_mirror)
	if [ -z "$mirror" ]; then
		echo "linux-tree: error: no Debian mirror in /etc/apt sources" >&2
		exit 1
	fi
	mkdir -p "$apt_dir/state/lists/partial" "$apt_dir/cache/archives/partial"
	: > "$apt_dir/state/status"
	{
		echo "deb $mirror sid main"
		echo "deb $mirror trixie-backports main"
		echo "deb $mirror bullseye main"
	} > "$apt_dir/sources.list"
	set -- -q -o Dir::Etc::sourcelist="$apt_dir/sources.list" \
		-o Dir::Etc::sourceparts=/nonexistent \
		-o Dir::State="$apt_dir/state" \
		-o Dir::State::status="$apt_dir/state/status" \
		-o Dir::Cache="$apt_dir/cache" \
		-o APT::Sandbox::User=root
	echo "linux-tree: apt-get update (private sources: sid, trixie-backports, bullseye)" >&2
	apt-get "$@" update >&2
	echo "linux-tree: downloading $pkg" >&2
	(cd "$apt_dir" && rm -f "${pkg}"_*.deb && apt-get "$@" download "$pkg" >&2)
	echo "linux-tree: extracting $pkg.tar.xz" >&2
	tarball=$apt_dir/$pkg.tar.xz
	dpkg-deb --fsys-tarfile "$apt_dir/${pkg}"_*.deb |
		tar -xO "./usr/src/$pkg.tar.xz" > "$tarball.tmp"
	mv "$tarball.tmp" "$tarball"
}

tarball=/usr/src/$pkg.tar.xz
if [ ! -f "$tarball" ] && [ -f "$cache/apt/$pkg.tar.xz" ]; then
	tarball=$cache/apt/$pkg.tar.xz
fi
if [ ! -f "$tarball" ]; then
	if apt-cache show "$pkg" >/dev/null 2>&1 ||
	   { apt-get update -q >&2 && apt-cache show "$pkg" >/dev/null 2>&1; }; then
		echo "linux-tree: installing $pkg" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" >&2
	else
		fetch_private
	fi
fi
if [ ! -f "$tarball" ]; then
	echo "linux-tree: error: $pkg did not install $tarball" >&2
	exit 1
fi

mkdir -p "$cache"
tmp=$(mktemp -d "$cache/.unpack-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "linux-tree: unpacking $tarball" >&2
tar -C "$tmp" -xf "$tarball"
mv "$tmp/$pkg" "$tree"
write_origin
echo "$tree"
