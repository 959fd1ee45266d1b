// SPDX-License-Identifier: GPL-2.0
/*
 * The output directories of kbuild mode and their .config (see prepare.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prepare.h"
#include "util.h"

#define STAMP_FORMAT "kbuild-check config 2"

/* The table's symbols for the arch, sorted, in one line. */
static char *symbol_list(const struct arch_desc *a)
{
	struct strvec syms = STRVEC_INIT;
	char *list;
	size_t i;

	for (i = 0; i < a->syms.nr; i++)
		strvec_push_unique(&syms, a->syms.v[i]);
	strvec_sort(&syms);
	list = strvec_join(&syms, " ");
	strvec_clear(&syms);
	return list;
}

char *config_stamp(const struct config_inputs *in)
{
	const struct arch_desc *a = in->arch;
	unsigned long long h = FNV1A_INIT;
	char *list = symbol_list(a);
	char defconfig[32] = "target";
	char *s;

	if (in->defconfig) {
		h = fnv1a(h, in->defconfig, strlen(in->defconfig));
		snprintf(defconfig, sizeof(defconfig), "%016llx", h);
	}
	s = xasprintf("%s\nversion %s\nARCH=%s SRCARCH=%s CROSS_COMPILE=%s\ncompiler %s\ndefconfig %s %s\nsymbols %s\n",
		      STAMP_FORMAT, in->version, a->make_arch, a->srcarch,
		      in->cross, in->compiler, a->defconfig, defconfig, list);
	free(list);
	return s;
}

char *config_program_id(const char *name)
{
	char *path = program_path(name);
	struct stat st;
	char *id;

	if (!path || stat(path, &st) < 0) {
		free(path);
		return xstrdup("none");
	}
	id = xasprintf("%s %lld %lld", path, (long long)st.st_size,
		       (long long)st.st_mtime);
	free(path);
	return id;
}

char *config_read(const char *outdir)
{
	char *path = xasprintf("%s/.config", outdir);
	char *text = read_file(path, NULL);
	char *nl;

	free(path);
	if (!text)
		return NULL;
	nl = xasprintf("\n%s", text);	/* so that the first line matches */
	free(text);
	return nl;
}

int config_enabled(const char *config, const char *sym)
{
	char *y = xasprintf("\nCONFIG_%s=y\n", sym);
	char *m = xasprintf("\nCONFIG_%s=m\n", sym);
	int ret = config && (strstr(config, y) || strstr(config, m));

	free(y);
	free(m);
	return ret;
}

int config_sym_ok(const char *config, const char *sym)
{
	if (*sym == '!')
		return !config_enabled(config, sym + 1);
	return config_enabled(config, sym);
}

enum prepare_mode config_prepare_mode(const char *have_stamp,
				      const char *want_stamp,
				      const char *config,
				      const struct strvec *syms)
{
	size_t i;

	if (!have_stamp || !config || strcmp(have_stamp, want_stamp))
		return PREPARE_DEFCONFIG;
	for (i = 0; i < syms->nr; i++)
		if (!config_sym_ok(config, syms->v[i]))
			return PREPARE_SYMBOLS;
	return PREPARE_REUSE;
}

const char *kbuild_cross(const struct checker *c, size_t col)
{
	const char *name = c->table.arch[col].name;
	size_t i, n = strlen(name);

	for (i = 0; i < c->cross.nr; i++)
		if (!strncmp(c->cross.v[i], name, n) && c->cross.v[i][n] == '=')
			return c->cross.v[i] + n + 1;
	return c->table.arch[col].cross;
}

void kbuild_make_cmd(const struct checker *c, size_t col,
		     struct child_process *cmd)
{
	const struct arch_desc *a = &c->table.arch[col];
	size_t i;

