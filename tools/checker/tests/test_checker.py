# SPDX-License-Identifier: GPL-2.0
"""Tests for kbuild-check (tools/checker), standard library + pytest only.

Run: /usr/bin/python3 -m pytest -q tools/checker/tests

Environment:
  KCHECK_OUT           output root for the checker (default <repo>/build)
  IOMMU_DMA_LINUX_6_1  unpacked 6.1 tree (default <repo>/.cache/linux-source-6.1,
                       where `make linux KVER=6.1` unpacks it)
  IOMMU_DMA_LINUX_6_12 unpacked 6.12 tree (default <repo>/.cache/linux-source-6.12)

Real-tree tests copy the tree with `cp -al` to a fixed place under the
output root (so that their kbuild output directories are reused by the
next run) and replace files there by delete + write, never in place.
"""
import json
import os
import re
import shutil
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKER_SRC = os.path.dirname(HERE)
REPO = os.path.dirname(os.path.dirname(CHECKER_SRC))
FIXTURES = os.path.join(REPO, "linux-fixtures")
OUT = os.path.abspath(os.environ.get("KCHECK_OUT") or os.path.join(REPO, "build"))
BIN = os.path.join(OUT, "checker", "kbuild-check")
TREE_DEFAULTS = {
    "6.1": ("IOMMU_DMA_LINUX_6_1", os.path.join(REPO, ".cache", "linux-source-6.1")),
    "6.12": ("IOMMU_DMA_LINUX_6_12", os.path.join(REPO, ".cache", "linux-source-6.12")),
}


@pytest.fixture(scope="session")
def checker():
    subprocess.run(["make", "-s", "-C", CHECKER_SRC, "O=" + OUT], check=True)
    assert os.access(BIN, os.X_OK)
    return BIN


def run(checker, *args, out=None, env=None):
    cmd = [checker, "-O", out or os.path.join(OUT, "checker-tests", "out")]
    cmd += [str(a) for a in args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900,
                          env=dict(os.environ, **(env or {})))


def replace(path, text):
    """Delete + write: the file may be a hard link into a pristine tree."""
    os.unlink(path)
    with open(path, "w") as f:
        f.write(text)


def read(path):
    with open(path) as f:
        return f.read()


def record(tree, files, op="~"):
    """Write <tree>/.iommu-dma/{manifest,orig/} as the rewrite would."""
    top = os.path.join(tree, ".iommu-dma")
    shutil.rmtree(top, ignore_errors=True)
    lines = ["# written by test_checker.py"]
    for f in files:
        dst = os.path.join(top, "orig", f)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(os.path.join(tree, f), dst)
        lines.append("%s some_symbol %s test" % (f, op))
    with open(os.path.join(top, "manifest"), "w") as m:
        m.write("\n".join(lines) + "\n")


# ---------------------------------------------------------------- fixtures

@pytest.fixture
def fixture_tree(tmp_path):
    tree = tmp_path / "linux"
    shutil.copytree(FIXTURES, tree)
    return tree


def rewrite_fixture(tree):
    """A rewrite-like change: the ops flag in the header, one driver using it."""
    hdr = tree / "include/linux/iommu.h"
    drv = tree / "drivers/iommu/chain-first.c"
    record(str(tree), ["include/linux/iommu.h", "drivers/iommu/chain-first.c"])
    text = read(hdr)
    assert "\tstruct module *owner;\n" in text
    replace(hdr, text.replace("\tstruct module *owner;\n",
                              "\tstruct module *owner;\n\tbool use_dma_iommu;\n"))
    text = read(drv)
    text = text.replace("type != IOMMU_DOMAIN_DMA && ", "")
    text = text.replace("chain_first_ops = {\n",
                        "chain_first_ops = {\n\t.use_dma_iommu = true,\n")
    replace(drv, text)


def test_fixture_rewritten_passes(checker, fixture_tree):
    rewrite_fixture(fixture_tree)
    r = run(checker, fixture_tree)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"^drivers/iommu/chain-first.c\s+ok", r.stdout, re.M)
    assert re.search(r"^include/linux/iommu.h \(via drivers/iommu/iommu.o\)\s+ok",
                     r.stdout, re.M)
    assert "PASSED" in r.stdout


def test_fixture_every_driver_compiles(checker, fixture_tree):
    files = sorted("drivers/iommu/" + f
                   for f in os.listdir(fixture_tree / "drivers/iommu"))
    r = run(checker, fixture_tree, *files)
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(re.findall(r"^drivers/iommu/\S+\.c\s+ok\s*$", r.stdout, re.M)) == len(files)


