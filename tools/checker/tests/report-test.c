// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of report.c: a result table made by hand.
 */
#include <string.h>

#include "ktest.h"
#include "report.h"
#include "util.h"

struct run {
	struct checker c;
	struct target t[3];
	int ret;
};

/* dart: ok on arm64; iommu.h via iommu.o: FAIL on x86_64; omap: skipped */
static void setup(struct run *r)
{
	struct checker *c = &r->c;

	memset(r, 0, sizeof(*r));
	c->tree = "/k/linux";
	c->info.version = "6.1.192";
	c->work = "/o/kbuild/linux";
	c->started = now_sec();
	c->nr_cols = 2;
	c->col_name[0] = "arm64";
	c->col_name[1] = "x86_64";
	c->col_log[1] = "/o/x86_64-build.log";
	c->t = r->t;
	c->nr = 3;
	r->t[0].file = "drivers/iommu/apple-dart.c";
	r->t[0].src = r->t[0].file;
	r->t[0].obj = "drivers/iommu/apple-dart.o";
	r->t[0].sym = "APPLE_DART";
	r->t[0].cell[0].status = CELL_OK;
	r->t[1].file = "include/linux/iommu.h";
	r->t[1].src = "drivers/iommu/iommu.c";
	r->t[1].obj = "drivers/iommu/iommu.o";
	r->t[1].cell[0].status = CELL_OK;
	r->t[1].cell[1].status = CELL_FAIL;
	r->t[1].cell[1].log = "/o/x86_64-build.log";
	strvec_push(&r->t[1].cell[1].errors,
		    "include/linux/iommu.h:7:1: error: expected \"x\"\tor ';'");
	r->t[2].file = "drivers/iommu/omap.c";
	r->t[2].skip = "no known architecture builds it";
}

static void print_report(void *data)
{
	struct run *r = data;

	r->ret = report(&r->c);
}

/* The last line is what series.py shows when a patch fails. */
static void text_report(struct ktest *test)
{
	struct run r;
	char *out;

	setup(&r);
	out = ktest_stdout(print_report, &r);
	KTEST_EXPECT_EQ(test, r.ret, EXIT_CHECK_FAILED);
	KTEST_EXPECT_SUBSTR(test, out,
			    "\nfile                                               arm64      x86_64");
	KTEST_EXPECT_SUBSTR(test, out,
			    "\ndrivers/iommu/apple-dart.c                         ok         -");
	KTEST_EXPECT_SUBSTR(test, out,
			    "\ninclude/linux/iommu.h (via drivers/iommu/iommu.o)  ok         FAIL");
	KTEST_EXPECT_SUBSTR(test, out,
			    "\ndrivers/iommu/omap.c                               not checked: no known architecture builds it\n");
	KTEST_EXPECT_SUBSTR(test, out,
			    "\nFAIL include/linux/iommu.h [x86_64] (log: /o/x86_64-build.log)\n"
			    "  include/linux/iommu.h:7:1: error: expected \"x\"\tor ';'\n");
	KTEST_EXPECT_SUBSTR(test, out,
			    "\nkbuild-check: FAILED: 2 ok, 1 FAIL, 0 with new warnings, 1 not checked (");
	KTEST_EXPECT_TRUE(test, ends_with(out, " s)\n"));
	free(out);
}

static void warnings_and_passes(struct ktest *test)
{
	struct run r;
	char *out;

	setup(&r);
	r.c.nr = 1;
	out = ktest_stdout(print_report, &r);
	KTEST_EXPECT_EQ(test, r.ret, 0);
	KTEST_EXPECT_SUBSTR(test, out, "kbuild-check: PASSED: 1 ok, 0 FAIL,");
	free(out);
	r.t[0].cell[0].status = CELL_WARN;
	strvec_push(&r.t[0].cell[0].warnings, "drivers/iommu/apple-dart.c:3:1: warning: w");
	out = ktest_stdout(print_report, &r);
	KTEST_EXPECT_EQ(test, r.ret, EXIT_CHECK_FAILED);
	KTEST_EXPECT_SUBSTR(test, out, "\nNEW WARNINGS drivers/iommu/apple-dart.c [arm64]\n"
			    "  drivers/iommu/apple-dart.c:3:1: warning: w\n");
	KTEST_EXPECT_SUBSTR(test, out, "FAILED: 0 ok, 0 FAIL, 1 with new warnings");
	free(out);
	r.t[0].cell[0].status = CELL_OK;
	strvec_push(&r.c.col_other[1], "include/x.h:1:1: warning: elsewhere");
	out = ktest_stdout(print_report, &r);
	KTEST_EXPECT_EQ(test, r.ret, EXIT_CHECK_FAILED);
	KTEST_EXPECT_SUBSTR(test, out,
			    "\nNEW WARNINGS outside the touched files [x86_64] (log: /o/x86_64-build.log)\n"
			    "  include/x.h:1:1: warning: elsewhere\n");
	free(out);
}

/* Nothing built at all is no pass. */
static void nothing_checked_fails(struct ktest *test)
{
	struct run r;
	char *out;

	setup(&r);
	r.c.t = &r.t[2];
	r.c.nr = 1;
	out = ktest_stdout(print_report, &r);
	KTEST_EXPECT_EQ(test, r.ret, EXIT_CHECK_FAILED);
	KTEST_EXPECT_SUBSTR(test, out, "FAILED: 0 ok, 0 FAIL, 0 with new warnings, 1 not checked");
	free(out);
}

static void json_report(struct ktest *test)
{
	struct run r;
	char *out;

	setup(&r);
	r.c.json = 1;
	out = ktest_stdout(print_report, &r);
	KTEST_EXPECT_EQ(test, r.ret, EXIT_CHECK_FAILED);
	KTEST_EXPECT_TRUE(test, starts_with(out, "{\"tree\": \"/k/linux\", \"version\": \"6.1.192\", \"mode\": \"kbuild\", \"output\": \"/o/kbuild/linux\", \"ok\": false, \"seconds\": "));
	KTEST_EXPECT_SUBSTR(test, out,
			    "\"counts\": {\"ok\": 2, \"fail\": 1, \"new_warnings\": 0, \"not_checked\": 1}");
	KTEST_EXPECT_SUBSTR(test, out,
			    "{\"file\": \"drivers/iommu/apple-dart.c\", \"arch\": \"arm64\", \"object\": \"drivers/iommu/apple-dart.o\", \"symbol\": \"APPLE_DART\", \"status\": \"ok\", \"reason\": null, \"log\": null, \"errors\": [], \"new_warnings\": []}");
	KTEST_EXPECT_SUBSTR(test, out,
			    "\"status\": \"fail\", \"reason\": null, \"log\": \"/o/x86_64-build.log\", \"errors\": [\"include/linux/iommu.h:7:1: error: expected \\\"x\\\"\\tor ';'\"]");
	KTEST_EXPECT_SUBSTR(test, out,
			    "\"not_checked\": [\n    {\"file\": \"drivers/iommu/omap.c\", \"reason\": \"no known architecture builds it\"}\n  ]");
	KTEST_EXPECT_TRUE(test, ends_with(out, "\"other_new_warnings\": {}\n}\n"));
	free(out);
}

static struct ktest_case report_cases[] = {
	KTEST_CASE(text_report),
	KTEST_CASE(warnings_and_passes),
	KTEST_CASE(nothing_checked_fails),
	KTEST_CASE(json_report),
	{}
};

KTEST_SUITE(report, report_cases);
