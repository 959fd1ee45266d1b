// SPDX-License-Identifier: GPL-2.0
/*
 * Kbuild mode: one output directory per (tree, arch), prepared once and
 * reused; one "make -k" per arch for the touched objects.
 *
 * Baseline for warnings: kbuild ties an output directory to one source
 * tree (absolute paths in every .cmd file), so a second, pristine tree
 * would need a second prepared directory per arch and double the cold
 * time.  Instead every build runs on a hard-linked shadow copy of the tree
 * (cp -al, under the output root): for the baseline its touched files are
 * swapped (unlink + link) to the originals in .iommu-dma/orig/, the same
 * objects are built in the same output directory, then the rewritten files
 * are linked back.  The tree itself is never written.  Baseline
 * diagnostics are cached by a hash of the originals and the .config.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "run-command.h"

#define PREPARE_FAILED 1

static int cell_active(const struct checker *c, const struct target *t,
		       size_t col)
{
	return !t->skip && (t->arches & (1U << col)) && !c->col_skip[col] &&
	       t->cell[col].status != CELL_FAIL;
}

static int col_active(const struct checker *c, size_t col)
{
	size_t i;

	for (i = 0; i < c->nr; i++)
		if (cell_active(c, &c->t[i], col))
			return 1;
	return 0;
}

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

/* A defconfig is a file in arch/$(SRCARCH)/configs/ or a make target. */
static int have_defconfig(const struct checker *c, const struct arch_desc *a)
{
	char *p, *text, *target;
	int found;

	p = xasprintf("%s/arch/%s/configs/%s", c->tree, a->srcarch, a->defconfig);
	found = is_file(p);
	free(p);
	p = xasprintf("%s/arch/%s/configs/%s_%s", c->tree, a->srcarch,
		      a->make_arch, a->defconfig);
	found = found || is_file(p);
	free(p);
	if (found)
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

static int run_argv(const char *const *argv, int silent)
{
	struct child_process cmd = CHILD_PROCESS_INIT;
	int ret;

	for (; *argv; argv++)
		strvec_push(&cmd.args, *argv);
	cmd.silent = silent;
	ret = run_command(&cmd);
	child_process_clear(&cmd);
	return ret;
}

static char *inode_stamp(const char *tree)
{
	struct stat a, b;
	char *mk = xasprintf("%s/Makefile", tree);
	int r = stat(tree, &a) | stat(mk, &b);

	free(mk);
	if (r)
		return xstrdup("none\n");
	return xasprintf("%lu:%lu %lu:%lu %ld\n", (unsigned long)a.st_dev,
			 (unsigned long)a.st_ino, (unsigned long)b.st_dev,
			 (unsigned long)b.st_ino, (long)b.st_mtime);
}

static void make_shadow(struct checker *c)
{
	const char *const rm[] = { "rm", "-rf", c->shadow, NULL };
	const char *const cpl[] = { "cp", "-al", c->tree, c->shadow, NULL };
	const char *const cpa[] = { "cp", "-a", c->tree, c->shadow, NULL };
	double t0 = now_sec();

	run_argv(rm, 0);
	if (run_argv(cpl, 1)) {
		progress("[tree] hard links failed (another filesystem?): copying the tree");
		run_argv(rm, 0);
		if (run_argv(cpa, 0))
			die("cannot copy %s to %s", c->tree, c->shadow);
	}
	progress("[tree] shadow copy %s (%.1f s)", c->shadow, now_sec() - t0);
}

static int same_inode(const char *a, const char *b)
{
	struct stat sa, sb;

	return !stat(a, &sa) && !stat(b, &sb) && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

/* Point the shadow's copy of @rel at @from: unlink, then link or copy. */
static void shadow_link(struct checker *c, const char *rel, const char *from)
{
	char *to = xasprintf("%s/%s", c->shadow, rel);
	char *dir = xstrdup(to);

	if (same_inode(from, to))
		goto out;
	*strrchr(dir, '/') = '\0';
	mkdir_p(dir);
	if (unlink(to) < 0 && errno != ENOENT)
		die("cannot remove %s: %s", to, strerror(errno));
	if (link(from, to) < 0 && copy_file(from, to) < 0)
		die("cannot copy %s to %s", from, to);
out:
	free(dir);
	free(to);
}

static char *orig_path(const struct checker *c, const char *rel)
{
	char *p;

	if (!c->orig_dir)
		return NULL;
	p = xasprintf("%s/%s", c->orig_dir, rel);
	if (is_file(p))
		return p;
	free(p);
	return NULL;
}

/* Swap the touched files of the shadow to the originals or back. */
static void shadow_use(struct checker *c, int orig)
{
	char *from, *o;
	size_t i;

	for (i = 0; i < c->touched.nr; i++) {
		o = orig ? orig_path(c, c->touched.v[i]) : NULL;
		from = o ? o : tree_path(c, c->touched.v[i]);
		shadow_link(c, c->touched.v[i], from);
		free(from);
	}
}

static void shadow_sync(struct checker *c)
{
	char *stamp_path = xasprintf("%s/src.stamp", c->work);
	char *want = inode_stamp(c->tree);
	char *have = read_file(stamp_path, NULL);

	c->shadow = xasprintf("%s/src", c->work);
	if (!have || strcmp(have, want) || !is_dir(c->shadow)) {
		make_shadow(c);
		if (write_file(stamp_path, want, strlen(want)) < 0)
			die("cannot write %s", stamp_path);
	}
	shadow_use(c, 0);
	free(have);
	free(want);
	free(stamp_path);
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
	strvec_pushf(&cmd->args, "-C%s", c->shadow);
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

static char *stamp_text(const struct checker *c, size_t col)
{
	const struct arch_desc *a = &c->table.arch[col];

	return xasprintf("ARCH=%s CROSS_COMPILE=%s %s\n", a->make_arch,
			 cross_prefix(c, col), a->defconfig);
}

static int config_enabled(const char *config, const char *sym)
{
	char *y = xasprintf("\nCONFIG_%s=y\n", sym);
	char *m = xasprintf("\nCONFIG_%s=m\n", sym);
	int ret = config && (strstr(config, y) || strstr(config, m));

	free(y);
	free(m);
	return ret;
}

/* "FOO" must be =y/=m, "!FOO" must not be. */
static int sym_ok(const char *config, const char *sym)
{
	if (*sym == '!')
		return !config_enabled(config, sym + 1);
	return config_enabled(config, sym);
}

static char *read_config(const struct checker *c, size_t col)
{
	char *path = xasprintf("%s/.config", c->col_out[col]);
	char *text = read_file(path, NULL);
	char *nl;

	free(path);
	if (!text)
		return NULL;
	nl = xasprintf("\n%s", text);	/* so that the first line matches */
	free(text);
	return nl;
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

static int step(const struct checker *c, size_t col, int fd,
		struct child_process *cmd, const char *what)
{
	double t0 = now_sec();
	int ret;

	log_command(fd, cmd);
	cmd->out_fd = fd;
	ret = run_command(cmd);
	progress("[%s] %s: %s (%.1f s)", c->col_name[col], what,
		 ret ? "FAILED" : "ok", now_sec() - t0);
	child_process_clear(cmd);
	return ret;
}

static int prepare_steps(const struct checker *c, size_t col,
			 const struct strvec *syms, int scratch, int fd)
{
	struct child_process cmd = CHILD_PROCESS_INIT;
	size_t i;

	if (scratch) {
		make_cmd(c, col, &cmd);
		strvec_push(&cmd.args, c->table.arch[col].defconfig);
		if (step(c, col, fd, &cmd, c->table.arch[col].defconfig))
			return PREPARE_FAILED;
	}
	strvec_pushf(&cmd.args, "%s/scripts/config", c->shadow);
	strvec_push(&cmd.args, "--file");
	strvec_pushf(&cmd.args, "%s/.config", c->col_out[col]);
	for (i = 0; i < syms->nr; i++) {
		strvec_push(&cmd.args, *syms->v[i] == '!' ? "--disable" : "--enable");
		strvec_push(&cmd.args, syms->v[i] + (*syms->v[i] == '!'));
	}
	if (step(c, col, fd, &cmd, "scripts/config"))
		return PREPARE_FAILED;
	make_cmd(c, col, &cmd);
	strvec_push(&cmd.args, "olddefconfig");
	if (step(c, col, fd, &cmd, "olddefconfig"))
		return PREPARE_FAILED;
	make_cmd(c, col, &cmd);
	strvec_push(&cmd.args, "prepare");
	if (step(c, col, fd, &cmd, "prepare"))
		return PREPARE_FAILED;
	return 0;
}

/* Runs in a child process, one per arch, so that arches prepare at once. */
static int prepare_arch(const struct checker *c, size_t col,
			const struct strvec *syms, int scratch,
			const char *log)
{
	char *stamp_path = xasprintf("%s/kcheck.stamp", c->col_out[col]);
	char *stamp = stamp_text(c, col);
	int fd, ret;

	if (mkdir_p(c->col_out[col]) < 0)
		return PREPARE_FAILED;
	fd = open_log(log, NULL);
	if (fd < 0)
		return PREPARE_FAILED;
	unlink(stamp_path);
	ret = prepare_steps(c, col, syms, scratch, fd);
	if (!ret && write_file(stamp_path, stamp, strlen(stamp)) < 0)
		ret = PREPARE_FAILED;
	close(fd);
	return ret;
}

/* 0: reuse as is, 1: enable symbols, 2: from the defconfig. */
static int prepare_mode(const struct checker *c, size_t col,
			const struct strvec *syms)
{
	char *stamp_path = xasprintf("%s/kcheck.stamp", c->col_out[col]);
	char *have = read_file(stamp_path, NULL);
	char *want = stamp_text(c, col);
	char *config = NULL;
	int mode = 2;
	size_t i;

	if (!have || strcmp(have, want))
		goto out;
	config = read_config(c, col);
	mode = 0;
	for (i = 0; i < syms->nr; i++)
		if (!sym_ok(config, syms->v[i]))
			mode = 1;
out:
	free(config);
	free(want);
	free(have);
	free(stamp_path);
	return mode;
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
	char *config = read_config(c, col);
	size_t i;

	for (i = 0; i < syms->nr; i++)
		if (!sym_ok(config, syms->v[i]))
			progress("[%s] CONFIG_%s is %s after olddefconfig",
				 c->col_name[col], syms->v[i] + (*syms->v[i] == '!'),
				 *syms->v[i] == '!' ? "still set" : "not enabled");
	for (i = 0; i < c->nr; i++)
		if (cell_active(c, &c->t[i], col))
			verify_target(c, col, &c->t[i], config);
	free(config);
}

static pid_t start_prepare(struct checker *c, size_t col,
			   const struct strvec *syms, int mode,
			   const char *log)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		die("cannot fork: %s", strerror(errno));
	if (!pid)
		_exit(prepare_arch(c, col, syms, mode == 2, log));
	return pid;
}

static void prepare_all(struct checker *c)
{
	struct strvec syms[MAX_ARCHES];
	pid_t pid[MAX_ARCHES] = { 0 };
	char *log[MAX_ARCHES] = { NULL };
	int mode, status;
	size_t col;

	for (col = 0; col < c->nr_cols; col++) {
		memset(&syms[col], 0, sizeof(syms[col]));
		if (!col_active(c, col))
			continue;
		needed_syms(c, col, &syms[col]);
		mode = prepare_mode(c, col, &syms[col]);
		if (!mode) {
			progress("[%s] output dir %s: reused", c->col_name[col],
				 c->col_out[col]);
			continue;
		}
		log[col] = xasprintf("%s/%s-prepare.log", c->logdir,
				     c->col_name[col]);
		progress("[%s] preparing %s (%s)", c->col_name[col],
			 c->col_out[col], mode == 2 ? "from defconfig" :
			 "enabling symbols");
		pid[col] = start_prepare(c, col, &syms[col], mode, log[col]);
	}
	for (col = 0; col < c->nr_cols; col++) {
		if (pid[col] > 0 && (waitpid(pid[col], &status, 0) < 0 ||
				     !WIFEXITED(status) || WEXITSTATUS(status)))
			prepare_failed(c, col, log[col]);
		if (col_active(c, col))
			verify_config(c, col, &syms[col]);
		strvec_clear(&syms[col]);
		free(log[col]);
	}
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

/* Delete the objects first: a failed compile would leave the old one. */
static int start_build(struct checker *c, size_t col, const char *log,
		       struct child_process *cmd)
{
	struct strvec objs = STRVEC_INIT;
	char *p;
	size_t i;
	int fd;

	col_objects(c, col, &objs);
	make_cmd(c, col, cmd);
	strvec_push(&cmd->args, "-k");
	for (i = 0; i < objs.nr; i++) {
		p = xasprintf("%s/%s", c->col_out[col], objs.v[i]);
		unlink(p);
		free(p);
		strvec_push(&cmd->args, objs.v[i]);
	}
	strvec_clear(&objs);
	fd = open_log(log, cmd);
	if (fd < 0)
		die("cannot write %s", log);
	cmd->out_fd = fd;
	if (start_command(cmd) < 0)
		die("cannot run make");
	close(fd);
	return 0;
}

static char *baseline_key(const struct checker *c, size_t col)
{
	struct strvec objs = STRVEC_INIT;
	unsigned long long h = FNV1A_INIT;
	char *s, *o;
	size_t i, len;

	s = stamp_text(c, col);
	h = fnv1a(h, s, strlen(s));
	free(s);
	h = fnv1a(h, c->sparse ? "C=1" : "C=0", 3);
	s = read_config(c, col);
	if (s)
		h = fnv1a(h, s, strlen(s));
	free(s);
	col_objects(c, col, &objs);
	for (i = 0; i < objs.nr; i++)
		h = fnv1a(h, objs.v[i], strlen(objs.v[i]) + 1);
	strvec_clear(&objs);
	for (i = 0; i < c->touched.nr; i++) {
		o = orig_path(c, c->touched.v[i]);
		s = o ? read_file(o, &len) : NULL;
		h = fnv1a(h, c->touched.v[i], strlen(c->touched.v[i]) + 1);
		if (s)
			h = fnv1a(h, s, len);
		free(s);
		free(o);
	}
	return xasprintf("%s/%s-baseline-%016llx.diag", c->logdir,
			 c->col_name[col], h);
}

static int have_orig(const struct checker *c)
{
	size_t i;
	char *o;

	for (i = 0; i < c->touched.nr; i++) {
		o = orig_path(c, c->touched.v[i]);
		free(o);
		if (o)
			return 1;
	}
	return 0;
}

static void load_baseline(const char *cache, struct diag_list *base)
{
	char *text = read_file(cache, NULL);

	diag_from_keys(text, base);
	free(text);
}

static void save_baseline(struct checker *c, const char *log,
			  const char *cache, struct diag_list *base)
{
	const char *const roots[] = { c->shadow, c->tree, NULL };
	char *text;

	diag_parse_file(log, roots, base);
	text = diag_keys_text(base);
	if (write_file(cache, text, strlen(text)) < 0)
		warn_msg("cannot write %s", cache);
	free(text);
}

/* Build the objects from the originals, or take their diagnostics cached. */
static void baseline_all(struct checker *c, struct diag_list *base)
{
	struct child_process cmd[MAX_ARCHES];
	char *cache[MAX_ARCHES] = { NULL }, *log[MAX_ARCHES] = { NULL };
	double t0 = now_sec();
	size_t col;
	int ret, any = 0;

	for (col = 0; col < c->nr_cols; col++) {
		child_process_init(&cmd[col]);
		if (!col_active(c, col))
			continue;
		cache[col] = baseline_key(c, col);
		if (is_file(cache[col])) {
			load_baseline(cache[col], &base[col]);
			progress("[%s] baseline (originals): cached, %zu diagnostic(s)",
				 c->col_name[col], base[col].nr);
			continue;
		}
		if (!any++)
			shadow_use(c, 1);
		log[col] = xasprintf("%s/%s-baseline.log", c->logdir,
				     c->col_name[col]);
		start_build(c, col, log[col], &cmd[col]);
	}
	for (col = 0; col < c->nr_cols; col++) {
		if (!log[col])
			continue;
		ret = finish_command(&cmd[col]);
		save_baseline(c, log[col], cache[col], &base[col]);
		progress("[%s] baseline (originals): make exit %d, %zu diagnostic(s) (%.1f s)",
			 c->col_name[col], ret, base[col].nr, now_sec() - t0);
		child_process_clear(&cmd[col]);
	}
	if (any)
		shadow_use(c, 0);
	for (col = 0; col < c->nr_cols; col++) {
		free(cache[col]);
		free(log[col]);
	}
}

static int obj_built(const struct checker *c, size_t col, const char *obj)
{
	char *p = xasprintf("%s/%s", c->col_out[col], obj);
	int ret = is_file(p);

	free(p);
	return ret;
}

/*
 * An object is judged by its own presence (it was deleted before make);
 * a make that failed with every object built fails them all.
 */
static void judge_cell(struct checker *c, size_t col, struct target *t,
		       int ret, int all_built, const struct diag_list *now,
		       const char *text)
{
	struct cell *cell = &t->cell[col];
	char *why;

	cell->log = c->col_log[col];
	if (!obj_built(c, col, t->obj)) {
		cell_set(cell, CELL_FAIL, NULL);
		diag_error_lines(now, t, text, &cell->errors);
		return;
	}
	if (ret && all_built) {
		why = xasprintf("make exited with status %d", ret);
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

static int all_built(const struct checker *c, size_t col)
{
	size_t i;

	for (i = 0; i < c->nr; i++)
		if (cell_active(c, &c->t[i], col) &&
		    !obj_built(c, col, c->t[i].obj))
			return 0;
	return 1;
}

static void finish_build(struct checker *c, size_t col,
			 struct child_process *cmd,
			 const struct diag_list *base, int compare)
{
	const char *const roots[] = { c->shadow, c->tree, NULL };
	struct diag_list now = { 0 }, fresh = { 0 };
	size_t i, ok = 0, n = 0;
	int ret, built;
	char *text;

	ret = finish_command(cmd);
	built = all_built(c, col);
	child_process_clear(cmd);
	text = read_file(c->col_log[col], NULL);
	if (text)
		diag_parse(text, roots, &now);
	for (i = 0; i < c->nr; i++) {
		if (!cell_active(c, &c->t[i], col))
			continue;
		judge_cell(c, col, &c->t[i], ret, built, &now, text);
		n++;
		ok += c->t[i].cell[col].status == CELL_OK;
	}
	if (compare)
		diag_new_keys(base, &now, &fresh);
	add_new_warnings(c, col, &fresh);
	progress("[%s] build: make exit %d, %zu/%zu ok, %zu new warning(s), log %s",
		 c->col_name[col], ret, ok, n, fresh.nr, c->col_log[col]);
	diag_clear(&now);
	diag_clear(&fresh);
	free(text);
}

static void build_all(struct checker *c, const struct diag_list *base,
		      int compare)
{
	struct child_process cmd[MAX_ARCHES];
	int started[MAX_ARCHES] = { 0 };
	double t0 = now_sec();
	size_t col, n = 0;

	for (col = 0; col < c->nr_cols; col++) {
		child_process_init(&cmd[col]);
		if (!col_active(c, col))
			continue;
		progress("[%s] building the touched objects (make -k -j%d)",
			 c->col_name[col], c->jobs);
		start_build(c, col, c->col_log[col], &cmd[col]);
		started[col] = 1;
		n++;
	}
	if (!n)
		return;
	for (col = 0; col < c->nr_cols; col++)
		if (started[col])
			finish_build(c, col, &cmd[col], &base[col], compare);
	progress("kbuild-check: builds done in %.1f s", now_sec() - t0);
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
	for (col = 0; col < c->nr_cols && !col_active(c, col); col++)
		;
	if (col == c->nr_cols)
		return;
	shadow_sync(c);
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