def test_fixture_json(checker, fixture_tree):
    rewrite_fixture(fixture_tree)
    r = run(checker, "--json", fixture_tree)
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["ok"] is True and rep["mode"] == "fixture"
    assert {(x["file"], x["arch"], x["status"]) for x in rep["results"]} == {
        ("include/linux/iommu.h", "host", "ok"),
        ("drivers/iommu/chain-first.c", "host", "ok"),
    }


def test_fixture_syntax_error_fails(checker, fixture_tree):
    rewrite_fixture(fixture_tree)
    drv = fixture_tree / "drivers/iommu/chain-first.c"
    replace(drv, read(drv).replace("\t\treturn NULL;\n", "\t\treturn NULL\n", 1))
    r = run(checker, fixture_tree)
    assert r.returncode == 1, r.stdout + r.stderr
    assert re.search(r"^drivers/iommu/chain-first.c\s+FAIL", r.stdout, re.M)
    assert "FAIL drivers/iommu/chain-first.c [host]" in r.stdout
    assert re.search(r"drivers/iommu/chain-first.c:\d+:\d+: error: expected ';'",
                     r.stdout), r.stdout
    assert "log: " in r.stdout
    rep = json.loads(run(checker, "--json", fixture_tree).stdout)
    bad = [x for x in rep["results"] if x["status"] == "fail"]
    assert [x["file"] for x in bad] == ["drivers/iommu/chain-first.c"]
    assert bad[0]["arch"] == "host" and "error:" in bad[0]["errors"][0]


def test_fixture_header_error_fails(checker, fixture_tree):
    rewrite_fixture(fixture_tree)
    hdr = fixture_tree / "include/linux/iommu.h"
    replace(hdr, read(hdr).replace("bool use_dma_iommu;", "bool use_dma_iommu"))
    r = run(checker, fixture_tree)
    assert r.returncode == 1
    assert "FAIL include/linux/iommu.h [host]" in r.stdout
    assert "include/linux/iommu.h:" in r.stdout


# ---------------------------------------------------------------- bad input

def one_line_error(r, pattern):
    assert r.returncode == 2, r.stdout + r.stderr
    lines = [l for l in r.stderr.splitlines() if l.startswith("kbuild-check: error:")]
    assert len(lines) == 1, r.stderr
    assert re.search(pattern, lines[0]), lines[0]


def test_not_a_kernel_tree(checker, tmp_path):
    one_line_error(run(checker, tmp_path), "not a kernel tree")


def test_no_such_directory(checker, tmp_path):
    one_line_error(run(checker, tmp_path / "nope"), "no such directory")


def test_missing_manifest(checker, fixture_tree):
    one_line_error(run(checker, fixture_tree), r"cannot read the manifest .*manifest")


def test_malformed_manifest(checker, fixture_tree):
    os.makedirs(fixture_tree / ".iommu-dma")
    (fixture_tree / ".iommu-dma/manifest").write_text("# c\ndrivers/iommu/iommu.c x\n")
    one_line_error(run(checker, fixture_tree), r"manifest:2: malformed line")


def test_bad_op_in_manifest(checker, fixture_tree):
    os.makedirs(fixture_tree / ".iommu-dma")
    (fixture_tree / ".iommu-dma/manifest").write_text("drivers/iommu/iommu.c x ? y\n")
    one_line_error(run(checker, fixture_tree), r"manifest:1: unknown op")


def test_unknown_file(checker, fixture_tree):
    one_line_error(run(checker, fixture_tree, "drivers/iommu/nope.c"),
                   r"drivers/iommu/nope.c: no such file")


def test_report_only_lines_do_not_count(checker, fixture_tree):
    os.makedirs(fixture_tree / ".iommu-dma")
    (fixture_tree / ".iommu-dma/manifest").write_text(
        "drivers/iommu/implicit-dma.c f ! implicit-dma accepts DMA\n")
    one_line_error(run(checker, fixture_tree), r"lists no touched file")


def test_unchecked_header_is_reported(checker, fixture_tree):
    r = run(checker, fixture_tree, "drivers/iommu/iommu.c", "include/linux/types.h")
    assert r.returncode == 1
    assert re.search(r"^include/linux/types.h\s+not checked: no rule checks this header",
                     r.stdout, re.M)
    assert "1 not checked" in r.stdout


def test_bad_options(checker, fixture_tree):
    assert run(checker).returncode == 2
    assert run(checker, "-j", "0", fixture_tree).returncode == 2
    assert run(checker, "--bogus", fixture_tree).returncode == 2
    r = run(checker, "--help")
    assert r.returncode == 0 and "usage: kbuild-check" in r.stdout


