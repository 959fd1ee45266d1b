// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of checker.c.
 */
#include <string.h>

#include "checker.h"
#include "ktest.h"

static void cells(struct ktest *test)
{
	struct cell cell;

	memset(&cell, 0, sizeof(cell));
	cell_set(&cell, CELL_SKIP, "no compiler");
	KTEST_EXPECT_EQ(test, cell.status, CELL_SKIP);
	KTEST_EXPECT_STREQ(test, cell.reason, "no compiler");
	cell_set(&cell, CELL_OK, NULL);
	KTEST_EXPECT_EQ(test, cell.status, CELL_OK);
	KTEST_EXPECT_NULL(test, cell.reason);
}

static void active_cells_and_columns(struct ktest *test)
{
	struct target t[2];
	struct checker c;

	memset(&c, 0, sizeof(c));
	memset(t, 0, sizeof(t));
	c.t = t;
	c.nr = 2;
	c.nr_cols = 3;
	t[0].arches = 1U << 0 | 1U << 1;
	t[1].arches = 1U << 1;
	t[1].skip = "not checked";
	KTEST_EXPECT_TRUE(test, cell_active(&c, &t[0], 0));
	KTEST_EXPECT_FALSE(test, cell_active(&c, &t[0], 2));
	KTEST_EXPECT_FALSE(test, cell_active(&c, &t[1], 1));
	KTEST_EXPECT_TRUE(test, col_active(&c, 1));
	KTEST_EXPECT_FALSE(test, col_active(&c, 2));
	t[0].cell[1].status = CELL_FAIL;
	KTEST_EXPECT_FALSE(test, col_active(&c, 1));
	c.col_skip[0] = "no compiler";
	KTEST_EXPECT_FALSE(test, col_active(&c, 0));
}

static struct ktest_case checker_cases[] = {
	KTEST_CASE(cells),
	KTEST_CASE(active_cells_and_columns),
	{}
};

KTEST_SUITE(checker, checker_cases);
