/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fixture mode: compile the targets of a kernel-like tree without kbuild
 * (linux-fixtures) with the host compiler and -Werror.
 */
#ifndef KCHECK_FIXTURE_H
#define KCHECK_FIXTURE_H

#include "checker.h"

void fixture_run(struct checker *c);

#endif
