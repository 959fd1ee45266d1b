/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The report on stdout: a table (file x architecture), the first error
 * lines of each failure with its log, the files not checked, and a last
 * line "kbuild-check: PASSED|FAILED: ..."; or JSON with --json.
 */
#ifndef KCHECK_REPORT_H
#define KCHECK_REPORT_H

#include "checker.h"

/* Prints the report; returns the exit status (0 or EXIT_CHECK_FAILED). */
int report(const struct checker *c);

#endif
