// SPDX-License-Identifier: GPL-2.0
/*
 * Parse the plain-text architecture table (see arches.txt for the format).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "arch-table.h"
#include "util.h"

#define MAX_FIELDS 64

struct table_line {
	const char *path;
	int lineno;
	char *field[MAX_FIELDS];
	int nr;
};

static _Noreturn void bad_line(const struct table_line *l, const char *why)
{
	die("%s:%d: %s", l->path, l->lineno, why);
}

static unsigned int parse_arch_list(const struct arch_table *t,
				    const struct table_line *l, char *list)
{
	unsigned int mask = 0;
	char *tok;
	int i;

	for (tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
		i = arch_table_find_arch(t, tok);
		if (i < 0)
			bad_line(l, "unknown architecture in list");
		mask |= 1U << i;
	}
	return mask;
}

const char *arch_table_machine_arch(const char *machine)
{
	/* uname says aarch64 where kbuild and the table say arm64 */
	if (!strcmp(machine, "aarch64"))
		return "arm64";
	return machine;
}

static int host_is(const char *arch)
{
	struct utsname u;

	return !uname(&u) && !strcmp(arch_table_machine_arch(u.machine), arch);
}

static void add_arch(struct arch_table *t, const struct table_line *l)
{
	struct arch_desc *a;
	int i;

	if (l->nr < 6)
		bad_line(l, "want: arch <name> <ARCH> <srcarch> <cross> <defconfig> [SYM...]");
	if (t->nr_arch == MAX_ARCHES)
		bad_line(l, "too many architectures");
	if (arch_table_find_arch(t, l->field[1]) >= 0)
		bad_line(l, "architecture listed twice");
	a = &t->arch[t->nr_arch++];
	a->name = xstrdup(l->field[1]);
	a->make_arch = xstrdup(l->field[2]);
	a->srcarch = xstrdup(l->field[3]);
	a->cross = xstrdup(host_is(a->name) ? "" : l->field[4]);
	a->defconfig = xstrdup(l->field[5]);
	for (i = 6; i < l->nr; i++)
		strvec_push(&a->syms, l->field[i]);
}

static void add_sym(struct arch_table *t, const struct table_line *l)
{
	struct sym_desc *s;

	if (l->nr != 3)
		bad_line(l, "want: sym <SYMBOL> <arch>[,<arch>...]");
	t->sym = xrealloc(t->sym, (t->nr_sym + 1) * sizeof(*t->sym));
	s = &t->sym[t->nr_sym++];
	s->sym = xstrdup(l->field[1]);
	s->arches = parse_arch_list(t, l, l->field[2]);
}

static void add_header(struct arch_table *t, const struct table_line *l)
{
	struct header_desc *h;

	if (l->nr != 3 && l->nr != 4)
		bad_line(l, "want: header <path> <file.c> [<arch>,...]");
	t->hdr = xrealloc(t->hdr, (t->nr_hdr + 1) * sizeof(*t->hdr));
	h = &t->hdr[t->nr_hdr++];
	h->header = xstrdup(l->field[1]);
	h->via = xstrdup(l->field[2]);
	h->arches = l->nr == 4 ? parse_arch_list(t, l, l->field[3]) : 0;
}

static void add_env(struct arch_table *t, const struct table_line *l)
{
	int i;

	if (l->nr < 2)
		bad_line(l, "want: env <NAME>|<NAME=VALUE>...");
	for (i = 1; i < l->nr; i++)
		strvec_push(&t->env, l->field[i]);
}

static void parse_line(struct arch_table *t, struct table_line *l, char *s)
{
	char *tok;

	s[strcspn(s, "#")] = '\0';
	l->nr = 0;
	for (tok = strtok(s, " \t"); tok; tok = strtok(NULL, " \t")) {
		if (l->nr == MAX_FIELDS)
			bad_line(l, "too many fields");
		l->field[l->nr++] = tok;
	}
	if (!l->nr)
		return;
	if (!strcmp(l->field[0], "arch"))
		add_arch(t, l);
	else if (!strcmp(l->field[0], "sym"))
		add_sym(t, l);
	else if (!strcmp(l->field[0], "header"))
		add_header(t, l);
	else if (!strcmp(l->field[0], "env"))
		add_env(t, l);
	else
		bad_line(l, "unknown keyword (want arch, sym, env or header)");
}

void arch_table_load(struct arch_table *t, const char *path)
{
	struct table_line l = { .path = path };
	struct strvec lines = STRVEC_INIT;
	char *buf = read_file(path, NULL);

	memset(t, 0, sizeof(*t));
	t->path = xstrdup(path);
	if (!buf)
		die("cannot read the architecture table %s", path);
	strvec_split(&lines, buf);
	for (l.lineno = 1; l.lineno <= (int)lines.nr; l.lineno++)
		parse_line(t, &l, lines.v[l.lineno - 1]);
	strvec_clear(&lines);
	free(buf);
	if (!t->nr_arch)
		die("%s: no architectures", path);
}

int arch_table_find_arch(const struct arch_table *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->nr_arch; i++)
		if (!strcmp(t->arch[i].name, name))
			return (int)i;
	return -1;
}

const struct sym_desc *arch_table_find_sym(const struct arch_table *t,
					   const char *sym)
{
	size_t i;

	for (i = 0; i < t->nr_sym; i++)
		if (!strcmp(t->sym[i].sym, sym))
			return &t->sym[i];
	return NULL;
}

const struct header_desc *arch_table_find_header(const struct arch_table *t,
						 const char *path)
{
	size_t i;

	for (i = 0; i < t->nr_hdr; i++)
		if (!strcmp(t->hdr[i].header, path))
			return &t->hdr[i];
	return NULL;
}
