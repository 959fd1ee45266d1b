/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The output directories of kbuild mode, one per (tree, arch): configured
 * from the defconfig and the table's symbols, prepared, and reused as
 * long as their config inputs (config.h) are the same.
 *
 * The make command of a column: the tree's kbuild on the shadow copy, in
 * the column's output directory, with its ARCH= and cross compiler, W=1
 * and C=1 (sparse) when wanted, in the table's environment.
 */
#ifndef KCHECK_PREPARE_H
#define KCHECK_PREPARE_H

#include "checker.h"
#include "run-command.h"

/* Columns this host cannot build (no defconfig, no compiler): skipped. */
void prepare_check_arches(struct checker *c);

/*
 * Configure and prepare the output directories that need it, every arch
 * at once; fail a column whose preparation failed, and a target whose
 * symbol did not end up enabled.
 */
void prepare_all(struct checker *c);

/* <O>/kcheck.stamp: the config inputs the directory was made from. */
char *prepare_stamp_path(const struct checker *c, size_t col);

/* CROSS_COMPILE= of column @col: --cross ARCH=PREFIX, else the table's. */
const char *kbuild_cross(const struct checker *c, size_t col);

/* Fills @cmd with "make -C<shadow> O=<out> ARCH=... -jN"; add targets. */
void kbuild_make_cmd(const struct checker *c, size_t col,
		     struct child_process *cmd);

#endif
