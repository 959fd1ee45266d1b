/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The output directories of kbuild mode, one per (tree, arch): configured
 * from the defconfig and the table's symbols, prepared, and reused as
 * long as their config inputs (config.h) are the same.
 */
#ifndef KCHECK_PREPARE_H
#define KCHECK_PREPARE_H

#include "checker.h"

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

#endif
