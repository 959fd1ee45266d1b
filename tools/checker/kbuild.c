// SPDX-License-Identifier: GPL-2.0
/*
 * Kbuild mode: one output directory per (tree, arch), configured once and
 * reused (prepare.h); one "make -k" per arch for the touched objects.
 *
 * Baseline for warnings: kbuild ties an output directory to one source
 * tree (absolute paths in every .cmd file), so a second, pristine tree
 * would need a second prepared directory per arch and double the cold
 * time.  Instead every build runs on a hard-linked shadow copy of the tree
 * (shadow.h): the rewritten objects are built first; then, for the
 * objects that printed a diagnostic (the others have no new one), the
 * touched files of the copy are swapped to the originals in
 * .iommu-dma/orig/, the same objects are built in the same output
 * directory, and the rewritten files are linked back.  Each object's
 * diagnostics are compared with its original's.  The tree itself is never
 * written.
 *
 * Each object's part of the log is kept with what it was built from
 * (objcache.h), for the originals and for the rewritten files apart: a
 * run makes only the objects whose sources, headers, config or compiler
 * changed, and runs no make at all when nothing did.
 *
 * Fixture mode: a tiny kernel-like tree (linux-fixtures) has no kbuild, so
 * each touched .c (or the .c that checks a touched header) is compiled with
 * the host compiler against the tree's own headers.  -Werror makes any
 * warning fail, so there is no baseline to compare with.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "kbuild.h"
#include "objcache.h"
#include "prepare.h"
#include "run-command.h"
#include "util.h"

#define KEY_FORMAT "kbuild-check objects 1"

/* What kbuild reads from the environment into a compile command. */
static const char *const kbuild_env[] = {
	"KCFLAGS", "KCPPFLAGS", "KAFLAGS", "LLVM", "LLVM_IAS",
};

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
	int ret;
	int all_built;		/* every object made is there */
	size_t judged, ok;	/* build: cells judged, ok */
	char *log;
	char *text;		/* make's whole output, or NULL */
};

static unsigned long long hash_str(unsigned long long h, const char *s)
{
	if (!s)
		s = "-";
	return fnv1a(h, s, strlen(s) + 1);
}

