# SPDX-License-Identifier: GPL-2.0
"""Every C unit test can fail: break the code once per case and look.

  /usr/bin/python3 tools/checker/tests/mutants.py   (or make -C tools/checker mutants)

Each mutant is one textual change to one module (or to the runner); the
unit tests are built and run with it (in $O/checker, default build/), the
file is restored, and the cases named beside the mutant must have failed.
At the end every case of a clean run must have failed under some mutant.
Exit status 1 if a mutant did not apply, did not build or was not caught.
"""
import os
import re
import subprocess
import sys

D = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
O = os.environ.get("O") or os.path.join(os.path.dirname(os.path.dirname(D)), "build")

# (file, text, replacement, cases that must fail)
M = [
 ('strvec.c', '\tsv->v[sv->nr] = NULL;\n', '', ['null_terminated']),
 ('strvec.c', 'sv->v[sv->nr++] = xstrdup(s);', 'sv->v[sv->nr++] = (char *)s;', ['push_copies_and_terminates']),
 ('strvec.c', 'if (strvec_find(sv, s) < 0)', 'if (strvec_find(sv, s) < 1)', ['unique_and_find']),
 ('strvec.c', 'bsearch(&s, sv->v, sv->nr,', 'bsearch(&s, sv->v, sv->nr - 1,', ['unique_and_find']),
 ('strvec.c', 'text = *end ? end + 1 : end', 'text = *end ? end + 2 : end', ['split_and_join']),
 ('strvec.c', 'stpcpy(p, i ? sep : "")', 'stpcpy(p, sep)', ['split_and_join']),
 ('util.c', 'return !strncmp(s, prefix, strlen(prefix));', 'return !strncmp(s, prefix, strlen(prefix) - 1);', ['prefixes_and_suffixes']),
 ('util.c', 's = xvasprintf(fmt, ap);', 's = xvasprintf("%s", ap);', ['formats']),
 ('util.c', 'h *= 0x100000001b3ULL;', 'h *= 0x100000001b5ULL;', ['fnv1a_vectors']),
 ('util.c', '\tif (unlink(path) < 0 && errno != ENOENT)\n\t\treturn -1;\n\tf = fopen(path, "wx");', '\tf = fopen(path, "w");', ['write_file_replaces_links']),
 ('util.c', 'return is_dir(path) ? 0 : -1;', 'return 0;', ['copies_and_makes_dirs']),
 ('util.c', 'if (!ret && rename(tmp, path) < 0)', 'if (!ret && link(tmp, path) < 0)', ['atomic_writes']),
 ('util.c', 'exit(EXIT_BAD_INPUT);', 'exit(1);', ['die_exits_2_with_one_line']),
 ('run-command.c', 'return 128 + WTERMSIG(status);', 'return WTERMSIG(status);', ['exit_codes']),
 ('run-command.c', '\t\t cmd->args.v[0], strerror(errno));\n\t_exit(127);', '\t\t cmd->args.v[0], strerror(errno));\n\t_exit(126);', ['missing_program_is_127']),
 ('run-command.c', '\t\tputenv(cmd->env.v[i]);', '\t\t;', ['output_and_env']),
 ('run-command.c', '\t\t\tunsetenv(cmd->env.v[i]);', '\t\t\t(void)getenv(cmd->env.v[i]);', ['output_and_env']),
 ('run-command.c', 'return is_executable(name) ? xstrdup(name) : NULL;', 'return xstrdup(name);', ['finds_programs']),
 ('targets.c', "if (*op != '!')", 'if (1)', ['touched_files_in_order']),
 ('targets.c', 'strchr("-+~!", *op)', 'strchr("-+~!?", *op)', ['rejects_bad_lines']),
 ('arch-table.c', 'mask |= 1U << i;', 'mask = 1U << i;', ['parses_every_line']),
 ('arch-table.c', '!strcmp(t->hdr[i].header, path)', '!strcmp(t->hdr[i].header, path + 1)', ['shipped_table', 'parses_every_line']),
 ('arch-table.c', '\tif (arch_table_find_arch(t, l->field[1]) >= 0)\n\t\tbad_line(l, "architecture listed twice");\n', '', ['rejects_bad_lines']),
 ('kbuild-makefile.c', "if (r[0] == '\\\\' && r[1] == '\\n') {", "if (0) {", ['direct_objects']),
 ('kbuild-makefile.c', '\t\tr->member = l.cond;\n\t\tl.cond = NULL;', '\t\tr->member = NULL;', ['composite_members']),
 ('kbuild-makefile.c', 'sub = xasprintf("%s/", slash + 1);', 'sub = xasprintf("%s", slash + 1);', ['directory_symbols']),
 ('kbuild-makefile.c', '\t\tif (r->composite) {', '\t\tif (0) {', ['failures_say_why']),
 ('kbuild-makefile.c', '!strcmp(kw, "menuconfig")', '0', ['kconfig_symbols']),
 ('tree.c', "\t\twhile (*p == ' ' || *p == '\\t')\n\t\t\tp++;\n\t\tend", "\t\twhile (*p == ' ')\n\t\t\tp++;\n\t\tend", ['makefile_variables']),
 ('tree.c', '"%s-%s-%08llx"', '"%s_%s-%08llx"', ['kbuild_tree']),
 ('tree.c', '\th = fnv1a(FNV1A_INIT, path, strlen(path));\n\th = fnv1a(h,', '\th = fnv1a(FNV1A_INIT,', ['ids_differ_by_path']),
 ('tree.c', '!strcmp(e, "-fixtures")', '!strcmp(e, "-fixture")', ['fixture_tree']),
 ('tree.c', '\tif (!has(path, "include/linux", is_dir))\n', '\tif (0)\n', ['not_kernel_trees']),
 ('diag.c', 'd->is_error = !starts_with(msg, "warning");', 'd->is_error = 0;', ['gcc_and_sparse_lines', 'error_lines']),
 ('diag.c', 'if (sp && sp < colon)', 'if (sp && sp < colon && 0)', ['not_diagnostics']),
 ('diag.c', 'used[j] = 1;', 'used[j] = 0;', ['new_keys']),
 ('diag.c', '\tif (!out->nr)\n\t\tpush_errors(l, src, file, 1, out);', '', ['error_lines']),
 ('diag.c', 'if (n == 5 && !strncmp(line + 2, "CHECK", 5))', 'if (0)', ['splits_per_object']),
 ('diag.c', '\tfor (i = 0; i < objs->nr; i++)\n\t\tparts[i] = NULL;\n', '\tfor (i = 0; i < objs->nr; i++)\n\t\tparts[i] = "x";\n', ['empty_log', 'splits_per_object']),
 ('prepare.c', 'char *m = xasprintf("\\nCONFIG_%s=m\\n", sym);', 'char *m = xasprintf("\\nCONFIG_%s=M\\n", sym);', ['enabled_symbols']),
 ('prepare.c', 'nl = xasprintf("\\n%s", text);', 'nl = xasprintf("%s", text);', ['reads_config']),
 ('prepare.c', '\t\t\treturn PREPARE_SYMBOLS;', '\t\t\treturn PREPARE_REUSE;', ['prepare_modes']),
 ('prepare.c', 'in->cross, in->compiler, a->defconfig', 'in->cross, "gcc", a->defconfig', ['stamp_keys_every_input']),
 ('prepare.c', 'return xstrdup("none");', 'return xstrdup("");', ['program_ids']),
 ('objcache.c', '" $(wildcard %4095[^)])"', '" $(wildcard: %4095[^)])"', ['reads_cmd_files']),
 ('objcache.c', '!strcmp(lines.v[1], key);', '1;', ['keeps_and_finds']),
 ('objcache.c', 'ok = now && !strcmp(now, lines.v[i]);', 'ok = 1;', ['content_changes_miss']),
 ('objcache.c', 'fnv1a(FNV1A_INIT, buf, len), dep);', '(unsigned long long)(now_sec() * 1e9), dep);', ['same_content_hits']),
 ('objcache.c', 'char *src = oc->map ? oc->map', 'char *src = oc->map && 0 ? oc->map', ['mapped_dependencies']),
 ('objcache.c', 'n < OBJCACHE_KEEP && !part', 'n < 1 && !part', ['keeps_the_last_builds']),
 ('objcache.c', '\tif (part && n) {', '\tif (0) {', ['keeps_the_last_builds']),
 ('shadow.c', '"cp", "-al", s->tree', '"cp", "-a", s->tree', ['copies_with_hard_links']),
 ('shadow.c', 'o = orig ? shadow_orig', 'o = orig && 0 ? shadow_orig', ['swaps_originals']),
 ('shadow.c', '\tload_lines(s->links, &links);', '', ['relinks_earlier_links']),
 ('shadow.c', 'if (w->was && !strvec_sorted_has(w->was, line)) {', 'if (0) {', ['follows_the_tree']),
 ('shadow.c', '\tif (!have || strcmp(have, want) || !is_dir(s->dir)) {', '\tif (!have || !is_dir(s->dir)) {', ['new_tree_new_copy']),
 ('checker.c', 'cell->reason = reason ? xstrdup(reason) : NULL;', 'cell->reason = reason ? xstrdup(reason) : cell->reason;', ['cells']),
 ('checker.c', ' &&\n\t       t->cell[col].status != CELL_FAIL;', ';', ['active_cells_and_columns']),
 ('targets.c', 'p = xasprintf("%s/%s", c->tree, rel);', 'p = xasprintf("%s%s", c->tree, rel);', ['sources_and_symbols']),
 ('targets.c', 't->arches |= run;', 't->arches |= run & 0;', ['sources_and_symbols']),
 ('targets.c', '\tif (!kconfig_defines(c->tree, t->src, t->sym)) {', '\tif (0) {', ['skips_say_why']),
 ('targets.c', 't->arches &= c->only;', 't->arches &= ~0U;', ['only_some_arches']),
 ('targets.c', '\t\tif (c->info.fixture)\n\t\t\tt->arches = 1;\n\t\telse\n\t\t\tresolve_kbuild(c, t);', '\t\tresolve_kbuild(c, t);', ['fixture_mode']),
 ('targets.c', '\twhile (starts_with(rel, "./"))', '\twhile (0)', ['names_and_manifest']),
 ('targets.c', "\tif (abs && (strncmp(abs, c->tree, n) || abs[n] != '/'))\n\t\tdie", "\tif (0)\n\t\tdie", ['bad_names']),
 ('prepare.c', 'i < c->table.env.nr;', 'i + 1 < c->table.env.nr;', ['make_commands']),
 ('prepare.c', 'strvec_push(&cmd->args, "C=1");', 'strvec_push(&cmd->args, "C=2");', ['make_commands']),
 ('prepare.c', " && c->cross.v[i][n] == '='", "", ['cross_compilers']),
 ('prepare.c', 'found = strstr(p, target) != NULL;', 'found = strstr(text, target) != NULL;', ['defconfigs']),
 ('prepare.c', '\telse if (!program_exists(gcc))', '\telse if (!program_exists("gcc"))', ['compilers']),
 ('report.c', '"%s (via %s)"', '"%s (from %s)"', ['text_report']),
 ('report.c', "\t\tn[CELL_WARN] += c->col_other[col].nr ? 1 : 0;", "\t\t;", ['warnings_and_passes']),
 ('report.c', '&& !n[CELL_SKIP] && n[CELL_OK];', ';', ['nothing_checked_fails']),
 ('report.c', "if (ch == '\"' || ch == '\\\\')", "if (ch == '\\\\')", ['json_report']),
 ('tests/ktest.c', '\ttest->failed++;', '', ['failed_cases_counted']),
 ('tests/ktest.c', 'printf("    # %s: crashed (signal %d)\\n", kc->name,', 'printf("    # %s: crashed (sig %d)\\n", kc->name,', ['crash_fails_its_case']),
 ('tests/ktest.c', '\tlongjmp(test->abort, 1);', '\t(void)test;', ['assert_ends_the_case']),
 ('tests/ktest.c', 'nftw(test.tmpdir, remove_one', 'nftw("/nonexistent", remove_one', ['tmpdir_removed']),
 ('tests/ktest.c', 'kc->failed = !WIFEXITED(status) || WEXITSTATUS(status);', 'kc->failed = !WIFEXITED(status);', ['each_case_judged']),
 ('tests/ktest.c', 'printf("# %s: pass:%d fail:%d\\n", suite->name, n - failed, failed);', 'printf("# %s: pass:%d fail:%d\\n", suite->name, n, failed);', ['suite_result']),
 ('tests/ktest.c', 'printf("    # %s: %s:%d: ", test->name, file, line);', 'printf("    # %s: %s:%d: ", test->name, file, line * 0);', ['failure_says_where']),
]


