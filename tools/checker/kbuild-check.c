// SPDX-License-Identifier: GPL-2.0
/*
 * kbuild-check: build the files a rewrite touched, on every architecture
 * that builds them, and fail on compile errors or new W=1/sparse warnings.
 *
 *   kbuild-check [options] KERNEL [FILE...]
 *
 * With no FILE, the touched files come from KERNEL/.iommu-dma/manifest.
 * A kernel tree is checked with kbuild in output directories under
 * -O DIR; a fixture tree (EXTRAVERSION = -fixtures) with the host compiler.
 */
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <sys/file.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "kbuild-makefile.h"
#include "manifest.h"

#ifndef KCHECK_TABLE
#define KCHECK_TABLE "arches.txt"
#endif

static const char usage_text[] =
"usage: kbuild-check [options] KERNEL [FILE...]\n"
"\n"
"Build the files a rewrite touched (FILE..., or those recorded in\n"
"KERNEL/.iommu-dma/manifest) on every architecture that builds them.\n"
"\n"
"  -O, --output DIR       output root (default ./build); output dirs go\n"
"                         in DIR/kbuild/<tree-id>/\n"
"  -j, --jobs N           parallel jobs per make (default 2)\n"
"  -m, --manifest FILE    the rewrite's record (default\n"
"                         KERNEL/.iommu-dma/manifest)\n"
"  -t, --table FILE       architecture table (default: arches.txt\n"
"                         beside the program)\n"
"  -a, --arch NAME        check only this architecture (repeatable)\n"
"      --cross ARCH=PFX   use cross compiler prefix PFX for ARCH\n"
"      --no-warnings      do not compare warnings with the originals\n"
"      --no-sparse        do not run sparse (C=1) even when installed\n"
"      --json             print the report as JSON on stdout\n"
"  -v, --verbose          more progress lines\n"
"  -h, --help             this text\n"
"\n"
"Exit status: 0 every touched file builds on every architecture that\n"
"builds it, with no new warnings; 1 the check failed or some file was\n"
"not checked; 2 bad input.\n";

enum { OPT_CROSS = 256, OPT_NO_WARN, OPT_NO_SPARSE, OPT_JSON };

static const struct option long_opts[] = {
	{ "output", required_argument, NULL, 'O' },
	{ "jobs", required_argument, NULL, 'j' },
	{ "manifest", required_argument, NULL, 'm' },
	{ "table", required_argument, NULL, 't' },
	{ "arch", required_argument, NULL, 'a' },
	{ "cross", required_argument, NULL, OPT_CROSS },
	{ "no-warnings", no_argument, NULL, OPT_NO_WARN },
	{ "no-sparse", no_argument, NULL, OPT_NO_SPARSE },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

void cell_set(struct cell *cell, enum cell_status st, const char *reason)
{
	cell->status = st;
	free(cell->reason);
	cell->reason = reason ? xstrdup(reason) : NULL;
}

char *tree_path(const struct checker *c, const char *rel)
{
	return xasprintf("%s/%s", c->tree, rel);
}

static char *absolute(const char *path, int must_exist)
{
	char buf[PATH_MAX];
	char *cwd;

	if (realpath(path, buf))
		return xstrdup(buf);
	if (must_exist)
		die("%s: no such directory", path);
	if (*path == '/')
		return xstrdup(path);
	cwd = getcwd(buf, sizeof(buf));
	if (!cwd)
		die("cannot get the current directory");
	return xasprintf("%s/%s", cwd, path);
}

static int parse_jobs(const char *s)
{
	char *end;
	long n = strtol(s, &end, 10);

	if (*end || n < 1 || n > 256)
		die("bad job count '%s'", s);
	return (int)n;
}

static void parse_options(struct checker *c, int argc, char **argv)
{
	int opt;

	while ((opt = getopt_long(argc, argv, "O:j:m:t:a:vh", long_opts,
				  NULL)) != -1) {
		switch (opt) {
		case 'O':
			c->out_root = absolute(optarg, 0);
			break;
		case 'j':
			c->jobs = parse_jobs(optarg);
			break;
		case 'm':
			c->manifest = optarg;
			break;
		case 't':
			c->table_path = optarg;
			break;
		case 'a':
			strvec_push(&c->only_names, optarg);
			break;
		case OPT_CROSS:
			if (!strchr(optarg, '='))
				die("--cross wants ARCH=PREFIX, got '%s'", optarg);
			strvec_push(&c->cross, optarg);
			break;
		case OPT_NO_WARN:
			c->warnings = 0;
			break;
		case OPT_NO_SPARSE:
			c->sparse = 0;
			break;
		case OPT_JSON:
			c->json = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		default:
			fputs(usage_text, stderr);
			exit(EXIT_BAD_INPUT);
		}
	}
	if (optind >= argc) {
		fputs(usage_text, stderr);
		die("no kernel tree given");
	}
	c->tree = absolute(argv[optind++], 1);
	for (; optind < argc; optind++)
		strvec_push(&c->touched, argv[optind]);
}

/* The value of "NAME = value" in the top Makefile, or NULL. */
static char *makefile_var(const char *text, const char *name)
{
	const char *line, *p, *end;
	size_t n = strlen(name);

	for (line = text; line && *line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		if (strncmp(line, name, n))
			continue;
		p = line + n;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p++ != '=')
			continue;
		while (*p == ' ' || *p == '\t')
			p++;
		end = strchrnul(p, '\n');
		while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		return xasprintf("%.*s", (int)(end - p), p);
	}
	return NULL;
}

