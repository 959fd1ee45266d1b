/* SPDX-License-Identifier: GPL-2.0 */
/*
 * NULL-terminated vectors of strings, as in git's strvec: the vector owns
 * copies of what is pushed.
 */
#ifndef KCHECK_STRVEC_H
#define KCHECK_STRVEC_H

#include <stddef.h>

struct strvec {
	char **v;	/* v[nr] is NULL once something was pushed */
	size_t nr;
	size_t alloc;
};

#define STRVEC_INIT { NULL, 0, 0 }

void strvec_push(struct strvec *sv, const char *s);
void strvec_pushf(struct strvec *sv, const char *fmt, ...);
void strvec_push_unique(struct strvec *sv, const char *s);
int strvec_find(const struct strvec *sv, const char *s);
void strvec_sort(struct strvec *sv);
/* Is @s in @sv, sorted by strvec_sort()? */
int strvec_sorted_has(const struct strvec *sv, const char *s);
/* Push each line of @text (a last '\n' ends a line, it starts none). */
void strvec_split(struct strvec *sv, const char *text);
/* The strings with @sep between them, malloc'd. */
char *strvec_join(const struct strvec *sv, const char *sep);
void strvec_clear(struct strvec *sv);

#endif
