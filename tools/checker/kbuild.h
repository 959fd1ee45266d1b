/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kbuild mode: build the targets' objects with the tree's own kbuild, one
 * output directory per architecture, and compare their warnings with
 * those of the originals.  Fixture mode: compile them without kbuild
 * (linux-fixtures) with the host compiler and -Werror.
 */
#ifndef KCHECK_KBUILD_H
#define KCHECK_KBUILD_H

#include "checker.h"

void kbuild_run(struct checker *c);
void fixture_run(struct checker *c);

#endif
