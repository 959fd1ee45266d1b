// SPDX-License-Identifier: GPL-2.0
/*
 * Touched files to targets (see targets.h).
 */
#include <stdlib.h>
#include <string.h>

#include "kbuild-makefile.h"
#include "targets.h"
#include "util.h"

static void manifest_line(const char *path, int lineno, char *line,
		       struct strvec *files)
{
	char *file, *sym, *op, *what, *save;

	if (!*line || *line == '#')
		return;
	file = strtok_r(line, " ", &save);
	sym = strtok_r(NULL, " ", &save);
	op = strtok_r(NULL, " ", &save);
	what = strtok_r(NULL, "", &save);
	if (!file || !sym || !op || !what)
		die("%s:%d: malformed line (want '<file> <symbol> <op> <what...>')",
		    path, lineno);
	if (strlen(op) != 1 || !strchr("-+~!", *op))
		die("%s:%d: unknown op '%s' (want -, +, ~ or !)", path, lineno, op);
	if (*file == '/' || strstr(file, "..") || strchr(file, '\\'))
		die("%s:%d: bad file name '%s'", path, lineno, file);
	if (*op != '!')
		strvec_push_unique(files, file);
}

void manifest_read(const char *path, struct strvec *files)
{
	struct strvec lines = STRVEC_INIT;
	char *buf = read_file(path, NULL), *line;
	size_t i;

	if (!buf)
		die("cannot read the manifest %s (run the rewrite first, or name the files)",
		    path);
	strvec_split(&lines, buf);
	for (i = 0; i < lines.nr; i++) {
		line = lines.v[i];
		if (*line && line[strlen(line) - 1] == '\r')
			line[strlen(line) - 1] = '\0';
		manifest_line(path, i + 1, line, files);
	}
	strvec_clear(&lines);
	free(buf);
}

static char *normalize_file(const struct checker *c, const char *f)
{
	size_t n = strlen(c->tree);
	char *abs, *rel, *p;

	abs = f[0] == '/' ? xstrdup(f) : NULL;
	if (abs && (strncmp(abs, c->tree, n) || abs[n] != '/'))
		die("%s is outside the tree %s", f, c->tree);
	rel = xstrdup(abs ? abs + n + 1 : f);
	free(abs);
	while (starts_with(rel, "./"))
		memmove(rel, rel + 2, strlen(rel + 2) + 1);
	if (!*rel || strstr(rel, ".."))
		die("bad file name '%s'", f);
	p = xasprintf("%s/%s", c->tree, rel);
	if (!is_file(p))
		die("%s: no such file in %s", rel, c->tree);
	free(p);
	return rel;
}

void targets_read_touched(struct checker *c)
{
	struct strvec files = STRVEC_INIT;
	char *manifest;
	size_t i;

	if (!c->touched.nr) {
		manifest = xasprintf("%s/.iommu-dma/manifest", c->tree);
		manifest_read(manifest, &c->touched);
		if (!c->touched.nr)
			die("%s lists no touched file", manifest);
		free(manifest);
	}
	for (i = 0; i < c->touched.nr; i++) {
		char *rel = normalize_file(c, c->touched.v[i]);

		strvec_push_unique(&files, rel);
		free(rel);
	}
	strvec_clear(&c->touched);
	c->touched = files;
}

void targets_setup_columns(struct checker *c)
{
	size_t i;
	int k;

	if (c->info.fixture) {
		c->nr_cols = 1;
		c->col_name[0] = "host";
		return;
	}
	c->nr_cols = c->table.nr_arch;
	for (i = 0; i < c->nr_cols; i++)
		c->col_name[i] = c->table.arch[i].name;
	for (i = 0; i < c->only_names.nr; i++) {
		k = arch_table_find_arch(&c->table, c->only_names.v[i]);
		if (k < 0)
			die("unknown architecture '%s' (see %s)",
			    c->only_names.v[i], c->table.path);
		c->only |= 1U << k;
	}
}

/* Map a touched file to the .c file and object that check it. */
static int resolve_source(struct checker *c, struct target *t)
{
	const struct header_desc *h;

	if (ends_with(t->file, ".c")) {
		t->src = xstrdup(t->file);
		return 0;
	}
	if (!ends_with(t->file, ".h")) {
		t->skip = xstrdup("not a C source or header");
		return -1;
	}
	h = arch_table_find_header(&c->table, t->file);
	if (!h) {
		t->skip = xasprintf("no rule checks this header (add a header line to %s)",
				    c->table.path);
		return -1;
	}
	t->src = xstrdup(h->via);
	t->arches = h->arches;
	return 0;
}

static int resolve_kbuild(struct checker *c, struct target *t)
{
	const struct sym_desc *s;
	struct obj_rule r;

	if (find_obj_rule(c->tree, t->src, &r) < 0) {
		t->skip = xasprintf("%s", r.why);
		obj_rule_clear(&r);
		return -1;
	}
	t->sym = r.sym;
	t->member_sym = r.member;
	r.sym = NULL;
	r.member = NULL;
	obj_rule_clear(&r);
	s = arch_table_find_sym(&c->table, t->sym);
	if (!s) {
		t->skip = xasprintf("no known architecture builds it (CONFIG_%s is not in %s)",
				    t->sym, c->table.path);
		return -1;
	}
	if (!kconfig_defines(c->tree, t->src, t->sym)) {
		t->skip = xasprintf("CONFIG_%s is not defined by the tree's Kconfig",
				    t->sym);
		return -1;
	}
	if (!t->arches)
		t->arches = s->arches;
	return 0;
}

void targets_resolve(struct checker *c)
{
	const struct header_desc *h;
	unsigned int run = 0;
	struct target *t;
	size_t i;

	c->nr = c->touched.nr;
	c->t = xmalloc(c->nr * sizeof(*c->t));
	memset(c->t, 0, c->nr * sizeof(*c->t));
	for (i = 0; i < c->nr; i++) {
		t = &c->t[i];
		t->file = c->touched.v[i];
		if (resolve_source(c, t) < 0)
			continue;
		t->obj = xasprintf("%.*s.o", (int)(strlen(t->src) - 2), t->src);
		if (c->info.fixture)
			t->arches = 1;
		else
			resolve_kbuild(c, t);
		if (!t->skip && !ends_with(t->file, ".h"))
			run |= t->arches;
	}
	for (i = 0; i < c->nr; i++) {
		t = &c->t[i];
		/* headers with no arch list: also every arch the run builds */
		h = t->skip || c->info.fixture || !ends_with(t->file, ".h") ? NULL :
		    arch_table_find_header(&c->table, t->file);
		if (h && !h->arches)
			t->arches |= run;
		if (!t->skip && c->only && !(t->arches & c->only))
			t->skip = xstrdup("not built on the selected architectures");
		if (!t->skip && c->only)
			t->arches &= c->only;
	}
}

void targets_report_skips(const struct checker *c)
{
	size_t i;

	for (i = 0; i < c->nr; i++)
		if (c->t[i].skip)
			progress("kbuild-check: error: %s: not checked: %s",
				 c->t[i].file, c->t[i].skip);
}
