#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# linux-tree.sh KVER CACHE [DEBVER]: Debian's linux-source for KVER,
# unpacked once under CACHE; prints its path.
#
#   KVER    5.10, 6.1, 6.12, 7.2, 7.3, ... or a release candidate: 7.3~rc7
#   DEBVER  a Debian version of the package (6.12.95-1~bpo12+1); default:
#           the newest release the suites carry (for an -rc, its newest
#           upload)
#
# An installed linux-source package (/usr/src) is used only when it is the
# version asked for. Anything else comes through a private apt
# configuration under CACHE/apt (a copy of the system's own Debian sources,
# whose versions come first, and bullseye, bookworm, trixie, their
# backports, sid and experimental from the same mirror): the system's
# sources and state are never touched. The
# unpack goes to a temporary directory first, so an interrupted run never
# leaves a half tree behind. The package and version the tree came from
# are kept beside it (<tree>.origin): a series made from it names them.
set -eu

kver=${1:?usage: linux-tree.sh KVER CACHE [DEBVER]}
cache=${2:?usage: linux-tree.sh KVER CACHE [DEBVER]}
debver=${3:-}
base=${kver%%~*}
rc=
[ "$kver" = "$base" ] || rc=${kver#*~}
pkg=linux-source-$base
name=$pkg
[ -z "$rc" ] || name=$pkg~$rc
[ -z "$debver" ] || name=${pkg}_$debver
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)	# apt reads relative paths from /etc/apt
tree=$cache/$name
apt_dir=$cache/apt

die() {
	echo "linux-tree: error: $*" >&2
	exit 2
}

if [ -f "$tree/Makefile" ]; then
	echo "$tree"
	exit 0
fi

# Is version $1 the one asked for?
wanted() {
	if [ -n "$debver" ]; then
		[ "$1" = "$debver" ]
	elif [ -n "$rc" ]; then
		case $1 in "$kver"*) true ;; *) false ;; esac
	else
		case $1 in *~rc*) false ;; *) true ;; esac
	fi
}

debian_mirror() {
	sed -n 's/^URIs:[[:space:]]*//p; s/^deb[[:space:]]\{1,\}\([^[:space:]]*\).*/\1/p' \
		/etc/apt/sources.list /etc/apt/sources.list.d/*.sources \
		/etc/apt/sources.list.d/*.list 2>/dev/null |
		tr ' ' '\n' | grep '/debian/*$' | head -n 1
}

# apt-get or apt-cache with the private configuration under $apt_dir
private() {
	tool=$1
	shift
	"$tool" -o Dir::Etc::sourcelist="$apt_dir/sources.list" \
		-o Dir::Etc::sourceparts="$apt_dir/sources.list.d" \
		-o Dir::State="$apt_dir/state" \
		-o Dir::State::status="$apt_dir/state/status" \
		-o Dir::Cache="$apt_dir/cache" \
		-o APT::Sandbox::User=root "$@"
}

# The system's own Debian sources, copied (read, never edited), and the
# other suites: their package lists, fetched once a day at most.
private_update() {
	mirror=$(debian_mirror)
	[ -n "$mirror" ] || die "no Debian mirror in /etc/apt sources"
	mkdir -p "$apt_dir/state/lists/partial" "$apt_dir/cache/archives/partial" \
		"$apt_dir/sources.list.d"
	[ -f "$apt_dir/state/status" ] || : > "$apt_dir/state/status"
	rm -f "$apt_dir/sources.list.d/"*
	for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] && cp "$f" "$apt_dir/sources.list.d/system-${f##*/}"
	done
	own=$(system_suites)
	suites=
	for s in bullseye bookworm bookworm-backports trixie trixie-backports sid experimental; do
		echo "$own" | grep -qx "$s" || suites="$suites $s"
	done
	want=$(for s in $suites; do echo "deb $mirror $s main"; done
		[ ! -f /etc/apt/sources.list ] || grep '^deb ' /etc/apt/sources.list)
	if [ "$want" = "$(cat "$apt_dir/sources.list" 2>/dev/null)" ] &&
	   [ -n "$(find "$apt_dir/state/lists" -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null)" ]; then
		return
	fi
	echo "$want" > "$apt_dir/sources.list"
	echo "linux-tree: apt-get update (private: the system's suites,$suites)" >&2
	private apt-get -qq update >&2
}

# The suites this system's own apt sources name: their versions come first.
system_suites() {
	{
		sed -n 's/^Suites:[[:space:]]*//p' /etc/apt/sources.list.d/*.sources 2>/dev/null
		awk '$1 == "deb" { print $3 }' /etc/apt/sources.list \
			/etc/apt/sources.list.d/*.list 2>/dev/null
	} | tr ' ' '\n' | grep -v '^$' | sort -u
}

tarball=
ver=
installed=$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null || true)
if [ -f "/usr/src/$pkg.tar.xz" ] && [ -n "$installed" ] &&
   wanted "$installed"; then
	tarball=/usr/src/$pkg.tar.xz
	ver=$installed
else
	private_update
	# madison lists every version the suites carry, newest first
	all=$(private apt-cache madison "$pkg" 2>/dev/null |
		awk -F'|' '{ gsub(/ /, "", $2); split($3, a, " "); print $2 " " a[2] }')
	# The newest the system's own suites carry, as apt-get install would
	# have taken it; else the newest anywhere.
	own=$(system_suites)
	for pass in own any; do
		for v in $(echo "$all" | while read -r v where; do
				suite=${where%%/*}
				[ "$pass" = any ] || echo "$own" | grep -qx "$suite" &&
					echo "$v"
			done); do
			if wanted "$v"; then
				ver=$v
				break 2
			fi
		done
	done
	if [ -z "$ver" ]; then
		if [ -n "$all" ]; then
			echo "linux-tree: error: no $pkg ${debver:-$kver} in Debian's suites; there are:" >&2
			echo "$all" | sed 's/^/  /; s/ \([^ ]*\)$/ (\1)/' >&2
		else
			echo "linux-tree: error: Debian's suites carry no $pkg; there are:" >&2
			private apt-cache pkgnames linux-source- | grep -E '^linux-source-[0-9.]+$' |
				sort -V | sed 's/^/  /' >&2
		fi
		exit 2
	fi
	tarball=$apt_dir/${pkg}_$ver.tar.xz
	if [ ! -f "$tarball" ]; then
		echo "linux-tree: downloading $pkg $ver" >&2
		rm -f "$apt_dir/${pkg}"_*.deb
		(cd "$apt_dir" && private apt-get -q download "$pkg=$ver" >&2)
		dpkg-deb --fsys-tarfile "$apt_dir/${pkg}"_*.deb |
			tar -xO "./usr/src/$pkg.tar.xz" > "$tarball.tmp"
		mv "$tarball.tmp" "$tarball"
		rm -f "$apt_dir/${pkg}"_*.deb
	fi
fi

tmp=$(mktemp -d "$cache/.unpack-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "linux-tree: unpacking $pkg $ver" >&2
tar -C "$tmp" -xf "$tarball"
mv "$tmp/$pkg" "$tree"
echo "$pkg $ver" > "$tree.origin"
echo "$tree"