	/* the table's, shared with the boot check (arches.txt: env) */
	for (i = 0; i < c->table.env.nr; i++)
		strvec_push(&cmd->env, c->table.env.v[i]);
	strvec_push(&cmd->args, "make");
	strvec_pushf(&cmd->args, "-C%s", c->shadow.dir);
	strvec_pushf(&cmd->args, "O=%s", c->col_out[col]);
	strvec_pushf(&cmd->args, "ARCH=%s", a->make_arch);
	if (*kbuild_cross(c, col))
		strvec_pushf(&cmd->args, "CROSS_COMPILE=%s", kbuild_cross(c, col));
	/* one W=/C= setting per output dir: toggling rebuilds prepare */
	strvec_push(&cmd->args, "W=1");
	if (c->sparse)
		strvec_push(&cmd->args, "C=1");
	strvec_pushf(&cmd->args, "-j%d", c->jobs);
}

/* The defconfig file's text (configs/NAME or ARCH_NAME); NULL for none. */
static char *defconfig_text(const struct checker *c,
			    const struct arch_desc *a)
{
	char *p, *text = NULL;
	int i;

	for (i = 0; !text && i < 2; i++) {
		p = xasprintf("%s/arch/%s/configs/%s%s%s", c->tree, a->srcarch,
			      i ? a->make_arch : "", i ? "_" : "", a->defconfig);
		text = read_file(p, NULL);
		free(p);
	}
	return text;
}

/* A defconfig is a file in arch/$(SRCARCH)/configs/ or a make target. */
static int have_defconfig(const struct checker *c, const struct arch_desc *a)
{
	char *text = defconfig_text(c, a), *p, *target;
	int found = text != NULL;

	free(text);
	if (found)
		return 1;
	p = xasprintf("%s/arch/%s/Makefile", c->tree, a->srcarch);
	text = read_file(p, NULL);
	free(p);
	if (!text)
		return 0;
	p = xasprintf("\n%s", text);	/* a target on the first line too */
	target = xasprintf("\n%s:", a->defconfig);
	found = strstr(p, target) != NULL;
	free(target);
	free(text);
	free(p);
	return found;
}

static char *check_arch(const struct checker *c, size_t col)
{
	const struct arch_desc *a = &c->table.arch[col];
	char *gcc, *why = NULL;

	gcc = xasprintf("%sgcc", kbuild_cross(c, col));
	if (!have_defconfig(c, a))
		why = xasprintf("the tree has no %s for %s (arch/%s/)",
				a->defconfig, a->name, a->srcarch);
	else if (!program_exists(gcc))
		why = xasprintf("compiler %s not found (install it or use --cross %s=PREFIX)",
				gcc, a->name);
	free(gcc);
	return why;
}

void prepare_check_arches(struct checker *c)
{
	size_t col, i;

	for (col = 0; col < c->nr_cols; col++) {
		if (!col_active(c, col))
			continue;
		c->col_skip[col] = check_arch(c, col);
		if (!c->col_skip[col])
			continue;
		progress("kbuild-check: error: %s: not checked: %s",
			 c->col_name[col], c->col_skip[col]);
		for (i = 0; i < c->nr; i++)
			if (!c->t[i].skip && (c->t[i].arches & (1U << col)))
				cell_set(&c->t[i].cell[col], CELL_SKIP,
					 c->col_skip[col]);
	}
}

/* The config inputs of a column (see prepare.h). */
static char *want_stamp(const struct checker *c, size_t col)
{
	const struct arch_desc *a = &c->table.arch[col];
	char *gcc = xasprintf("%sgcc", kbuild_cross(c, col));
	struct config_inputs in = {
		.arch = a,
		.cross = kbuild_cross(c, col),
		.compiler = config_program_id(gcc),
		.version = c->info.version,
		.defconfig = defconfig_text(c, a),
	};
	char *stamp = config_stamp(&in);

	free((char *)in.compiler);
	free((char *)in.defconfig);
	free(gcc);
	return stamp;
}

char *prepare_stamp_path(const struct checker *c, size_t col)
{
	return xasprintf("%s/kcheck.stamp", c->col_out[col]);
}

/* One column's configuration, run side by side with the others. */
struct prep {
	struct strvec syms;
	enum prepare_mode mode;
	char *stamp, *stamp_path;
	char *log;
	int fd;
	int failed;
	struct child_process cmd;
	double t0;
};

