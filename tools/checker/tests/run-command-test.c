// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of run-command.c.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "ktest.h"
#include "run-command.h"
#include "util.h"

static int sh(const char *script, int out_fd, const char *env)
{
	struct child_process cmd = CHILD_PROCESS_INIT;
	int ret;

	strvec_push(&cmd.args, "sh");
	strvec_push(&cmd.args, "-c");
	strvec_push(&cmd.args, script);
	if (env)
		strvec_push(&cmd.env, env);
	cmd.out_fd = out_fd;
	cmd.silent = out_fd < 0;
	ret = run_command(&cmd);
	child_process_clear(&cmd);
	return ret;
}

static void exit_codes(struct ktest *test)
{
	KTEST_EXPECT_EQ(test, sh("exit 0", -1, NULL), 0);
	KTEST_EXPECT_EQ(test, sh("exit 3", -1, NULL), 3);
	KTEST_EXPECT_EQ(test, sh("kill -9 $$", -1, NULL), 128 + 9);
}

static void missing_program_is_127(struct ktest *test)
{
	struct child_process cmd = CHILD_PROCESS_INIT;
	int fd = open("/dev/null", O_WRONLY);

	strvec_push(&cmd.args, "kcheck-no-such-program");
	cmd.out_fd = fd;
	KTEST_EXPECT_EQ(test, run_command(&cmd), 127);
	child_process_clear(&cmd);
	close(fd);
	KTEST_EXPECT_EQ(test, start_command(&cmd), -1);
}

static void output_and_env(struct ktest *test)
{
	char *log = xasprintf("%s/log", ktest_tmpdir(test));
	struct child_process cmd = CHILD_PROCESS_INIT;
	char *text;
	int fd;

	strvec_push(&cmd.args, "sh");
	strvec_push(&cmd.args, "-c");
	strvec_push(&cmd.args, "echo \"$KCHECK_X\" ${HOME-unset}; echo err >&2");
	strvec_push(&cmd.env, "KCHECK_X=hello");
	strvec_push(&cmd.env, "HOME");
	fd = open_log(log, &cmd);
	KTEST_ASSERT_TRUE(test, fd >= 0);
	cmd.out_fd = fd;
	KTEST_EXPECT_EQ(test, start_command(&cmd), 0);
	KTEST_EXPECT_TRUE(test, cmd.pid > 0);
	KTEST_EXPECT_EQ(test, finish_command(&cmd), 0);
	KTEST_EXPECT_EQ(test, cmd.pid, -1);
	close(fd);
	text = read_file(log, NULL);
	KTEST_EXPECT_STREQ(test, text,
			   "$ KCHECK_X=hello HOME sh -c echo \"$KCHECK_X\" ${HOME-unset}; echo err >&2\nhello unset\nerr\n");
	free(text);
	free(log);
	child_process_clear(&cmd);
}

static void finds_programs(struct ktest *test)
{
	char *p = program_path("sh");

	KTEST_EXPECT_TRUE(test, program_exists("sh"));
	KTEST_EXPECT_NOT_NULL(test, p);
	KTEST_EXPECT_TRUE(test, p && ends_with(p, "/sh"));
	KTEST_EXPECT_FALSE(test, program_exists("kcheck-no-such-program"));
	KTEST_EXPECT_FALSE(test, program_exists("/nonexistent/gcc"));
	KTEST_EXPECT_TRUE(test, program_exists("/bin/sh"));
	free(p);
}

static struct ktest_case run_command_cases[] = {
	KTEST_CASE(exit_codes),
	KTEST_CASE(missing_program_is_127),
	KTEST_CASE(output_and_env),
	KTEST_CASE(finds_programs),
	{}
};

KTEST_SUITE(run_command, run_command_cases);