# ---------------------------------------------------------------- real trees

def source_tree(version):
    env, default = TREE_DEFAULTS[version]
    path = os.environ.get(env) or default
    if not os.path.isfile(os.path.join(path, "Makefile")):
        pytest.fail("no linux %s tree: set %s to an unpacked kernel tree "
                    "(tried %s)" % (version, env, path))
    return path


def copy_tree(version):
    """A cp -al copy at a fixed place, so output dirs are reused next run."""
    dst = os.path.join(OUT, "checker-tests", "linux-" + version)
    shutil.rmtree(dst, ignore_errors=True)
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    subprocess.run(["cp", "-al", source_tree(version), dst], check=True)
    return dst


@pytest.fixture(scope="module")
def tree61():
    return copy_tree("6.1")


@pytest.fixture(scope="module")
def tree612():
    return copy_tree("6.12")


DART = "drivers/iommu/apple-dart.c"


def harmless_edit(tree, path=DART, *more):
    """Restore the pristine files, record them, then edit them harmlessly."""
    paths = (path,) + more
    for p in paths:
        full = os.path.join(tree, p)
        pristine = read(os.path.join(source_tree(tree.rsplit("-", 1)[1]), p))
        replace(full, pristine)
    record(tree, list(paths))
    for p in paths:
        full = os.path.join(tree, p)
        replace(full, read(full) + "\n/* touched by test_checker.py */\n")


def break_file(tree, path=DART):
    full = os.path.join(tree, path)
    text = read(os.path.join(tree, ".iommu-dma/orig", path))
    text, n = re.subn(r"(\n\t\treturn NULL);\n", r"\1\n", text, count=1)
    assert n == 1
    replace(full, text)


def test_real_61_apple_dart_ok(checker, tree61):
    harmless_edit(tree61)
    r = run(checker, tree61)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"^drivers/iommu/apple-dart.c\s+ok\s+-\s+-", r.stdout, re.M), r.stdout
    assert re.search(r"\[arm64\] build: (make exit 0|nothing to make)", r.stderr)


def test_real_61_syntax_error_fails(checker, tree61):
    harmless_edit(tree61)
    break_file(tree61)
    r = run(checker, tree61)
    assert r.returncode == 1, r.stdout + r.stderr
    assert re.search(r"^drivers/iommu/apple-dart.c\s+FAIL", r.stdout, re.M)
    assert "FAIL drivers/iommu/apple-dart.c [arm64]" in r.stdout
    assert re.search(r"drivers/iommu/apple-dart.c:\d+:\d+: error: expected ';'",
                     r.stdout), r.stdout
    assert re.search(r"log: \S+/arm64-build.log", r.stdout)


def test_real_61_new_warning(checker, tree61):
    harmless_edit(tree61)
    full = os.path.join(tree61, DART)
    replace(full, read(full) + "int kcheck_test_global;\n")
    r = run(checker, "--json", tree61)
    assert r.returncode == 1, r.stderr
    rep = json.loads(r.stdout)
    (res,) = rep["results"]
    assert res["arch"] == "arm64" and res["status"] == "new-warnings"
    assert any("kcheck_test_global" in w for w in res["new_warnings"])


def test_real_61_unknown_arch_file(checker, tree61):
    r = run(checker, tree61, "drivers/iommu/omap-iommu.c")
    assert r.returncode == 1
    assert re.search(r"omap-iommu.c\s+not checked: no known architecture builds it "
                     r"\(CONFIG_OMAP_IOMMU", r.stdout), r.stdout


def test_real_61_missing_cross_compiler(checker, tree61):
    r = run(checker, "--cross", "arm64=nonexistent-linux-gnu-", tree61, DART)
    assert r.returncode == 1
    assert "nonexistent-linux-gnu-gcc not found" in r.stderr
    assert re.search(r"^drivers/iommu/apple-dart.c\s+skipped", r.stdout, re.M)
    assert "NOT CHECKED drivers/iommu/apple-dart.c [arm64]" in r.stdout


