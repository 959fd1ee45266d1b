/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The rewrite's record, <KERNEL>/.iommu-dma/manifest: "<file> <symbol>
 * <op> <what...>" lines; files with op -, + or ~ were touched.
 */
#ifndef KCHECK_MANIFEST_H
#define KCHECK_MANIFEST_H

#include "strvec.h"

/* Adds the touched files, in order of first appearance; dies on bad input. */
void manifest_read(const char *path, struct strvec *files);

#endif
