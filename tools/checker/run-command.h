/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Child processes, in the spirit of git's run-command API: fill in a
 * struct child_process, start_command(), then finish_command() to reap it
 * and get its exit status.
 */
#ifndef KCHECK_RUN_COMMAND_H
#define KCHECK_RUN_COMMAND_H

#include <sys/types.h>

#include "strvec.h"

struct child_process {
	struct strvec args;	/* argv[0] is looked up in PATH */
	struct strvec env;	/* "NAME=value" to set, "NAME" to unset */
	int out_fd;		/* stdout and stderr go here when >= 0 */
	int silent;		/* no log fd: send output to /dev/null */
	pid_t pid;
};

#define CHILD_PROCESS_INIT { STRVEC_INIT, STRVEC_INIT, -1, 0, -1 }

void child_process_clear(struct child_process *cmd);

/* Returns 0 when the child runs, -1 (with a message) when it could not. */
int start_command(struct child_process *cmd);

/*
 * Waits for the child.  Returns its exit code, 128 + signal number when it
 * was killed, 127 when it could not be executed, -1 on a wait error.
 */
int finish_command(struct child_process *cmd);

int run_command(struct child_process *cmd);

/* Open (truncate) a log file for a child's output, with a header line. */
int open_log(const char *path, const struct child_process *cmd);

/* Append the command line to a log fd, e.g. before each step. */
void log_command(int fd, const struct child_process *cmd);

/* Is this program in PATH (or an existing path when it has a slash)? */
int program_exists(const char *name);

/* Where the program is (as program_exists() finds it), or NULL. */
char *program_path(const char *name);

#endif