static void read_version(struct checker *c)
{
	char *path = tree_path(c, "Makefile");
	char *text = read_file(path, NULL);
	char *v, *p, *s, *e;

	if (!text)
		die("%s is not a kernel tree (no Makefile)", c->tree);
	v = makefile_var(text, "VERSION");
	p = makefile_var(text, "PATCHLEVEL");
	s = makefile_var(text, "SUBLEVEL");
	e = makefile_var(text, "EXTRAVERSION");
	if (!v || !p || !*v || !*p)
		die("%s is not a kernel tree (no VERSION/PATCHLEVEL in its Makefile)",
		    c->tree);
	c->version = xasprintf("%s.%s.%s%s", v, p, s ? s : "0", e ? e : "");
	c->fixture = (e && !strcmp(e, "-fixtures"));
	free(path);
	free(text);
	free(v);
	free(p);
	free(s);
	free(e);
}

static void detect_tree(struct checker *c)
{
	char *p;
	const char *base = strrchr(c->tree, '/');
	unsigned long long h;

	read_version(c);
	p = tree_path(c, "scripts/config");
	if (!c->fixture && (!is_file(p) || !is_dir(c->tree)))
		c->fixture = 1;
	free(p);
	p = tree_path(c, "include/linux");
	if (!is_dir(p))
		die("%s is not a kernel tree (no include/linux)", c->tree);
	free(p);
	p = tree_path(c, "arch");
	if (!c->fixture && !is_dir(p))
		die("%s is not a kernel tree (no arch/)", c->tree);
	free(p);
	h = fnv1a(FNV1A_INIT, c->tree, strlen(c->tree));
	h = fnv1a(h, c->version, strlen(c->version));
	c->tree_id = xasprintf("%s-%s-%08llx", base ? base + 1 : "tree",
			       c->version, h & 0xffffffffULL);
	c->work = xasprintf("%s/kbuild/%s", c->out_root, c->tree_id);
	c->logdir = xasprintf("%s/logs", c->work);
	p = tree_path(c, ".iommu-dma/orig");
	if (is_dir(p))
		c->orig_dir = p;
	else
		free(p);
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
	p = tree_path(c, rel);
	if (!is_file(p))
		die("%s: no such file in %s", rel, c->tree);
	free(p);
	return rel;
}

