#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# deps.sh GROUP...: make sure what GROUP needs is there. Each need is
# "what:package": a command on PATH or an absolute path, and the Debian
# package that brings it. What is missing is installed with apt-get
# (as root, said in one line); without apt-get, one line names it.
set -eu

needs() {
	case $1 in
	rewrite) echo spatch:coccinelle python3:python3 gcc:gcc diff:diffutils ;;
	test) echo /usr/lib/python3/dist-packages/pytest:python3-pytest \
		git:git make:make patch:patch ;;
	check) echo gcc:gcc make:make bc:bc flex:flex bison:bison \
		sparse:sparse aarch64-linux-gnu-gcc:gcc-aarch64-linux-gnu \
		powerpc-linux-gnu-gcc:gcc-powerpc-linux-gnu \
		/usr/include/openssl/ssl.h:libssl-dev \
		/usr/include/gelf.h:libelf-dev ;;
	boot) echo qemu-system-x86_64:qemu-system-x86 \
		qemu-system-aarch64:qemu-system-arm \
		/bin/busybox:busybox-static cpio:cpio ccache:ccache \
		/usr/aarch64-linux-gnu/include/stdio.h:libc6-dev-arm64-cross ;;
	series) echo git:git b4:b4 ;;
	*) echo "deps: unknown group $1" >&2; exit 2 ;;
	esac
}

missing=
for group in "$@"; do
	for need in $(needs "$group"); do
		what=${need%%:*}
		pkg=${need#*:}
		case $what in
		/*) [ -e "$what" ] && continue ;;
		*) command -v "$what" >/dev/null 2>&1 && continue ;;
		esac
		case " $missing " in *" $pkg "*) ;; *) missing="$missing $pkg" ;; esac
	done
done
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
	echo "deps: missing$missing (for $*): install them; no apt-get here" >&2
	exit 2
fi
echo "deps: installing$missing (for $*)" >&2
if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing \
		>/dev/null 2>&1; then
	apt-get update -q >/dev/null 2>&1 || true
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >&2
fi
