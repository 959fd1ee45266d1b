/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The output of "make -Otarget ... OBJ...", split into each object's part.
 *
 * With -Otarget make prints a recipe's output in one piece; kbuild's
 * recipe for an object starts with its quiet line "  CC [M]  OBJ" and
 * goes on with the compiler's and sparse's ("  CHECK   file") output.  A
 * part ends at the next quiet line of another command or at a line of
 * make's own ("make[2]: ...").
 */
#ifndef KCHECK_BUILDLOG_H
#define KCHECK_BUILDLOG_H

#include "strvec.h"

/*
 * Sets @parts[i] to the lines of @objs->v[i] (its CC line first), or to
 * NULL when the log has none.  Returns how many objects were found.
 */
size_t buildlog_split(const char *text, const struct strvec *objs,
		      char **parts);

#endif
