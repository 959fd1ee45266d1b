/* SPDX-License-Identifier: GPL-2.0 */
/*
 * From touched files to the table of a run: the columns (architectures)
 * and one target per touched file, with the .c and object that check it,
 * its Kconfig symbol and the columns that build it, or why it is skipped.
 */
#ifndef KCHECK_TARGETS_H
#define KCHECK_TARGETS_H

#include "checker.h"
#include "strvec.h"

/*
 * The rewrite's record, <KERNEL>/.iommu-dma/manifest: "<file> <symbol>
 * <op> <what...>" lines; files with op -, + or ~ were touched.  Adds them,
 * in order of first appearance; dies on bad input.
 */
void manifest_read(const char *path, struct strvec *files);

/*
 * The files named on the command line, else those of the manifest, made
 * relative to the tree and checked to exist; dies on bad input.
 */
void targets_read_touched(struct checker *c);

/* The columns: one per table arch (kbuild), or "host" (fixture). */
void targets_setup_columns(struct checker *c);

/* c->touched and c->table to c->t[]. */
void targets_resolve(struct checker *c);

/* One "not checked" line on stderr per skipped target. */
void targets_report_skips(const struct checker *c);

#endif
