// SPDX-License-Identifier: GPL-2.0
/*
 * Fixture mode: a tiny kernel-like tree (linux-fixtures) has no kbuild, so
 * each touched .c (or the .c that checks a touched header) is compiled with
 * the host compiler against the tree's own headers.  -Werror makes any
 * warning fail, so there is no baseline to compare with.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "fixture.h"
#include "run-command.h"
#include "util.h"

static const char *host_cc(void)
{
	const char *cc = getenv("KCHECK_HOST_CC");

	return cc && *cc ? cc : "gcc";
}

static int compile_one(struct checker *c, const struct target *t,
		       const char *obj, const char *log)
{
	static const char *const flags[] = { "-std=gnu11", "-Wall", "-Wextra",
		"-Werror", "-ffreestanding", "-nostdinc" };
	struct child_process cmd = CHILD_PROCESS_INIT;
	char *dir = xstrdup(obj);
	size_t i;
	int fd, ret;

	*strrchr(dir, '/') = '\0';	/* <work>/host/<dir of the .c> */
	mkdir_p(dir);
	free(dir);
	unlink(obj);
	strvec_push(&cmd.env, "LC_ALL=C");
	strvec_push(&cmd.args, host_cc());
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
	if (text)
		diag_parse(text, roots, &dl);
	diag_error_lines(&dl, t->src, t->file, t->obj, text, &cell->errors);
	diag_clear(&dl);
	free(text);
}

/* <logdir>/host-<file with / as _>.log */
static char *log_name(const struct checker *c, const struct target *t)
{
	char *log = xasprintf("%s/host-%s.log", c->logdir, t->file);
	char *p;

	for (p = log + strlen(c->logdir) + 1; *p; p++)
		if (*p == '/')
			*p = '_';
	return log;
}

static void check_one(struct checker *c, struct target *t)
{
	char *obj = xasprintf("%s/host/%s", c->work, t->obj);
	char *log = log_name(c, t);
	double t0 = now_sec();
	int ret;

	ret = compile_one(c, t, obj, log);
	progress("[host] %s: %s (%.1f s)", t->obj, ret ? "FAILED" : "ok",
		 now_sec() - t0);
	judge(c, t, ret, log);
	free(obj);
}

void fixture_run(struct checker *c)
{
	size_t i;

	if (!c->warnings)
		progress("kbuild-check: fixture mode compiles with -Werror: --no-warnings has no effect");
	for (i = 0; i < c->nr; i++)
		if (!c->t[i].skip)
			check_one(c, &c->t[i]);
}