def test_real_61_symbols_from_makefiles(checker, tree61):
    """Composite objects map to their member's own object and symbols."""
    files = ["drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c",
             "drivers/iommu/intel/iommu.c", "drivers/iommu/fsl_pamu_domain.c"]
    r = run(checker, "--json", "--cross", "arm64=nonexistent-",
            "--cross", "x86_64=nonexistent-", "--cross", "powerpc=nonexistent-",
            tree61, *files)
    rep = json.loads(r.stdout)
    got = {(x["file"], x["arch"], x["object"], x["symbol"]) for x in rep["results"]}
    assert got == {
        (files[0], "arm64", "drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.o", "ARM_SMMU_V3"),
        (files[1], "x86_64", "drivers/iommu/intel/iommu.o", "INTEL_IOMMU"),
        (files[2], "powerpc", "drivers/iommu/fsl_pamu_domain.o", "FSL_PAMU"),
    }


def test_real_612_apple_dart_ok(checker, tree612):
    harmless_edit(tree612)
    r = run(checker, tree612)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"^drivers/iommu/apple-dart.c\s+ok", r.stdout, re.M)


def test_real_never_modifies_the_tree(checker, tree61):
    src = source_tree("6.1")
    assert read(os.path.join(src, DART)) == read(os.path.join(tree61, ".iommu-dma/orig", DART))


# ---------------------------------------------------------------- kept results

SMMU = "drivers/iommu/arm/arm-smmu/arm-smmu.c"
BASE = "baseline (originals)"
DMA_H = "drivers/iommu/dma-iommu.h"   # included by both, touched by none


def forget_kept(tree):
    """Delete every kept object result of the tree's arm64 output dir."""
    out = os.path.join(OUT, "checker-tests", "out", "kbuild")
    n = 0
    for top in os.listdir(out):
        if not top.startswith(os.path.basename(tree) + "-"):
            continue
        for d, _, files in os.walk(os.path.join(out, top, "arm64")):
            for f in files:
                if ".kcheck-" in f:
                    os.unlink(os.path.join(d, f))
                    n += 1
    return n


def verdict(r):
    """stdout without the run time."""
    return re.sub(r"\(\d+\.\d s\)", "(T)", r.stdout)


def report_json(r):
    rep = json.loads(r.stdout)
    del rep["seconds"]
    return rep


def made(r, arch="arm64", what="build"):
    """How many objects a pass made (0 when nothing was made)."""
    m = re.search(r"\[%s\] %s: (?:make exit \d+, (\d+) made|nothing to make|not needed)"
                  % (arch, re.escape(what)), r.stderr)
    assert m, r.stderr
    return int(m.group(1) or 0)


def test_real_61_warm_same_as_cold(checker, tree61):
    """A second run makes nothing and says exactly what the first said."""
    harmless_edit(tree61, DART, SMMU)
    run(checker, tree61)
    forget_kept(tree61)
    cold = run(checker, tree61)
    assert cold.returncode == 0, cold.stdout + cold.stderr
    # only objects with a diagnostic need their original built: in 6.1
    # apple-dart.c has a sparse warning, arm-smmu.c none
    assert made(cold) == 2 and made(cold, what=BASE) == 1
    warm = run(checker, tree61)
    assert warm.returncode == 0, warm.stdout + warm.stderr
    assert verdict(warm) == verdict(cold)
    assert made(warm) == 0 and made(warm, what=BASE) == 0
    assert "preparing" not in warm.stderr and "shadow copy" not in warm.stderr
    # run from a make -s (make -s check), or with V=1 in the environment
    quiet = run(checker, tree61, env={"MAKEFLAGS": "s", "MAKELEVEL": "1",
                                      "KBUILD_VERBOSE": "1"})
    assert verdict(quiet) == verdict(cold)
    assert made(quiet) == 0
    full = os.path.join(tree61, SMMU)
    replace(full, read(full) + "/* edited under make -s */\n")
    quiet = run(checker, tree61, env={"MAKEFLAGS": "s", "KBUILD_VERBOSE": "1"})
    assert made(quiet) == 1
    assert made(run(checker, tree61)) == 0   # and that result was kept
    assert report_json(run(checker, "--json", tree61)) == \
        report_json(run(checker, "--json", tree61))


