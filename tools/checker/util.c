// SPDX-License-Identifier: GPL-2.0
/*
 * Small helpers for kbuild-check.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

int verbose;

static void message(const char *what, const char *fmt, va_list ap)
{
	fflush(stdout);
	fprintf(stderr, "kbuild-check: %s: ", what);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

_Noreturn void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	message("error", fmt, ap);
	exit(EXIT_BAD_INPUT);
}

void warn_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	message("warning", fmt, ap);
	va_end(ap);
}

/* One line per step, on stderr so that --json keeps stdout clean. */
void progress(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	/* a single write keeps lines of concurrent children whole */
	if (write(STDERR_FILENO, buf, n) < 0)
		return;
}

void *xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);

	if (!p)
		die("out of memory");
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		die("out of memory");
	return p;
}

char *xvasprintf(const char *fmt, va_list ap)
{
	char *buf;

	if (vasprintf(&buf, fmt, ap) < 0)
		die("out of memory");
	return buf;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}

char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	size_t n = 0, alloc = 8192;
	char *buf;
	int err;

	if (!f)
		return NULL;
	buf = xmalloc(alloc);
	/* a full buffer may have more to come */
	while ((n += fread(buf + n, 1, alloc - n - 1, f)) == alloc - 1)
		buf = xrealloc(buf, alloc *= 2);
	err = ferror(f);
	fclose(f);
	if (err) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

/*
 * Write a new file: unlink first so that a hard link (cp -al shadow trees)
 * is replaced, never written through.
 */
int write_file(const char *path, const char *buf, size_t len)
{
	FILE *f;
	int ret;

	if (unlink(path) < 0 && errno != ENOENT)
		return -1;
	f = fopen(path, "wx");
	if (!f)
		return -1;
	ret = fwrite(buf, 1, len, f) == len ? 0 : -1;
	if (fclose(f))
		ret = -1;
	return ret;
}

int write_file_atomic(const char *path, const char *buf, size_t len)
{
	char *tmp = xasprintf("%s.tmp%ld", path, (long)getpid());
	int ret = write_file(tmp, buf, len);

	if (!ret && rename(tmp, path) < 0)
		ret = -1;
	if (ret)
		unlink(tmp);
	free(tmp);
	return ret;
}

int copy_file(const char *src, const char *dst)
{
	size_t len;
	char *buf;
	int ret;

	buf = read_file(src, &len);
	if (!buf)
		return -1;
	ret = write_file(dst, buf, len);
	free(buf);
	return ret;
}

/* Each parent in turn; whether @path ends up a directory says it all. */
int mkdir_p(const char *path)
{
	char *s = xstrdup(path), *p = s;

	while ((p = strchr(p + 1, '/'))) {
		*p = '\0';
		mkdir(s, 0755);
		*p = '/';
	}
	mkdir(s, 0755);
	free(s);
	return is_dir(path) ? 0 : -1;
}

int is_file(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISREG(st.st_mode);
}

int is_dir(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

int starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

unsigned long long fnv1a(unsigned long long h, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	while (len--) {
		h ^= *p++;
		h *= 0x100000001b3ULL;
	}
	return h;
}