/* Everything an object's result depends on but its files. */
static char *col_key(const struct checker *c, size_t col)
{
	char *stamp_file = prepare_stamp_path(c, col);
	char *stamp = read_file(stamp_file, NULL);
	char *config = config_read(c->col_out[col]);
	char *sparse = c->sparse ? config_program_id("sparse") :
		       xstrdup("C=0");
	unsigned long long h = hash_str(FNV1A_INIT, KEY_FORMAT);
	size_t i;

	h = hash_str(h, stamp);
	h = hash_str(h, config);
	h = hash_str(h, sparse);
	h = hash_str(h, "W=1");
	h = hash_str(h, c->shadow.dir);
	for (i = 0; i < ARRAY_SIZE(kbuild_env); i++)
		h = hash_str(h, getenv(kbuild_env[i]));
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

/* A pass over @objs, which it takes. */
static void pass_init(struct checker *c, size_t col, struct pass *ps,
		      int baseline, struct strvec *objs)
{
	size_t i, n = objs->nr;

	memset(ps, 0, sizeof(*ps));
	ps->objs = *objs;
	*objs = (struct strvec)STRVEC_INIT;
	ps->cmd = (struct child_process)CHILD_PROCESS_INIT;
	ps->what = baseline ? "baseline (originals)" : "build";
	ps->log = baseline ? xasprintf("%s/%s-baseline.log", c->logdir,
				       c->col_name[col]) :
		  xstrdup(c->col_log[col]);
	if (!n)
		return;
	ps->part = xmalloc((n + 1) * sizeof(*ps->part));
	ps->fresh = xmalloc((n + 1) * sizeof(*ps->fresh));
	ps->key = col_key(c, col);
	ps->oc = (struct objcache){ .outdir = c->col_out[col], .key = ps->key,
		.kind = baseline ? "base" : "build", .data = c,
		.map = baseline ? orig_of_dep : NULL };
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

	kbuild_make_cmd(c, col, &ps->cmd);
	strvec_push(&ps->cmd.args, "-k");
	strvec_push(&ps->cmd.args, "-Otarget");
	for (i = 0; i < ps->objs.nr; i++) {
		if (!ps->fresh[i])
			continue;
		p = out_path(c, col, ps->objs.v[i]);
		unlink(p);
		free(p);
		strvec_push(&ps->cmd.args, ps->objs.v[i]);
	}
	fd = open_log(ps->log, &ps->cmd);
	if (fd < 0)
		die("cannot write %s", ps->log);
	ps->cmd.out_fd = fd;
	if (start_command(&ps->cmd) < 0)
		die("cannot run make");
	close(fd);
}

static int obj_built(const struct checker *c, size_t col, const char *obj)
{
	char *p = out_path(c, col, obj);
	int ret = is_file(p);

	free(p);
	return ret;
}

/* Take each fresh object's part of the log; keep those that built. */
static void pass_finish(struct checker *c, size_t col, struct pass *ps)
{
	char **parts = xmalloc((ps->objs.nr + 1) * sizeof(*parts));
	size_t i;

	ps->ret = finish_command(&ps->cmd);
	child_process_clear(&ps->cmd);
	ps->text = read_file(ps->log, NULL);
	buildlog_split(ps->text, &ps->objs, parts);
	ps->all_built = 1;
	for (i = 0; i < ps->objs.nr; i++)
		ps->all_built &= !ps->fresh[i] || obj_built(c, col, ps->objs.v[i]);
	for (i = 0; i < ps->objs.nr; i++) {
		if (!ps->fresh[i]) {
			free(parts[i]);
			continue;
		}
		ps->part[i] = parts[i];
		if (parts[i] && obj_built(c, col, ps->objs.v[i]) &&
		    !(ps->ret && ps->all_built))
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
	fd = ps->nr_fresh ? open(ps->log, O_WRONLY | O_APPEND | O_CLOEXEC) :
	     open_log(ps->log, NULL);
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
		if (ps[col].nr_fresh)
			pass_finish(c, col, &ps[col]);
		pass_log_kept(&ps[col]);
	}
}

static void pass_progress(const struct checker *c, size_t col,
			  const struct pass *ps, const char *what_else,
			  double t0)
{
	size_t kept = ps->objs.nr - ps->nr_fresh;

	if (ps->nr_fresh)
		progress("[%s] %s: make exit %d, %zu made, %zu kept, %s (%.1f s)",
			 c->col_name[col], ps->what, ps->ret, ps->nr_fresh,
			 kept, what_else, now_sec() - t0);
	else
		progress("[%s] %s: nothing to make, %zu kept, %s",
			 c->col_name[col], ps->what, kept, what_else);
}

/*
 * An object is judged by its own presence (it was deleted before make);
 * a make that failed with every object built fails them all.
 */
static void judge_cell(struct checker *c, size_t col, struct target *t,
		       const struct pass *ps, const struct diag_list *errs)
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
	if (ps->ret && ps->all_built) {
		why = xasprintf("make exited with status %d", ps->ret);
		cell_set(cell, CELL_FAIL, why);
		free(why);
		return;
	}
	cell_set(cell, CELL_OK, NULL);
}

