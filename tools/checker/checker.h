/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kbuild-check: the state of one run (options, the tree, its targets and
 * the result table), shared by the modes and the report.
 */
#ifndef KCHECK_CHECKER_H
#define KCHECK_CHECKER_H

#include "arch-table.h"
#include "shadow.h"
#include "strvec.h"
#include "tree.h"

enum cell_status {
	CELL_NONE,	/* this arch does not build the file */
	CELL_SKIP,	/* it does, but the check could not run */
	CELL_OK,
	CELL_FAIL,
	CELL_WARN,	/* built, with new warnings */
};

struct cell {
	enum cell_status status;
	char *reason;		/* SKIP, or FAIL that is no compile error */
	struct strvec errors;	/* the first compiler error lines */
	struct strvec warnings;	/* new warnings */
	const char *log;
};

struct target {
	char *file;		/* the touched file, relative to the tree */
	char *src;		/* the .c compiled for it (itself, or via) */
	char *obj;		/* the object built, relative to the tree */
	char *sym;		/* Kconfig symbol of the object */
	char *member_sym;	/* composite member condition, or NULL */
	char *skip;		/* not checked at all, and why */
	unsigned int arches;	/* columns that build it */
	struct cell cell[MAX_ARCHES];
};

struct checker {
	/* options */
	char *tree;		/* absolute */
	const char *out_root;
	int jobs;
	int json;
	int sparse;		/* installed: C=1 */
	unsigned int only;	/* --arch mask, 0: all */
	struct strvec only_names;
	struct strvec cross;	/* --cross ARCH=PREFIX */

	struct tree_info info;	/* the tree */

	/* output */
	char *work;		/* <out_root>/kbuild/<info.id> */
	char *logdir;
	struct shadow shadow;	/* kbuild mode: what make compiles */

	struct arch_table table;
	size_t nr_cols;		/* architectures (columns of the table) */
	const char *col_name[MAX_ARCHES];
	char *col_skip[MAX_ARCHES];	/* whole column not checked: why */
	char *col_out[MAX_ARCHES];	/* kbuild O= directory */
	char *col_log[MAX_ARCHES];	/* build log */
	struct strvec col_other[MAX_ARCHES]; /* new warnings elsewhere */

	struct strvec touched;
	struct target *t;
	size_t nr;
	double started;
};

void cell_set(struct cell *cell, enum cell_status st, const char *reason);

/* Is @t still to be built in column @col (checked, not failed yet)? */
int cell_active(const struct checker *c, const struct target *t, size_t col);

/* Does column @col build any target? */
int col_active(const struct checker *c, size_t col);

#endif
