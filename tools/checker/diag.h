/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Compiler diagnostics in build logs: "path:line[:col]: warning: msg" from
 * gcc and sparse.  Paths are made relative to the tree so that logs of a
 * shadow copy and of the tree compare equal; keys drop the line numbers so
 * that a rewrite moving code does not make old warnings look new.
 */
#ifndef KCHECK_DIAG_H
#define KCHECK_DIAG_H

#include <stddef.h>

#include "strvec.h"

struct diag {
	char *path;	/* relative to the tree when inside it */
	char *text;	/* the line, with the path made relative */
	char *key;	/* path: kind: message (no line numbers) */
	int is_error;
};

struct diag_list {
	struct diag *d;
	size_t nr;
	size_t alloc;
};

#define DIAG_LIST_INIT { NULL, 0, 0 }

/* Adds the diagnostics of @text; @roots: NULL-terminated tree paths. */
void diag_parse(const char *text, const char *const *roots,
		struct diag_list *out);
void diag_clear(struct diag_list *l);

/* The diagnostics of @now beyond those of @base (counting duplicates). */
void diag_new_keys(const struct diag_list *base, const struct diag_list *now,
		   struct diag_list *out);

/*
 * The first error lines for a failed object @obj compiled from @src for
 * the touched file @file: errors in @src or @file, else any compiler
 * error, else make's "*** [...] Error" line for @obj in @log_text.
 */
void diag_error_lines(const struct diag_list *l, const char *src,
		      const char *file, const char *obj, const char *log_text,
		      struct strvec *out);

/*
 * The output of "make -Otarget ... OBJ...", split into each object's part.
 *
 * With -Otarget make prints a recipe's output in one piece; kbuild's
 * recipe for an object starts with its quiet line "  CC [M]  OBJ" and
 * goes on with the compiler's and sparse's ("  CHECK   file") output.  A
 * part ends at the next quiet line of another command or at a line of
 * make's own ("make[2]: ...").
 */
/*
 * Sets @parts[i] to the lines of @objs->v[i] (its CC line first), or to
 * NULL when the log has none.  Returns how many objects were found.
 */
size_t buildlog_split(const char *text, const struct strvec *objs,
		      char **parts);

#endif
