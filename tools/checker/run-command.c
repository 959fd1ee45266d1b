// SPDX-License-Identifier: GPL-2.0
/*
 * Child processes for kbuild-check (see run-command.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run-command.h"
#include "util.h"

void child_process_clear(struct child_process *cmd)
{
	strvec_clear(&cmd->args);
	strvec_clear(&cmd->env);
}

static void child_setup_fds(const struct child_process *cmd)
{
	int fd = cmd->out_fd;
	int null_fd;

	null_fd = open("/dev/null", O_RDWR);
	if (null_fd >= 0)
		dup2(null_fd, STDIN_FILENO);
	if (fd < 0 && cmd->silent)
		fd = null_fd;
	if (fd >= 0) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
	}
	if (null_fd > STDERR_FILENO)
		close(null_fd);
}

static _Noreturn void child_exec(const struct child_process *cmd)
{
	size_t i;

	child_setup_fds(cmd);
	for (i = 0; i < cmd->env.nr; i++) {
		if (strchr(cmd->env.v[i], '='))
			putenv(cmd->env.v[i]);
		else
			unsetenv(cmd->env.v[i]);
	}
	execvp(cmd->args.v[0], cmd->args.v);
	progress("kbuild-check: error: cannot run %s: %s",
		 cmd->args.v[0], strerror(errno));
	_exit(127);
}

int start_command(struct child_process *cmd)
{
	if (!cmd->args.nr) {
		warn_msg("%s: empty command", __func__);
		return -1;
	}
	if (verbose) {
		char *line = strvec_join(&cmd->args, " ");

		progress("+ %s", line);
		free(line);
	}
	fflush(stdout);
	fflush(stderr);
	cmd->pid = fork();
	if (cmd->pid < 0) {
		warn_msg("cannot fork: %s", strerror(errno));
		return -1;
	}
	if (!cmd->pid)
		child_exec(cmd);
	return 0;
}

int finish_command(struct child_process *cmd)
{
	int status;
	pid_t r;

	if (cmd->pid <= 0)
		return -1;
	do {
		r = waitpid(cmd->pid, &status, 0);
	} while (r < 0 && errno == EINTR);
	cmd->pid = -1;
	if (r < 0)
		return -1;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

int run_command(struct child_process *cmd)
{
	if (start_command(cmd) < 0)
		return -1;
	return finish_command(cmd);
}

void log_command(int fd, const struct child_process *cmd)
{
	size_t i;

	if (fd < 0)
		return;
	dprintf(fd, "$");
	for (i = 0; i < cmd->env.nr; i++)
		dprintf(fd, " %s", cmd->env.v[i]);
	for (i = 0; i < cmd->args.nr; i++)
		dprintf(fd, " %s", cmd->args.v[i]);
	dprintf(fd, "\n");
}

int open_log(const char *path, const struct child_process *cmd)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	if (fd < 0)
		return -1;
	if (cmd)
		log_command(fd, cmd);
	return fd;
}

static int is_executable(const char *path)
{
	return is_file(path) && !access(path, X_OK);
}

char *program_path(const char *name)
{
	const char *path = getenv("PATH");
	const char *p, *end;
	char *full;

	if (strchr(name, '/'))
		return is_executable(name) ? xstrdup(name) : NULL;
	if (!path)
		path = "/usr/bin:/bin";
	for (p = path; *p; p = *end ? end + 1 : end) {
		end = strchrnul(p, ':');
		full = xasprintf("%.*s/%s", (int)(end - p), p, name);
		if (is_executable(full))
			return full;
		free(full);
	}
	return NULL;
}

int program_exists(const char *name)
{
	char *path = program_path(name);
	int found = path != NULL;

	free(path);
	return found;
}