static void read_touched(struct checker *c)
{
	struct strvec files = STRVEC_INIT;
	char *manifest = NULL;
	size_t i;

	if (!c->touched.nr) {
		manifest = c->manifest ? xstrdup(c->manifest) :
			   tree_path(c, ".iommu-dma/manifest");
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

/* The table in the source tree, else the copy beside the program. */
static const char *find_table(void)
{
	static char path[PATH_MAX + 16];
	char exe[PATH_MAX];
	char *slash;
	ssize_t n;

	if (is_file(KCHECK_TABLE))
		return KCHECK_TABLE;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return KCHECK_TABLE;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return KCHECK_TABLE;
	*slash = '\0';
	snprintf(path, sizeof(path), "%s/arches.txt", exe);
	return path;
}

static void setup_columns(struct checker *c)
{
	size_t i;
	int k;

	if (c->fixture) {
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

static void set_obj(struct target *t)
{
	t->obj = xasprintf("%.*s.o", (int)(strlen(t->src) - 2), t->src);
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

static unsigned int used_arches(const struct checker *c)
{
	unsigned int mask = 0;
	size_t i;

	for (i = 0; i < c->nr; i++)
		if (!c->t[i].skip && !ends_with(c->t[i].file, ".h"))
			mask |= c->t[i].arches;
	return mask;
}

static void resolve_targets(struct checker *c)
{
	unsigned int run;
	size_t i;

	c->nr = c->touched.nr;
	c->t = xmalloc(c->nr * sizeof(*c->t));
	memset(c->t, 0, c->nr * sizeof(*c->t));
	for (i = 0; i < c->nr; i++) {
		struct target *t = &c->t[i];

		t->file = c->touched.v[i];
		if (resolve_source(c, t) < 0)
			continue;
		set_obj(t);
		if (c->fixture)
			t->arches = 1;
		else if (resolve_kbuild(c, t) < 0)
			continue;
	}
	/* headers with no arch list: also every arch the run builds */
	run = used_arches(c);
	for (i = 0; i < c->nr; i++) {
		struct target *t = &c->t[i];
		const struct header_desc *h;

		if (t->skip || c->fixture || !ends_with(t->file, ".h"))
			continue;
		h = arch_table_find_header(&c->table, t->file);
		if (!h->arches)
			t->arches |= run;
	}
	for (i = 0; i < c->nr; i++) {
		struct target *t = &c->t[i];

		if (!t->skip && c->only && !(t->arches & c->only))
			t->skip = xstrdup("not built on the selected architectures");
		if (!t->skip && c->only)
			t->arches &= c->only;
	}
}

static void report_skips(const struct checker *c)
{
	size_t i;

	for (i = 0; i < c->nr; i++)
		if (c->t[i].skip)
			progress("kbuild-check: error: %s: not checked: %s",
				 c->t[i].file, c->t[i].skip);
}

/* One run at a time per tree: they share the shadow and output dirs. */
static void lock_work(const struct checker *c)
{
	char *path = xasprintf("%s/lock", c->work);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0)
		die("cannot open %s", path);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		progress("kbuild-check: waiting for another run on %s", c->work);
		if (flock(fd, LOCK_EX) < 0)
			die("cannot lock %s", path);
	}
	free(path);	/* fd stays open: the lock lasts until exit */
}

int main(int argc, char **argv)
{
	struct checker c = {
		.jobs = 2,
		.sparse = 1,
		.warnings = 1,
	};

	c.started = now_sec();
	parse_options(&c, argc, argv);
	if (!c.out_root)
		c.out_root = absolute("build", 0);
	if (!c.table_path)
		c.table_path = find_table();
	detect_tree(&c);
	read_touched(&c);
	arch_table_load(&c.table, c.table_path);
	setup_columns(&c);
	resolve_targets(&c);
	if (mkdir_p(c.logdir) < 0)
		die("cannot create %s", c.logdir);
	lock_work(&c);
	progress("kbuild-check: %s (%s, %s mode): %zu touched file(s), output in %s",
		 c.tree, c.version, c.fixture ? "fixture" : "kbuild",
		 c.nr, c.work);
	report_skips(&c);
	if (c.fixture)
		fixture_run(&c);
	else
		kbuild_run(&c);
	return report(&c);
}
