// SPDX-License-Identifier: GPL-2.0
/*
 * Kbuild mode: one output directory per (tree, arch), configured once and
 * reused (config.h); one "make -k" per arch for the touched objects.
 *
 * Baseline for warnings: kbuild ties an output directory to one source
 * tree (absolute paths in every .cmd file), so a second, pristine tree
 * would need a second prepared directory per arch and double the cold
 * time.  Instead every build runs on a hard-linked shadow copy of the tree
 * (shadow.h): for the baseline its touched files are swapped to the
 * originals in .iommu-dma/orig/, the same objects are built in the same
 * output directory, then the rewritten files are linked back.  The tree
 * itself is never written.
 *
 * Each object's part of the log is kept with what it was built from
 * (objcache.h), for the originals and for the rewritten files apart: a
 * run makes only the objects whose sources, headers, config or compiler
 * changed, and runs no make at all when nothing did.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buildlog.h"
#include "config.h"
#include "diag.h"
#include "kbuild.h"
#include "objcache.h"
#include "run-command.h"
#include "util.h"

#define KEY_FORMAT "kbuild-check objects 1"

/* One column's objects in one pass (baseline or build). */
struct pass {
	const char *what;	/* for messages: "baseline (originals)" */
	struct objcache oc;
	char *key;
	struct strvec objs;	/* sorted */
	char **part;		/* each object's part of the log */
	int *fresh;		/* made in this pass (else kept) */
	size_t nr_fresh;
	struct child_process cmd;
	int started;
	int ret;
	char *log;
	char *text;		/* make's whole output, or NULL */
};

static void fail_col(struct checker *c, size_t col, const char *why,
		     const struct strvec *lines)
{
	size_t i, j;

	for (i = 0; i < c->nr; i++) {
		struct target *t = &c->t[i];

		if (!cell_active(c, t, col))
			continue;
		cell_set(&t->cell[col], CELL_FAIL, why);
		t->cell[col].log = c->col_log[col];
		for (j = 0; lines && j < lines->nr; j++)
			strvec_push(&t->cell[col].errors, lines->v[j]);
	}
}

/* The cross compiler from --cross ARCH=PREFIX, else from the table. */
static const char *cross_prefix(const struct checker *c, size_t col)
{
	const char *name = c->table.arch[col].name;
	size_t i, n = strlen(name);

	for (i = 0; i < c->cross.nr; i++)
		if (!strncmp(c->cross.v[i], name, n) && c->cross.v[i][n] == '=')
			return c->cross.v[i] + n + 1;
	return c->table.arch[col].cross;
}

/* The defconfig file's text; NULL for a make target (or none). */
static char *defconfig_text(const struct checker *c,
			    const struct arch_desc *a)
{
	char *p, *text;

	p = xasprintf("%s/arch/%s/configs/%s", c->tree, a->srcarch,
		      a->defconfig);
	text = read_file(p, NULL);
	free(p);
	if (text)
		return text;
	p = xasprintf("%s/arch/%s/configs/%s_%s", c->tree, a->srcarch,
		      a->make_arch, a->defconfig);
	text = read_file(p, NULL);
	free(p);
	return text;
}

/* A defconfig is a file in arch/$(SRCARCH)/configs/ or a make target. */
static int have_defconfig(const struct checker *c, const struct arch_desc *a)
{
	char *p, *text, *target;
	int found;

	text = defconfig_text(c, a);
	free(text);
	if (text)
		return 1;
	p = xasprintf("%s/arch/%s/Makefile", c->tree, a->srcarch);
	text = read_file(p, NULL);
	target = xasprintf("\n%s:", a->defconfig);
	found = text && strstr(text, target);
	free(target);
	free(text);
	free(p);
	return found;
}

static char *check_arch(const struct checker *c, size_t col)
{
	const struct arch_desc *a = &c->table.arch[col];
	char *gcc, *why = NULL;

	gcc = xasprintf("%sgcc", cross_prefix(c, col));
	if (!have_defconfig(c, a))
		why = xasprintf("the tree has no %s for %s (arch/%s/)",
				a->defconfig, a->name, a->srcarch);
	else if (!program_exists(gcc))
		why = xasprintf("compiler %s not found (install it or use --cross %s=PREFIX)",
				gcc, a->name);
	free(gcc);
	return why;
}

static void check_arches(struct checker *c)
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

static void make_cmd(const struct checker *c, size_t col,
		     struct child_process *cmd)
{
	const struct arch_desc *a = &c->table.arch[col];

