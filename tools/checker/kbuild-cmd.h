/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The make command of a column: the tree's kbuild on the shadow copy, in
 * the column's output directory, with its ARCH= and cross compiler, W=1
 * and C=1 (sparse) when wanted, in the C locale.
 */
#ifndef KCHECK_KBUILD_CMD_H
#define KCHECK_KBUILD_CMD_H

#include "checker.h"
#include "run-command.h"

/* CROSS_COMPILE= of column @col: --cross ARCH=PREFIX, else the table's. */
const char *kbuild_cross(const struct checker *c, size_t col);

/* Fills @cmd with "make -C<shadow> O=<out> ARCH=... -jN"; add targets. */
void kbuild_make_cmd(const struct checker *c, size_t col,
		     struct child_process *cmd);

#endif