def unit():
    return subprocess.run(["make", "-s", "-C", D, "O=" + O, "unit", "KTAP=1"],
                          capture_output=True, text=True, errors="replace",
                          timeout=600)


def failed_cases(out):
    return set(re.findall(r"^    not ok \d+ (\S+)", out, re.M))


def main():
    bad = []
    covered = set()
    for f, old, new, want in M:
        path = os.path.join(D, f)
        with open(path) as fh:
            text = fh.read()
        if text.count(old) != 1:
            print("%-18s does not apply: %r" % (f, old[:40]))
            bad.append(f)
            continue
        with open(path, "w") as fh:
            fh.write(text.replace(old, new))
        try:
            r = unit()
        finally:
            with open(path, "w") as fh:
                fh.write(text)
        failed = failed_cases(r.stdout)
        if not failed and not re.search(r"^    ok ", r.stdout, re.M):
            print("%-18s does not build: %s" % (f, r.stderr[-200:]))
            bad.append(f)
            continue
        missed = [w for w in want if w not in failed]
        print("%-18s %-34s %s" % (f, ",".join(want),
                                  "caught" if not missed else "MISSED"))
        covered |= failed & set(want)
        if missed:
            bad.append(f)
    r = unit()
    cases = set(re.findall(r"^    ok \d+ (\S+)", r.stdout, re.M))
    never = sorted(cases - covered)
    if r.returncode:
        print("the unit tests fail without a mutant")
        bad.append("clean")
    if never:
        print("never failed by a mutant:", " ".join(never))
    print("%d mutants, %d cases, %s" % (len(M), len(cases),
                                      "all caught" if not bad and not never else "PROBLEMS"))
    return 1 if bad or never else 0


if __name__ == "__main__":
    sys.exit(main())