	/* kbuild unexports LC_ALL: set the others for plain quotes */
	strvec_push(&cmd->env, "LC_ALL=C");
	strvec_push(&cmd->env, "LANG=C");
	strvec_push(&cmd->env, "LC_CTYPE=C");
	strvec_push(&cmd->env, "LC_MESSAGES=C");
	strvec_push(&cmd->args, "make");
	strvec_pushf(&cmd->args, "-C%s", c->shadow.dir);
	strvec_pushf(&cmd->args, "O=%s", c->col_out[col]);
	strvec_pushf(&cmd->args, "ARCH=%s", a->make_arch);
	if (*cross_prefix(c, col))
		strvec_pushf(&cmd->args, "CROSS_COMPILE=%s", cross_prefix(c, col));
	/* one W=/C= setting per output dir: toggling rebuilds prepare */
	strvec_push(&cmd->args, "W=1");
	if (c->sparse)
		strvec_push(&cmd->args, "C=1");
	strvec_pushf(&cmd->args, "-j%d", c->jobs);
}

/* The config inputs of a column (see config.h). */
static char *want_stamp(const struct checker *c, size_t col)
{
	const struct arch_desc *a = &c->table.arch[col];
	char *gcc = xasprintf("%sgcc", cross_prefix(c, col));
	struct config_inputs in = {
		.arch = a,
		.cross = cross_prefix(c, col),
		.compiler = config_program_id(gcc),
		.version = c->version,
		.defconfig = defconfig_text(c, a),
	};
	char *stamp = config_stamp(&in);

	free((char *)in.compiler);
	free((char *)in.defconfig);
	free(gcc);
	return stamp;
}

static char *stamp_path(const struct checker *c, size_t col)
{
	return xasprintf("%s/kcheck.stamp", c->col_out[col]);
}

static void needed_syms(const struct checker *c, size_t col,
			struct strvec *out)
{
	const struct arch_desc *a = &c->table.arch[col];
	size_t i;

	for (i = 0; i < a->syms.nr; i++)
		strvec_push_unique(out, a->syms.v[i]);
	for (i = 0; i < c->nr; i++) {
		if (!cell_active(c, &c->t[i], col))
			continue;
		strvec_push_unique(out, c->t[i].sym);
		if (c->t[i].member_sym)
			strvec_push_unique(out, c->t[i].member_sym);
	}
}

/* One column's configuration, run side by side with the others. */
struct prep {
	struct strvec syms;
	enum prepare_mode mode;
	char *stamp;
	char *log;
	int fd;
	int failed;
	int running;
	struct child_process cmd;
	double t0;
};

enum prep_step { STEP_DEFCONFIG, STEP_SYMBOLS, STEP_OLDDEFCONFIG,
		 STEP_PREPARE, NR_STEPS };

static const char *const step_name[] = {
	"defconfig", "scripts/config", "olddefconfig", "prepare",
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
	make_cmd(c, col, cmd);
	if (step == STEP_DEFCONFIG)
		strvec_push(&cmd->args, c->table.arch[col].defconfig);
	else if (step == STEP_OLDDEFCONFIG)
		strvec_push(&cmd->args, "olddefconfig");
	else
		strvec_push(&cmd->args, "prepare");
}

static int step_runs(const struct prep *p, enum prep_step step)
{
	if (p->mode == PREPARE_REUSE || p->failed)
		return 0;
	return step != STEP_DEFCONFIG || p->mode == PREPARE_DEFCONFIG;
}

static void start_step(const struct checker *c, size_t col, struct prep *p,
		       enum prep_step step)
{
	child_process_init(&p->cmd);
	step_cmd(c, col, p, step);
	log_command(p->fd, &p->cmd);
	p->cmd.out_fd = p->fd;
	p->t0 = now_sec();
	if (start_command(&p->cmd) < 0)
		p->failed = 1;
	else
		p->running = 1;
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
	p->running = 0;
	p->failed = ret != 0;
}

/* Each step for every column at once; a column stops at its failure. */
static void run_steps(const struct checker *c, struct prep *p)
{
	enum prep_step step;
	size_t col;

	for (step = 0; step < NR_STEPS; step++) {
		for (col = 0; col < c->nr_cols; col++)
			if (step_runs(&p[col], step))
				start_step(c, col, &p[col], step);
		for (col = 0; col < c->nr_cols; col++)
			if (p[col].running)
				finish_step(c, col, &p[col], step);
	}
}

