// SPDX-License-Identifier: GPL-2.0
/*
 * The state of one run (see checker.h).
 */
#include <stdlib.h>

#include "checker.h"
#include "util.h"

void cell_set(struct cell *cell, enum cell_status st, const char *reason)
{
	cell->status = st;
	free(cell->reason);
	cell->reason = reason ? xstrdup(reason) : NULL;
}

int cell_active(const struct checker *c, const struct target *t, size_t col)
{
	return !t->skip && (t->arches & (1U << col)) && !c->col_skip[col] &&
	       t->cell[col].status != CELL_FAIL;
}

int col_active(const struct checker *c, size_t col)
{
	size_t i;

	for (i = 0; i < c->nr; i++)
		if (cell_active(c, &c->t[i], col))
			return 1;
	return 0;
}