/* olddefconfig and prepare in one make: kbuild runs them in turn */
enum prep_step { STEP_DEFCONFIG, STEP_SYMBOLS, STEP_PREPARE, NR_STEPS };

static const char *const step_name[] = {
	"defconfig", "scripts/config", "olddefconfig prepare",
};

static void step_cmd(const struct checker *c, size_t col, struct prep *p,
		     enum prep_step step)
{
	struct child_process *cmd = &p->cmd;
	size_t i;
	const char *s;

	if (step == STEP_SYMBOLS) {
		strvec_pushf(&cmd->args, "%s/scripts/config", c->shadow.dir);
		strvec_push(&cmd->args, "--file");
		strvec_pushf(&cmd->args, "%s/.config", c->col_out[col]);
		for (i = 0; i < p->syms.nr; i++) {
			s = p->syms.v[i];
			strvec_push(&cmd->args, *s == '!' ? "--disable" : "--enable");
			strvec_push(&cmd->args, s + (*s == '!'));
		}
		return;
	}
	kbuild_make_cmd(c, col, cmd);
	if (step == STEP_DEFCONFIG) {
		strvec_push(&cmd->args, c->table.arch[col].defconfig);
		return;
	}
	strvec_push(&cmd->args, "olddefconfig");
	strvec_push(&cmd->args, "prepare");
}

static void start_step(const struct checker *c, size_t col, struct prep *p,
		       enum prep_step step)
{
	p->cmd = (struct child_process)CHILD_PROCESS_INIT;
	step_cmd(c, col, p, step);
	log_command(p->fd, &p->cmd);
	p->cmd.out_fd = p->fd;
	p->t0 = now_sec();
	p->failed = start_command(&p->cmd) < 0;
}

static void finish_step(const struct checker *c, size_t col, struct prep *p,
			enum prep_step step)
{
	const char *what = step_name[step];
	int ret;

	if (step == STEP_DEFCONFIG)
		what = c->table.arch[col].defconfig;
	ret = finish_command(&p->cmd);
	progress("[%s] %s: %s (%.1f s)", c->col_name[col], what,
		 ret ? "FAILED" : "ok", now_sec() - p->t0);
	child_process_clear(&p->cmd);
	p->failed = ret != 0;
}

/*
 * Each step for every column at once; a column stops at its failure, and
 * one enabling symbols has no defconfig step.  A started step has a pid.
 */
static void run_steps(const struct checker *c, struct prep *p)
{
	enum prep_step step;
	size_t col;

	for (step = 0; step < NR_STEPS; step++) {
		for (col = 0; col < c->nr_cols; col++)
			if (p[col].mode != PREPARE_REUSE && !p[col].failed &&
			    (step || p[col].mode == PREPARE_DEFCONFIG))
				start_step(c, col, &p[col], step);
		for (col = 0; col < c->nr_cols; col++)
			if (p[col].cmd.pid > 0)
				finish_step(c, col, &p[col], step);
	}
}

/* Fail each active cell with the log's first lines that say "error". */
static void prepare_failed(struct checker *c, size_t col, const char *log)
{
	struct strvec lines = STRVEC_INIT, errs = STRVEC_INIT;
	char *text = read_file(log, NULL);
	struct cell *cell;
	size_t i, j;
	char *why;

	strvec_split(&lines, text);
	for (i = 0; i < lines.nr && errs.nr < 5; i++)
		if (strstr(lines.v[i], "rror"))
			strvec_push(&errs, lines.v[i]);
	why = xasprintf("preparing the output directory failed (log: %s)", log);
	for (i = 0; i < c->nr; i++) {
		cell = &c->t[i].cell[col];
		if (!cell_active(c, &c->t[i], col))
			continue;
		cell_set(cell, CELL_FAIL, why);
		cell->log = c->col_log[col];
		for (j = 0; j < errs.nr; j++)
			strvec_push(&cell->errors, errs.v[j]);
	}
	strvec_clear(&errs);
	strvec_clear(&lines);
	free(why);
	free(text);
}