static void grep_lines(const char *text, const char *needle, size_t max,
		       struct strvec *out)
{
	const char *line, *end;

	for (line = text; line && *line && out->nr < max;
	     line = *end ? end + 1 : NULL) {
		end = strchrnul(line, '\n');
		if (memmem(line, end - line, needle, strlen(needle)))
			strvec_pushf(out, "%.*s", (int)(end - line), line);
	}
}

static void prepare_failed(struct checker *c, size_t col, const char *log)
{
	struct strvec lines = STRVEC_INIT;
	char *text = read_file(log, NULL);
	char *why;

	grep_lines(text, "rror", 5, &lines);
	why = xasprintf("preparing the output directory failed (log: %s)", log);
	fail_col(c, col, why, &lines);
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

static void plan_prep(const struct checker *c, size_t col, struct prep *p)
{
	char *path = stamp_path(c, col);
	char *have = read_file(path, NULL);
	char *config = config_read(c->col_out[col]);

	needed_syms(c, col, &p->syms);
	p->stamp = want_stamp(c, col);
	p->mode = config_prepare_mode(have, p->stamp, config, &p->syms);
	free(config);
	free(have);
	free(path);
}

static void open_prep(const struct checker *c, size_t col, struct prep *p)
{
	char *path = stamp_path(c, col);

	progress("[%s] preparing %s (%s)", c->col_name[col], c->col_out[col],
		 p->mode == PREPARE_DEFCONFIG ? "from defconfig" :
		 "enabling symbols");
	p->log = xasprintf("%s/%s-prepare.log", c->logdir, c->col_name[col]);
	if (mkdir_p(c->col_out[col]) < 0)
		p->failed = 1;
	else
		p->fd = open_log(p->log, NULL);
	if (p->fd < 0)
		p->failed = 1;
	unlink(path);	/* an interrupted prepare is done again */
	free(path);
}

static void finish_prep(struct checker *c, size_t col, struct prep *p)
{
	char *path = stamp_path(c, col);

	if (p->fd >= 0)
		close(p->fd);
	if (p->mode != PREPARE_REUSE && p->failed)
		prepare_failed(c, col, p->log);
	else if (p->mode != PREPARE_REUSE &&
		 write_file_atomic(path, p->stamp, strlen(p->stamp)) < 0)
		warn_msg("cannot write %s", path);
	if (col_active(c, col))
		verify_config(c, col, &p->syms);
	strvec_clear(&p->syms);
	free(p->stamp);
	free(p->log);
	free(path);
}

/* Configure and prepare the output directories that need it, at once. */
static void prepare_all(struct checker *c)
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

static void col_objects(const struct checker *c, size_t col,
			struct strvec *objs)
{
	size_t i;

	for (i = 0; i < c->nr; i++)
		if (cell_active(c, &c->t[i], col))
			strvec_push_unique(objs, c->t[i].obj);
	strvec_sort(objs);
}

static unsigned long long hash_str(unsigned long long h, const char *s)
{
	if (!s)
		s = "-";
	return fnv1a(h, s, strlen(s) + 1);
}

/* Everything an object's result depends on but its files. */
static char *col_key(const struct checker *c, size_t col)
{
	char *stamp_file = stamp_path(c, col);
	char *stamp = read_file(stamp_file, NULL);
	char *config = config_read(c->col_out[col]);
	char *sparse = c->sparse ? config_program_id("sparse") :
		       xstrdup("C=0");
	unsigned long long h = hash_str(FNV1A_INIT, KEY_FORMAT);

	h = hash_str(h, stamp);
	h = hash_str(h, config);
	h = hash_str(h, sparse);
	h = hash_str(h, "W=1");
	h = hash_str(h, c->shadow.dir);
	free(sparse);
	free(config);
	free(stamp);
	free(stamp_file);
	return xasprintf("%016llx", h);
}

/* Baseline: a touched file in the shadow is read from its original. */
static char *orig_of_dep(const char *dep, void *data)
{
	const struct checker *c = data;
	size_t n = strlen(c->shadow.dir);

	if (strncmp(dep, c->shadow.dir, n) || dep[n] != '/' ||
	    strvec_find(&c->touched, dep + n + 1) < 0)
		return NULL;
	return shadow_orig(&c->shadow, dep + n + 1);
}

static void pass_init(struct checker *c, size_t col, struct pass *ps,
		      int baseline)
{
	size_t i, n;

	memset(ps, 0, sizeof(*ps));
	child_process_init(&ps->cmd);
	ps->what = baseline ? "baseline (originals)" : "build";
	ps->log = baseline ? xasprintf("%s/%s-baseline.log", c->logdir,
				       c->col_name[col]) :
		  xstrdup(c->col_log[col]);
	if (!col_active(c, col))
		return;
	col_objects(c, col, &ps->objs);
	n = ps->objs.nr;
	ps->part = xmalloc((n + 1) * sizeof(*ps->part));
	ps->fresh = xmalloc((n + 1) * sizeof(*ps->fresh));
	ps->key = col_key(c, col);
	ps->oc.outdir = c->col_out[col];
	ps->oc.key = ps->key;
	ps->oc.kind = baseline ? "base" : "build";
	ps->oc.map = baseline ? orig_of_dep : NULL;
	ps->oc.data = c;
	for (i = 0; i < n; i++) {
		ps->part[i] = objcache_lookup(&ps->oc, ps->objs.v[i]);
		ps->fresh[i] = !ps->part[i];
		ps->nr_fresh += ps->fresh[i];
	}
}

static void pass_clear(struct pass *ps)
{
	size_t i;

	for (i = 0; i < ps->objs.nr; i++)
		free(ps->part[i]);
	free(ps->part);
	free(ps->fresh);
	free(ps->key);
	free(ps->log);
	free(ps->text);
	strvec_clear(&ps->objs);
	child_process_clear(&ps->cmd);
}

static char *out_path(const struct checker *c, size_t col, const char *obj)
{
	return xasprintf("%s/%s", c->col_out[col], obj);
}

/*
 * Make the objects not kept; delete them first, or a failed compile
 * would leave the old one.
 */
static void pass_start(struct checker *c, size_t col, struct pass *ps)
{
	size_t i;
	char *p;
	int fd;

	make_cmd(c, col, &ps->cmd);
	strvec_push(&ps->cmd.args, "-k");
	strvec_push(&ps->cmd.args, "-Otarget");
	for (i = 0; i < ps->objs.nr; i++) {
		if (!ps->fresh[i])
			continue;
		p = out_path(c, col, ps->objs.v[i]);
		unlink(p);
		free(p);
		objcache_drop(&ps->oc, ps->objs.v[i]);
		strvec_push(&ps->cmd.args, ps->objs.v[i]);
	}
	fd = open_log(ps->log, &ps->cmd);
	if (fd < 0)
		die("cannot write %s", ps->log);
	ps->cmd.out_fd = fd;
	if (start_command(&ps->cmd) < 0)
		die("cannot run make");
	close(fd);
	ps->started = 1;
}

static int obj_built(const struct checker *c, size_t col, const char *obj)
{
	char *p = out_path(c, col, obj);
	int ret = is_file(p);

	free(p);
	return ret;
}

static int fresh_built(const struct checker *c, size_t col,
		       const struct pass *ps)
{
	size_t i;

	for (i = 0; i < ps->objs.nr; i++)
		if (ps->fresh[i] && !obj_built(c, col, ps->objs.v[i]))
			return 0;
	return 1;
}

/* Take each fresh object's part of the log; keep those that built. */
static void pass_finish(struct checker *c, size_t col, struct pass *ps)
{
	char **parts = xmalloc((ps->objs.nr + 1) * sizeof(*parts));
	int all_built;
	size_t i;

	ps->ret = finish_command(&ps->cmd);
	child_process_clear(&ps->cmd);
	ps->text = read_file(ps->log, NULL);
	buildlog_split(ps->text, &ps->objs, parts);
	all_built = fresh_built(c, col, ps);
	for (i = 0; i < ps->objs.nr; i++) {
		if (!ps->fresh[i]) {
			free(parts[i]);
			continue;
		}
		ps->part[i] = parts[i];
		if (parts[i] && obj_built(c, col, ps->objs.v[i]) &&
		    !(ps->ret && all_built))
			objcache_store(&ps->oc, ps->objs.v[i], parts[i]);
	}
	free(parts);
}

/* Kept parts go into the log too, after make's output (if any). */
static void pass_log_kept(const struct pass *ps)
{
	size_t i;
	int fd;

	if (ps->nr_fresh == ps->objs.nr)
		return;
	if (ps->started)
		fd = open(ps->log, O_WRONLY | O_APPEND | O_CLOEXEC);
	else
		fd = open_log(ps->log, NULL);
	if (fd < 0)
		return;
	for (i = 0; i < ps->objs.nr; i++)
		if (!ps->fresh[i])
			dprintf(fd, "kbuild-check: %s kept from an earlier run (nothing it is built from changed):\n%s",
				ps->objs.v[i], ps->part[i]);
	close(fd);
}

/*
 * The pass's diagnostics: every object's part; make's whole output too
 * if an object was made but its part was not found (never miss one).
 */
static void pass_diags(const struct checker *c, const struct pass *ps,
		       struct diag_list *out)
{
	const char *const roots[] = { c->shadow.dir, c->tree, NULL };
	int whole = 0;
	size_t i;

	for (i = 0; i < ps->objs.nr; i++) {
		if (ps->part[i])
			diag_parse(ps->part[i], roots, out);
		else if (ps->fresh[i])
			whole = 1;
	}
	if (whole && ps->text)
		diag_parse(ps->text, roots, out);
}

/* Start every column's make, then finish them (they run side by side). */
static void run_passes(struct checker *c, struct pass *ps)
{
	size_t col;

	for (col = 0; col < c->nr_cols; col++)
		if (ps[col].nr_fresh)
			pass_start(c, col, &ps[col]);
	for (col = 0; col < c->nr_cols; col++) {
		if (ps[col].started)
			pass_finish(c, col, &ps[col]);
		pass_log_kept(&ps[col]);
	}
}

static void pass_progress(const struct checker *c, size_t col,
			  const struct pass *ps, const char *what_else,
			  double t0)
{
	size_t kept = ps->objs.nr - ps->nr_fresh;

	if (ps->started)
		progress("[%s] %s: make exit %d, %zu made, %zu kept, %s (%.1f s)",
			 c->col_name[col], ps->what, ps->ret, ps->nr_fresh,
			 kept, what_else, now_sec() - t0);
	else
		progress("[%s] %s: nothing to make, %zu kept, %s",
			 c->col_name[col], ps->what, kept, what_else);
}

static int have_orig(const struct checker *c)
{
	size_t i;
	char *o;

	for (i = 0; i < c->touched.nr; i++) {
		o = shadow_orig(&c->shadow, c->touched.v[i]);
		free(o);
		if (o)
			return 1;
	}
	return 0;
}

/* The originals' diagnostics, made with the originals swapped in. */
static void baseline_all(struct checker *c, struct diag_list *base)
{
	struct pass ps[MAX_ARCHES];
	double t0 = now_sec();
	size_t col, fresh = 0;
	char *n;

	for (col = 0; col < c->nr_cols; col++) {
		pass_init(c, col, &ps[col], 1);
		fresh += ps[col].nr_fresh;
	}
	if (fresh)
		shadow_use(&c->shadow, &c->touched, 1);
	run_passes(c, ps);
	if (fresh)
		shadow_use(&c->shadow, &c->touched, 0);
	for (col = 0; col < c->nr_cols; col++) {
		if (col_active(c, col)) {
			pass_diags(c, &ps[col], &base[col]);
			n = xasprintf("%zu diagnostic(s)", base[col].nr);
			pass_progress(c, col, &ps[col], n, t0);
			free(n);
		}
		pass_clear(&ps[col]);
	}
}

/*
 * An object is judged by its own presence (it was deleted before make);
 * a make that failed with every object built fails them all.
 */
static void judge_cell(struct checker *c, size_t col, struct target *t,
		       const struct pass *ps, int all_built,
		       const struct diag_list *errs)
{
	struct cell *cell = &t->cell[col];
	int k = strvec_find(&ps->objs, t->obj);
	char *why;

	cell->log = c->col_log[col];
	if (k >= 0 && !ps->fresh[k]) {
		cell_set(cell, CELL_OK, NULL);	/* only successes are kept */
		return;
	}
	if (!obj_built(c, col, t->obj)) {
		cell_set(cell, CELL_FAIL, NULL);
		diag_error_lines(errs, t->src, t->file, t->obj, ps->text,
				 &cell->errors);
		return;
	}
	if (ps->ret && all_built) {
		why = xasprintf("make exited with status %d", ps->ret);
		cell_set(cell, CELL_FAIL, why);
		free(why);
		return;
	}
	cell_set(cell, CELL_OK, NULL);
}

static int col_failed(const struct checker *c, size_t col)
{
	size_t i;

	for (i = 0; i < c->nr; i++)
		if (c->t[i].cell[col].status == CELL_FAIL)
			return 1;
	return 0;
}

/* Give each new diagnostic to the touched file it is in. */
static void add_new_warnings(struct checker *c, size_t col,
			     const struct diag_list *fresh)
{
	int failed = col_failed(c, col);
	size_t i, j;
	int owner;

	for (i = 0; i < fresh->nr; i++) {
		const struct diag *d = &fresh->d[i];

		owner = 0;
		for (j = 0; j < c->nr; j++) {
			struct target *t = &c->t[j];
			struct cell *cell = &t->cell[col];

			if (t->skip || !(t->arches & (1U << col)) ||
			    strcmp(d->path, t->file))
				continue;
			owner = 1;
			if (cell->status == CELL_FAIL && d->is_error)
				continue;
			strvec_push(&cell->warnings, d->text);
			if (cell->status == CELL_OK)
				cell->status = CELL_WARN;
		}
		/* errors elsewhere come from a failed compile: shown there */
		if (!owner && !(failed && d->is_error))
			strvec_push(&c->col_other[col], d->text);
	}
}

static void judge_col(struct checker *c, size_t col, const struct pass *ps,
		      const struct diag_list *base, int compare, double t0)
{
	const char *const roots[] = { c->shadow.dir, c->tree, NULL };
	struct diag_list now = DIAG_LIST_INIT, fresh = DIAG_LIST_INIT;
	struct diag_list errs = DIAG_LIST_INIT;
	int all_built = fresh_built(c, col, ps);
	size_t i, ok = 0, n = 0;
	char *what;

	diag_parse(ps->text, roots, &errs);
	for (i = 0; i < c->nr; i++) {
		if (!cell_active(c, &c->t[i], col))
			continue;
		judge_cell(c, col, &c->t[i], ps, all_built, &errs);
		n++;
		ok += c->t[i].cell[col].status == CELL_OK;
	}
	pass_diags(c, ps, &now);
	if (compare)
		diag_new_keys(base, &now, &fresh);
	add_new_warnings(c, col, &fresh);
	what = xasprintf("%zu/%zu ok, %zu new warning(s), log %s", ok, n,
			 fresh.nr, c->col_log[col]);
	pass_progress(c, col, ps, what, t0);
	free(what);
	diag_clear(&now);
	diag_clear(&fresh);
	diag_clear(&errs);
}

static void build_all(struct checker *c, const struct diag_list *base,
		      int compare)
{
	struct pass ps[MAX_ARCHES];
	double t0 = now_sec();
	size_t col;

	for (col = 0; col < c->nr_cols; col++) {
		pass_init(c, col, &ps[col], 0);
		if (ps[col].nr_fresh)
			progress("[%s] building %zu touched object(s) (make -k -j%d)",
				 c->col_name[col], ps[col].nr_fresh, c->jobs);
	}
	run_passes(c, ps);
	for (col = 0; col < c->nr_cols; col++) {
		if (col_active(c, col))
			judge_col(c, col, &ps[col], &base[col], compare, t0);
		pass_clear(&ps[col]);
	}
	progress("kbuild-check: builds done in %.1f s", now_sec() - t0);
}

static int any_col_active(const struct checker *c)
{
	size_t col;

	for (col = 0; col < c->nr_cols; col++)
		if (col_active(c, col))
			return 1;
	return 0;
}

void kbuild_run(struct checker *c)
{
	struct diag_list base[MAX_ARCHES];
	int compare = c->warnings;
	size_t col;

	memset(base, 0, sizeof(base));
	c->sparse = c->sparse && program_exists("sparse");
	for (col = 0; col < c->nr_cols; col++) {
		c->col_out[col] = xasprintf("%s/%s", c->work, c->col_name[col]);
		c->col_log[col] = xasprintf("%s/%s-build.log", c->logdir,
					    c->col_name[col]);
	}
	check_arches(c);
	if (!any_col_active(c))
		return;
	shadow_init(&c->shadow, c->tree, c->orig_dir, c->work);
	shadow_sync(&c->shadow, &c->touched);
	prepare_all(c);
	if (compare && !have_orig(c)) {
		progress("kbuild-check: no originals in .iommu-dma/orig/: warnings are not compared");
		compare = 0;
	}
	if (compare)
		baseline_all(c, base);
	build_all(c, base, compare);
	for (col = 0; col < c->nr_cols; col++)
		diag_clear(&base[col]);
}
