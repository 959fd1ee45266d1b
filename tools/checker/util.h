/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Small helpers for kbuild-check: error reporting, allocation, files,
 * and hashing.  libc only.
 */
#ifndef KCHECK_UTIL_H
#define KCHECK_UTIL_H

#include <stdarg.h>
#include <stddef.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Exit codes: 0 all good, 1 the check failed, 2 bad input or usage. */
#define EXIT_CHECK_FAILED 1
#define EXIT_BAD_INPUT 2

extern int verbose;

_Noreturn void die(const char *fmt, ...);
void warn_msg(const char *fmt, ...);
void progress(const char *fmt, ...);

#define xmalloc(size) xrealloc(NULL, (size))
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...);
char *xvasprintf(const char *fmt, va_list ap);

char *read_file(const char *path, size_t *len);
int write_file(const char *path, const char *buf, size_t len);
/* The same, through a temporary file: readers see all of it or none. */
int write_file_atomic(const char *path, const char *buf, size_t len);
int copy_file(const char *src, const char *dst);
int mkdir_p(const char *path);
int is_file(const char *path);
int is_dir(const char *path);
int starts_with(const char *s, const char *prefix);
int ends_with(const char *s, const char *suffix);
double now_sec(void);

unsigned long long fnv1a(unsigned long long h, const void *buf, size_t len);
#define FNV1A_INIT 0xcbf29ce484222325ULL

#endif