def test_real_61_kept_new_warning_and_failure(checker, tree61):
    """Kept results keep their warnings; a failed compile is never kept."""
    harmless_edit(tree61, DART, SMMU)
    full = os.path.join(tree61, DART)
    replace(full, read(full) + "int kcheck_test_global;\n")
    first = run(checker, "--json", tree61)
    again = run(checker, "--json", tree61)
    assert first.returncode == again.returncode == 1
    assert report_json(first) == report_json(again)
    res = [x for x in report_json(again)["results"] if x["file"] == DART]
    assert res[0]["status"] == "new-warnings"
    assert any("kcheck_test_global" in w for w in res[0]["new_warnings"])
    # a new warning where the original had none: its original is built
    full = os.path.join(tree61, SMMU)
    replace(full, read(full) + "int kcheck_smmu_global;\n")
    r = run(checker, "--json", tree61)
    res = [x for x in report_json(r)["results"] if x["file"] == SMMU]
    assert res[0]["status"] == "new-warnings"
    assert any("kcheck_smmu_global" in w for w in res[0]["new_warnings"])
    assert made(r, what=BASE) == 1
    break_file(tree61, SMMU)
    first = run(checker, tree61)
    again = run(checker, tree61)
    assert first.returncode == again.returncode == 1
    assert verdict(first) == verdict(again)
    assert "FAIL %s [arm64]" % SMMU in again.stdout
    assert re.search(r"^  \S+:\d+:\d+: error: expected ';'", again.stdout, re.M)
    assert made(again) == 1    # the broken one, again; DART kept


def test_real_61_changes_invalidate(checker, tree61):
    """A touched file, a header it includes, KCFLAGS, the .config: made
    again."""
    harmless_edit(tree61, DART, SMMU)
    run(checker, tree61)
    assert made(run(checker, tree61)) == 0
    full = os.path.join(tree61, DART)
    replace(full, read(full) + "/* another edit */\n")
    r = run(checker, tree61)
    assert r.returncode == 0 and made(r) == 1, r.stderr
    # the same content again (new inode, new mtime): still kept
    replace(full, read(full))
    assert made(run(checker, tree61)) == 0
    # an untouched header both include, replaced in the tree
    hdr = os.path.join(tree61, DMA_H)
    pristine = read(hdr)
    try:
        replace(hdr, pristine + "\n/* header edit */\n")
        r = run(checker, tree61)
        assert r.returncode == 0 and made(r) == 2, r.stderr
        assert made(r, what=BASE) == 1
        replace(hdr, pristine.replace("#include", "#include <nonexistent/x.h>\n#include", 1))
        r = run(checker, tree61)
        assert r.returncode == 1 and "nonexistent/x.h" in r.stdout, r.stdout
    finally:
        replace(hdr, pristine)
    r = run(checker, tree61)
    assert r.returncode == 0, r.stdout + r.stderr
    # so is what kbuild takes from the environment
    r = run(checker, tree61, env={"KCFLAGS": "-DKCHECK_TEST"})
    assert r.returncode == 0 and made(r) == 2, r.stderr
    # back without it: the build before is one of the kept ones
    assert made(run(checker, tree61)) == 0
    r = run(checker, tree61, env={"KCFLAGS": "-DKCHECK_TEST -DAGAIN"})
    assert r.returncode == 0 and made(r) == 2, r.stderr
    # the .config is part of every object's key: toggle a symbol that
    # kbuild keeps (it rewrites .config) and no Kconfig depends on
    config = [os.path.join(OUT, "checker-tests", "out", "kbuild", d, "arm64", ".config")
              for d in os.listdir(os.path.join(OUT, "checker-tests", "out", "kbuild"))
              if d.startswith(os.path.basename(tree61) + "-")]
    assert len(config) == 1
    text = read(config[0])
    old = re.search(r'^CONFIG_LOCALVERSION=".*"$', text, re.M).group(0)
    new = 'CONFIG_LOCALVERSION="%s"' % ("" if "-kcheck" in old else "-kcheck")
    replace(config[0], text.replace(old, new))
    r = run(checker, tree61)
    assert r.returncode == 0 and made(r) == 2, r.stderr
    assert made(r, what=BASE) == 1
    assert new in read(config[0])


def test_real_61_series_reuses_one_build_dir(checker, tree61):
    """Calls after each patch of a series: one shadow, one output dir,
    only the patch's objects made."""
    harmless_edit(tree61, DART, SMMU)
    smmu = os.path.join(tree61, SMMU)
    dart = os.path.join(tree61, DART)
    first = run(checker, tree61, DART)
    assert first.returncode == 0, first.stdout + first.stderr
    replace(smmu, read(smmu) + "/* patch 2 */\n")
    second = run(checker, tree61, SMMU)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "shadow copy" not in second.stderr
    assert "preparing" not in second.stderr
    assert re.search(r"\[arm64\] output dir \S+: reused", second.stderr)
    assert made(second) == 1
    replace(dart, read(dart) + "/* patch 3 */\n")
    third = run(checker, tree61, DART, SMMU)
    assert third.returncode == 0, third.stdout + third.stderr
    assert made(third) == 1 and "shadow copy" not in third.stderr
