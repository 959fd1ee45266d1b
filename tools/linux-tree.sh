#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# linux-tree.sh KVER CACHE: install Debian's linux-source-KVER if missing,
# unpack it once into CACHE/linux-source-KVER and print that path. The
# unpack goes to a temporary directory first, so an interrupted run never
# leaves a half tree behind.
set -eu

kver=${1:?usage: linux-tree.sh KVER CACHE}
cache=${2:?usage: linux-tree.sh KVER CACHE}
pkg=linux-source-$kver
tree=$cache/$pkg

if [ -f "$tree/Makefile" ]; then
	echo "$tree"
	exit 0
fi

tarball=/usr/src/$pkg.tar.xz
if [ ! -f "$tarball" ]; then
	echo "linux-tree: installing $pkg" >&2
	apt-get update -q >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" >&2
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
echo "$tree"
