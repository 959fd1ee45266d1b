// SPDX-License-Identifier: GPL-2.0
/*
 * ktest: the runner (see ktest.h).
 */
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ktest.h"

void ktest_fail(struct ktest *test, const char *file, int line,
		const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	printf("    # %s: %s:%d: ", test->name, file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	test->failed++;
}

void ktest_abort(struct ktest *test)
{
	longjmp(test->abort, 1);
}

int ktest_streq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return !strcmp(a, b);
}

int ktest_contains(const char *haystack, const char *needle)
{
	return haystack && needle && strstr(haystack, needle);
}

const char *ktest_tmpdir(struct ktest *test)
{
	const char *base = getenv("TMPDIR");
	char *dir;

	if (test->tmpdir)
		return test->tmpdir;
	if (!base || !*base)
		base = "/tmp";
	dir = malloc(strlen(base) + 32);
	if (!dir)
		abort();
	sprintf(dir, "%s/ktest-XXXXXX", base);
	if (!mkdtemp(dir)) {
		KTEST_FAIL(test, "cannot make a directory in %s", base);
		free(dir);
		ktest_abort(test);
	}
	test->tmpdir = dir;
	return dir;
}

static void make_parents(char *path)
{
	char *p;

	for (p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
}

char *ktest_write(struct ktest *test, const char *rel, const char *text)
{
	const char *dir = ktest_tmpdir(test);
	char *path = malloc(strlen(dir) + strlen(rel) + 2);
	FILE *f;

	if (!path)
		abort();
	sprintf(path, "%s/%s", dir, rel);
	make_parents(path);
	unlink(path);
	f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f)) {
		KTEST_FAIL(test, "cannot write %s", path);
		ktest_abort(test);
	}
	return path;
}

static char *read_fd(int fd)
{
	size_t len = 0, alloc = 4096;
	char *buf = malloc(alloc);
	ssize_t n;

	if (!buf)
		abort();
	lseek(fd, 0, SEEK_SET);
	while ((n = read(fd, buf + len, alloc - len - 1)) > 0) {
		len += n;
		if (len + 1 == alloc) {
			alloc *= 2;
			buf = realloc(buf, alloc);
			if (!buf)
				abort();
		}
	}
	buf[len] = '\0';
	return buf;
}

static int temp_fd(void)
{
	char path[] = "/tmp/ktest-out-XXXXXX";
	int fd = mkstemp(path);

	if (fd < 0)
		abort();
	unlink(path);
	return fd;
}

char *ktest_stdout(void (*fn)(void *data), void *data)
{
	int fd = temp_fd();
	int saved;
	char *out;

	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	dup2(fd, STDOUT_FILENO);
	fn(data);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	out = read_fd(fd);
	close(fd);
	return out;
}

int ktest_exit_status(void (*fn)(void *data), void *data, char **err)
{
	int fd = temp_fd();
	int status;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		abort();
	if (!pid) {
		dup2(fd, STDERR_FILENO);
		dup2(fd, STDOUT_FILENO);
		fn(data);
		fflush(stdout);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	*err = read_fd(fd);
	close(fd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int remove_one(const char *path, const struct stat *st, int flag,
		      struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int run_in_child(struct ktest_case *kc)
{
	struct ktest test = { .name = kc->name };

	if (!setjmp(test.abort))
		kc->run(&test);
	if (test.tmpdir) {
		nftw(test.tmpdir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
		free(test.tmpdir);
	}
	fflush(stdout);
	return test.failed ? 1 : 0;
}

/* Each case in its own process: a crash fails that case only. */
static void run_case(struct ktest_case *kc, int n)
{
	int status;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		abort();
	if (!pid)
		_exit(run_in_child(kc));
	if (waitpid(pid, &status, 0) < 0)
		status = -1;
	kc->failed = !WIFEXITED(status) || WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		printf("    # %s: crashed (signal %d)\n", kc->name,
		       WTERMSIG(status));
	printf("    %s %d %s\n", kc->failed ? "not ok" : "ok", n, kc->name);
	fflush(stdout);
}

int ktest_run_suite(struct ktest_suite *suite)
{
	struct ktest_case *kc;
	int n = 0, failed = 0;

	for (kc = suite->cases; kc->name; kc++)
		n++;
	printf("KTAP version 1\n1..1\n    KTAP version 1\n");
	printf("    # Subtest: %s\n    1..%d\n", suite->name, n);
	n = 0;
	for (kc = suite->cases; kc->name; kc++) {
		run_case(kc, ++n);
		failed += kc->failed;
	}
	printf("# %s: pass:%d fail:%d\n", suite->name, n - failed, failed);
	printf("%s 1 %s\n", failed ? "not ok" : "ok", suite->name);
	return failed;
}
