#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench-check: cold and warm wall time of kbuild-check on a 6.1 tree, and
# after one touched file is edited (what a series does between patches),
# beside a full `make drivers/iommu/` of the same architectures in the
# same run.
#
#   tools/checker/bench.sh [-O OUTROOT] [-j JOBS] [KERNEL]
#
# KERNEL defaults to $IOMMU_DMA_LINUX_6_1 or .cache/linux-source-6.1 (where
# `make linux KVER=6.1` unpacks it).
# If KERNEL has no .iommu-dma/manifest (an unrewritten tree), a cp -al copy
# is made with a manifest and orig/ for the 13 files the seed patch touches
# (each with a harmless edit), so the checker has real work to do.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=$top/build
jobs=2
while getopts "O:j:" opt; do
	case $opt in
	O) out=$OPTARG ;;
	j) jobs=$OPTARG ;;
	*) echo "usage: $0 [-O OUTROOT] [-j JOBS] [KERNEL]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
kernel=${1:-${IOMMU_DMA_LINUX_6_1:-$top/.cache/linux-source-6.1}}
[ -f "$kernel/Makefile" ] || { echo "bench-check: $kernel is not a kernel tree" >&2; exit 2; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
bench=$out/bench-check
bin=$out/checker/kbuild-check
make -s -C "$here" O="$out"

seed_files="drivers/iommu/apple-dart.c drivers/iommu/exynos-iommu.c
drivers/iommu/ipmmu-vmsa.c drivers/iommu/mtk_iommu.c
drivers/iommu/rockchip-iommu.c drivers/iommu/sprd-iommu.c
drivers/iommu/sun50i-iommu.c drivers/iommu/virtio-iommu.c
drivers/iommu/iommu.c drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c
drivers/iommu/arm/arm-smmu/arm-smmu.c drivers/iommu/arm/arm-smmu/qcom_iommu.c
drivers/iommu/intel/iommu.c include/linux/iommu.h"

tree=$kernel
if [ ! -f "$kernel/.iommu-dma/manifest" ]; then
	tree=$bench/linux
	rm -rf "$tree"
	mkdir -p "$bench"
	cp -al "$kernel" "$tree"
	mkdir -p "$tree/.iommu-dma"
	for f in $seed_files; do
		mkdir -p "$tree/.iommu-dma/orig/$(dirname "$f")"
		cp "$tree/$f" "$tree/.iommu-dma/orig/$f"
		rm "$tree/$f"	# delete + write: never through the hard link
		{ cat "$tree/.iommu-dma/orig/$f"; echo "/* bench-check */"; } > "$tree/$f"
		echo "$f bench ~ bench-check"
	done > "$tree/.iommu-dma/manifest"
fi

now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc; }

# arches the checker builds for this tree, from its JSON report
arches() {
	/usr/bin/python3 -c 'import json,sys
r = json.load(sys.stdin)
print(" ".join(sorted({x["arch"] for x in r["results"]})))'
}

echo "bench-check: tree $tree, $(nproc) cores, -j$jobs, load: $(cut -d' ' -f1-3 /proc/loadavg)"
rm -rf "$bench/out"
echo "\$ $bin -O $bench/out -j $jobs --json $tree   # cold"
t0=$(now)
"$bin" -O "$bench/out" -j "$jobs" --json "$tree" > "$bench/cold.json" 2> "$bench/cold.log" || true
cold=$(secs "$t0" "$(now)")
echo "\$ $bin -O $bench/out -j $jobs --json $tree   # warm"
t0=$(now)
status=0
"$bin" -O "$bench/out" -j "$jobs" --json "$tree" > "$bench/warm.json" 2> "$bench/warm.log" || status=$?
warm=$(secs "$t0" "$(now)")
archs=$(arches < "$bench/warm.json")

# what a series does between patches: one touched file changes (only in
# the copy made above: a tree given with its manifest is not written)
edit=
if [ "$tree" = "$bench/linux" ]; then
	edited=$(awk '{ print $1; exit }' "$tree/.iommu-dma/manifest")
	{ cat "$tree/$edited"; echo "/* bench-check: edited */"; } > "$bench/edited"
	rm "$tree/$edited"	# delete + write: never through the hard link
	mv "$bench/edited" "$tree/$edited"
	echo "\$ $bin -O $bench/out -j $jobs --json $tree   # $edited edited"
	t0=$(now)
	"$bin" -O "$bench/out" -j "$jobs" --json "$tree" > "$bench/edit.json" 2> "$bench/edit.log" || status=$?
	edit=$(secs "$t0" "$(now)")
fi

# the reference: a full drivers/iommu/ build per arch, from scratch, with
# the same table (defconfig + symbols), no W=1/C=1
full=0
for a in $archs; do
	line=$(grep "^arch $a " "$here/arches.txt")
	# shellcheck disable=SC2086 # split the table line into words
	set -- $line
	make_arch=$3 cross=$5 defconfig=$6
	shift 6
	[ "$(uname -m)" = "$a" ] && cross=
	o=$bench/full/$a
	rm -rf "$o"
	mk=(make -s -C "$tree" O="$o" ARCH="$make_arch" CROSS_COMPILE="$cross")
	echo "\$ ${mk[*]} $defconfig; scripts/config ...; olddefconfig; ${mk[*]} -j$jobs drivers/iommu/"
	t0=$(now)
	{
		"${mk[@]}" "$defconfig"
		for s in "$@"; do
			case $s in
			!*) "$tree/scripts/config" --file "$o/.config" --disable "${s#!}" ;;
			*) "$tree/scripts/config" --file "$o/.config" --enable "$s" ;;
			esac
		done
		"${mk[@]}" olddefconfig
		"${mk[@]}" -j"$jobs" drivers/iommu/
	} > "$bench/full-$a.log" 2>&1
	t=$(secs "$t0" "$(now)")
	echo "  full make drivers/iommu/ [$a]: ${t} s"
	full=$(echo "$full + $t" | bc)
done

ok=$(/usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("ok" if r["ok"] else "FAILED", r["counts"])' "$bench/warm.json")
printf 'bench-check: %s\n' "$ok"
printf 'bench-check: arches: %s\n' "$archs"
printf 'bench-check: cold %.1f s (target <= 60 s), ratio to full build %.2f\n' "$cold" "$(echo "$cold / $full" | bc -l)"
printf 'bench-check: warm %.1f s (target <= 10 s), ratio to full build %.2f\n' "$warm" "$(echo "$warm / $full" | bc -l)"
[ -z "$edit" ] || printf 'bench-check: one file edited (%s) %.1f s\n' "$edited" "$edit"
printf 'bench-check: full make drivers/iommu/ (all arches, from scratch): %.1f s\n' "$full"
exit $status