static void verify_target(struct checker *c, size_t col, struct target *t,
			  const char *config)
{
	const char *s = NULL;
	char *why;

	if (!config_enabled(config, t->sym))
		s = t->sym;
	else if (t->member_sym && !config_enabled(config, t->member_sym))
		s = t->member_sym;
	if (!s)
		return;
	why = xasprintf("CONFIG_%s is not =y/=m in %s/.config after olddefconfig (missing dependency?)",
			s, c->col_out[col]);
	cell_set(&t->cell[col], CELL_FAIL, why);
	t->cell[col].log = c->col_log[col];
	free(why);
}

/* Every symbol must have ended up =y or =m; say which did not. */
static void verify_config(struct checker *c, size_t col,
			  const struct strvec *syms)
{
	char *config = config_read(c->col_out[col]);
	const char *s;
	size_t i;

	for (i = 0; i < syms->nr; i++) {
		s = syms->v[i];
		if (!config_sym_ok(config, s))
			progress("[%s] CONFIG_%s is %s after olddefconfig",
				 c->col_name[col], s + (*s == '!'),
				 *s == '!' ? "still set" : "not enabled");
	}
	for (i = 0; i < c->nr; i++)
		if (cell_active(c, &c->t[i], col))
			verify_target(c, col, &c->t[i], config);
	free(config);
}

/* The table's symbols and the targets' must be set. */
static void plan_prep(const struct checker *c, size_t col, struct prep *p)
{
	const struct strvec *a = &c->table.arch[col].syms;
	char *config = config_read(c->col_out[col]), *have;
	size_t i;

	for (i = 0; i < a->nr; i++)
		strvec_push_unique(&p->syms, a->v[i]);
	for (i = 0; i < c->nr; i++) {
		if (!cell_active(c, &c->t[i], col))
			continue;
		strvec_push_unique(&p->syms, c->t[i].sym);
		if (c->t[i].member_sym)
			strvec_push_unique(&p->syms, c->t[i].member_sym);
	}
	p->stamp_path = prepare_stamp_path(c, col);
	have = read_file(p->stamp_path, NULL);
	p->stamp = want_stamp(c, col);
	p->mode = config_prepare_mode(have, p->stamp, config, &p->syms);
	free(config);
	free(have);
}

static void open_prep(const struct checker *c, size_t col, struct prep *p)
{
	progress("[%s] preparing %s (%s)", c->col_name[col], c->col_out[col],
		 p->mode == PREPARE_DEFCONFIG ? "from defconfig" :
		 "enabling symbols");
	p->log = xasprintf("%s/%s-prepare.log", c->logdir, c->col_name[col]);
	if (!mkdir_p(c->col_out[col]))
		p->fd = open_log(p->log, NULL);
	p->failed = p->fd < 0;
	unlink(p->stamp_path);	/* an interrupted prepare is done again */
}

static void finish_prep(struct checker *c, size_t col, struct prep *p)
{
	if (p->fd >= 0)
		close(p->fd);
	if (p->mode != PREPARE_REUSE && p->failed)
		prepare_failed(c, col, p->log);
	else if (p->mode != PREPARE_REUSE &&
		 write_file_atomic(p->stamp_path, p->stamp, strlen(p->stamp)) < 0)
		warn_msg("cannot write %s", p->stamp_path);
	if (col_active(c, col))
		verify_config(c, col, &p->syms);
	strvec_clear(&p->syms);
	free(p->stamp);
	free(p->log);
	free(p->stamp_path);
}

void prepare_all(struct checker *c)
{
	struct prep p[MAX_ARCHES];
	size_t col;

	memset(p, 0, sizeof(p));
	for (col = 0; col < c->nr_cols; col++) {
		p[col].fd = -1;
		p[col].mode = PREPARE_REUSE;
		if (!col_active(c, col))
			continue;
		plan_prep(c, col, &p[col]);
		if (p[col].mode == PREPARE_REUSE)
			progress("[%s] output dir %s: reused", c->col_name[col],
				 c->col_out[col]);
		else
			open_prep(c, col, &p[col]);
	}
	run_steps(c, p);
	for (col = 0; col < c->nr_cols; col++)
		finish_prep(c, col, &p[col]);
}