/* Give each new diagnostic to the touched file it is in. */
static void add_new_warnings(struct checker *c, size_t col,
			     const struct diag_list *fresh)
{
	size_t i, j;
	int owner, failed = 0;

	for (j = 0; j < c->nr; j++)
		failed |= c->t[j].cell[col].status == CELL_FAIL;

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

/* Judge each cell of the column by the build pass. */
static void judge_cells(struct checker *c, size_t col, struct pass *ps)
{
	const char *const roots[] = { c->shadow.dir, c->tree, NULL };
	struct diag_list errs = DIAG_LIST_INIT;
	size_t i;

	diag_parse(ps->text, roots, &errs);
	for (i = 0; i < c->nr; i++) {
		if (!cell_active(c, &c->t[i], col))
			continue;
		judge_cell(c, col, &c->t[i], ps, &errs);
		ps->judged++;
		ps->ok += c->t[i].cell[col].status == CELL_OK;
	}
	diag_clear(&errs);
}

/* Was an object made without its part of the log found? */
static int pass_complete(const struct pass *ps)
{
	size_t i;

	for (i = 0; i < ps->objs.nr; i++)
		if (ps->fresh[i] && !ps->part[i])
			return 0;
	return 1;
}

/*
 * An object whose rewritten build printed no diagnostic has no new one
 * whatever its original printed: only the others need their original
 * built.  All of them when a part is missing (the column is compared as
 * a whole then).
 */
static void baseline_objects(const struct checker *c, const struct pass *ps,
			     struct strvec *objs)
{
	const char *const roots[] = { c->shadow.dir, c->tree, NULL };
	struct diag_list l = DIAG_LIST_INIT;
	int all = !pass_complete(ps);
	size_t i;

	for (i = 0; i < ps->objs.nr; i++) {
		diag_parse(ps->part[i], roots, &l);
		if (all || l.nr)
			strvec_push(objs, ps->objs.v[i]);
		diag_clear(&l);
	}
}

/* Each object's diagnostics beyond those of its original. */
static void new_diags(const struct checker *c, const struct pass *ps,
		      const struct pass *base, struct diag_list *out)
{
	const char *const roots[] = { c->shadow.dir, c->tree, NULL };
	struct diag_list now = DIAG_LIST_INIT, was = DIAG_LIST_INIT;
	size_t i;
	int k;

	if (!pass_complete(ps)) {
		pass_diags(c, ps, &now);
		pass_diags(c, base, &was);
		diag_new_keys(&was, &now, out);
		diag_clear(&now);
		diag_clear(&was);
		return;
	}
	for (i = 0; i < ps->objs.nr; i++) {
		diag_parse(ps->part[i], roots, &now);
		k = strvec_find(&base->objs, ps->objs.v[i]);
		if (now.nr && k >= 0)
			diag_parse(base->part[k], roots, &was);
		diag_new_keys(&was, &now, out);
		diag_clear(&now);
		diag_clear(&was);
	}
}

static void report_col(struct checker *c, size_t col, const struct pass *ps,
		       const struct pass *base, int compare, double t0)
{
	struct diag_list fresh = DIAG_LIST_INIT;
	char *what;

	if (compare)
		new_diags(c, ps, base, &fresh);
	add_new_warnings(c, col, &fresh);
	what = xasprintf("%zu/%zu ok, %zu new warning(s), log %s", ps->ok,
			 ps->judged, fresh.nr, c->col_log[col]);
	pass_progress(c, col, ps, what, t0);
	free(what);
	diag_clear(&fresh);
}

/* The rewritten objects, made where nothing kept says how they went. */
static void build_pass(struct checker *c, struct pass *ps)
{
	struct strvec objs = STRVEC_INIT;
	size_t col, i;

	for (col = 0; col < c->nr_cols; col++) {
		for (i = 0; i < c->nr; i++)
			if (cell_active(c, &c->t[i], col))
				strvec_push_unique(&objs, c->t[i].obj);
		strvec_sort(&objs);
		pass_init(c, col, &ps[col], 0, &objs);
		if (ps[col].nr_fresh)
			progress("[%s] building %zu touched object(s) (make -k -j%d)",
				 c->col_name[col], ps[col].nr_fresh, c->jobs);
	}
	run_passes(c, ps);
	for (col = 0; col < c->nr_cols; col++)
		if (ps[col].objs.nr)
			judge_cells(c, col, &ps[col]);
}

/* The originals of the objects that need them, swapped in meanwhile. */
static void baseline_pass(struct checker *c, const struct pass *build,
			  struct pass *ps, int compare)
{
	struct strvec objs = STRVEC_INIT;
	double t0 = now_sec();
	size_t col, fresh = 0;
	char *what;

	for (col = 0; col < c->nr_cols; col++) {
		if (compare)
			baseline_objects(c, &build[col], &objs);
		pass_init(c, col, &ps[col], 1, &objs);
		fresh += ps[col].nr_fresh;
	}
	if (fresh)
		shadow_use(&c->shadow, &c->touched, 1);
	run_passes(c, ps);
	if (fresh)
		shadow_use(&c->shadow, &c->touched, 0);
	for (col = 0; col < c->nr_cols; col++) {
		if (!compare || !build[col].objs.nr)
			continue;
		what = xasprintf("for %zu of %zu object(s): those with diagnostics",
				 ps[col].objs.nr, build[col].objs.nr);
		if (ps[col].objs.nr)
			pass_progress(c, col, &ps[col], what, t0);
		else
			progress("[%s] baseline (originals): not needed, no object has a diagnostic",
				 c->col_name[col]);
		free(what);
	}
}

static void check_all(struct checker *c, int compare)
{
	struct pass build[MAX_ARCHES], base[MAX_ARCHES];
	double t0 = now_sec();
	size_t col;

	build_pass(c, build);
	baseline_pass(c, build, base, compare);
	for (col = 0; col < c->nr_cols; col++) {
		if (build[col].objs.nr)
			report_col(c, col, &build[col], &base[col], compare, t0);
		pass_clear(&build[col]);
		pass_clear(&base[col]);
	}
	progress("kbuild-check: builds done in %.1f s", now_sec() - t0);
}

void kbuild_run(struct checker *c)
{
	int compare = 0;
	size_t col, i;
	char *o;

	c->sparse = program_exists("sparse");
	for (col = 0; col < c->nr_cols; col++) {
		c->col_out[col] = xasprintf("%s/%s", c->work, c->col_name[col]);
		c->col_log[col] = xasprintf("%s/%s-build.log", c->logdir,
					    c->col_name[col]);
	}
	prepare_check_arches(c);
	for (col = 0; col < c->nr_cols && !col_active(c, col); col++)
		;
	if (col == c->nr_cols)
		return;
	shadow_init(&c->shadow, c->tree, c->info.orig_dir, c->work);
	shadow_sync(&c->shadow, &c->touched);
	prepare_all(c);
	for (i = 0; i < c->touched.nr && !compare; i++) {
		o = shadow_orig(&c->shadow, c->touched.v[i]);
		compare = o != NULL;
		free(o);
	}
	if (!compare)
		progress("kbuild-check: no originals in .iommu-dma/orig/: warnings are not compared");
	check_all(c, compare);
}

static int compile_one(struct checker *c, const struct target *t,
		       const char *obj, const char *log)
{
	static const char *const flags[] = { "-std=gnu11", "-Wall", "-Wextra",
		"-Werror", "-ffreestanding", "-nostdinc" };
	struct child_process cmd = CHILD_PROCESS_INIT;
	const char *cc = getenv("KCHECK_HOST_CC");
	char *dir = xstrdup(obj);
	size_t i;
	int fd, ret;

	*strrchr(dir, '/') = '\0';	/* <work>/host/<dir of the .c> */
	mkdir_p(dir);
	free(dir);
	unlink(obj);
	strvec_push(&cmd.env, "LC_ALL=C");
	strvec_push(&cmd.args, cc && *cc ? cc : "gcc");
	for (i = 0; i < ARRAY_SIZE(flags); i++)
		strvec_push(&cmd.args, flags[i]);
	strvec_pushf(&cmd.args, "-I%s/include", c->tree);
	strvec_push(&cmd.args, "-c");
	strvec_pushf(&cmd.args, "%s/%s", c->tree, t->src);
	strvec_push(&cmd.args, "-o");
	strvec_push(&cmd.args, obj);
	fd = open_log(log, &cmd);
	if (fd < 0)
		die("cannot write %s", log);
	cmd.out_fd = fd;
	ret = run_command(&cmd);
	dprintf(fd, "exit status %d\n", ret);
	close(fd);
	child_process_clear(&cmd);
	return ret;
}

static void judge(struct checker *c, struct target *t, int ret,
		  const char *log)
{
	const char *const roots[] = { c->tree, NULL };
	struct diag_list dl = { 0 };
	struct cell *cell = &t->cell[0];
	char *text;

	cell->log = log;
	if (!ret) {
		cell_set(cell, CELL_OK, NULL);
		return;
	}
	cell_set(cell, CELL_FAIL, ret == 127 ? "compiler not found" : NULL);
	text = read_file(log, NULL);
	diag_parse(text, roots, &dl);
	diag_error_lines(&dl, t->src, t->file, t->obj, text, &cell->errors);
	diag_clear(&dl);
	free(text);
}

/* Each target compiled in turn, its log <logdir>/host-<file, / as _>.log */
void fixture_run(struct checker *c)
{
	struct target *t;
	double t0;
	char *obj, *log, *p;
	size_t i;
	int ret;

	for (i = 0, t = c->t; i < c->nr; i++, t++) {
		if (t->skip)
			continue;
		obj = xasprintf("%s/host/%s", c->work, t->obj);
		log = xasprintf("%s/host-%s.log", c->logdir, t->file);
		for (p = log + strlen(c->logdir) + 1; *p; p++)
			if (*p == '/')
				*p = '_';
		t0 = now_sec();
		ret = compile_one(c, t, obj, log);
		progress("[host] %s: %s (%.1f s)", t->obj, ret ? "FAILED" : "ok",
			 now_sec() - t0);
		judge(c, t, ret, log);
		free(obj);
	}
}
