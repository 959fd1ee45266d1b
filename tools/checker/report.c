// SPDX-License-Identifier: GPL-2.0
/*
 * The report (see report.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "util.h"

/* A status in the table, as the heading of its details (if any), in JSON. */
static const char *const words[][3] = {
	[CELL_NONE] = { "-", NULL, NULL },
	[CELL_SKIP] = { "skipped", "NOT CHECKED", "not-checked" },
	[CELL_OK] = { "ok", NULL, "ok" },
	[CELL_FAIL] = { "FAIL", "FAIL", "fail" },
	[CELL_WARN] = { "new-warn", "NEW WARNINGS", "new-warnings" },
};

static char *row_name(const struct target *t)
{
	if (t->src && strcmp(t->file, t->src) && t->obj)
		return xasprintf("%s (via %s)", t->file, t->obj);
	return xstrdup(t->file);
}

static void print_table(const struct checker *c)
{
	size_t i, col, width = 4;
	char *name;

	for (i = 0; i < c->nr; i++) {
		name = row_name(&c->t[i]);
		if (strlen(name) > width)
			width = strlen(name);
		free(name);
	}
	printf("%-*s", (int)width, "file");
	for (col = 0; col < c->nr_cols; col++)
		printf("  %-9s", c->col_name[col]);
	printf("\n");
	for (i = 0; i < c->nr; i++) {
		const struct target *t = &c->t[i];

		name = row_name(t);
		printf("%-*s", (int)width, name);
		free(name);
		if (t->skip) {
			printf("  not checked: %s\n", t->skip);
			continue;
		}
		for (col = 0; col < c->nr_cols; col++)
			printf("  %-9s", words[t->cell[col].status][0]);
		printf("\n");
	}
}

static void print_cell_details(const struct checker *c,
			       const struct target *t, size_t col)
{
	const struct cell *cell = &t->cell[col];
	size_t i;

	if (!words[cell->status][1])
		return;
	printf("\n%s %s [%s]", words[cell->status][1], t->file,
	       c->col_name[col]);
	if (cell->log)
		printf(" (log: %s)", cell->log);
	printf("\n");
	if (cell->reason)
		printf("  %s\n", cell->reason);
	for (i = 0; i < cell->errors.nr; i++)
		printf("  %s\n", cell->errors.v[i]);
	for (i = 0; i < cell->warnings.nr; i++)
		printf("  %s\n", cell->warnings.v[i]);
	if (cell->status == CELL_FAIL && !cell->reason && !cell->errors.nr)
		printf("  (no compiler error line found: see the log)\n");
}

static void print_details(const struct checker *c)
{
	size_t i, col;

	for (i = 0; i < c->nr; i++)
		for (col = 0; col < c->nr_cols; col++)
			print_cell_details(c, &c->t[i], col);
	for (col = 0; col < c->nr_cols; col++) {
		if (!c->col_other[col].nr)
			continue;
		printf("\nNEW WARNINGS outside the touched files [%s] (log: %s)\n",
		       c->col_name[col], c->col_log[col]);
		for (i = 0; i < c->col_other[col].nr; i++)
			printf("  %s\n", c->col_other[col].v[i]);
	}
}

/* Cells by status; a target not checked at all counts as one CELL_SKIP. */
static void count(const struct checker *c, size_t *n)
{
	size_t i, col;

	memset(n, 0, ARRAY_SIZE(words) * sizeof(*n));
	for (i = 0; i < c->nr; i++) {
		n[CELL_SKIP] += c->t[i].skip != NULL;
		for (col = 0; col < c->nr_cols; col++)
			n[c->t[i].cell[col].status]++;
	}
	for (col = 0; col < c->nr_cols; col++)
		n[CELL_WARN] += c->col_other[col].nr ? 1 : 0;
}

static void json_str(const char *s)
{
	putchar('"');
	for (; s && *s; s++) {
		unsigned char ch = *s;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch == '\n')
			printf("\\n");
		else if (ch == '\t')
			printf("\\t");
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static void json_list(const char *sep, const char *name,
		      const struct strvec *sv)
{
	size_t i;

	printf("%s\"%s\": [", sep, name);
	for (i = 0; i < sv->nr; i++) {
		if (i)
			printf(", ");
		json_str(sv->v[i]);
	}
	printf("]");
}

static void json_field(const char *name, const char *value)
{
	printf(", \"%s\": ", name);
	if (value)
		json_str(value);
	else
		printf("null");
}

static void json_cell(const struct checker *c, const struct target *t,
		      size_t col, int *first)
{
	const struct cell *cell = &t->cell[col];

	if (cell->status == CELL_NONE)
		return;
	printf("%s\n    {\"file\": ", *first ? "" : ",");
	*first = 0;
	json_str(t->file);
	json_field("arch", c->col_name[col]);
	json_field("object", t->obj);
	json_field("symbol", t->sym);
	json_field("status", words[cell->status][2]);
	json_field("reason", cell->reason);
	json_field("log", cell->log);
	json_list(", ", "errors", &cell->errors);
	json_list(", ", "new_warnings", &cell->warnings);
	printf("}");
}

static void print_json(const struct checker *c, const size_t *n,
		       int ok)
{
	size_t i, col;
	int first = 1;

	printf("{\"tree\": ");
	json_str(c->tree);
	json_field("version", c->info.version);
	json_field("mode", c->info.fixture ? "fixture" : "kbuild");
	json_field("output", c->work);
	printf(", \"ok\": %s, \"seconds\": %.1f", ok ? "true" : "false",
	       now_sec() - c->started);
	printf(", \"counts\": {\"ok\": %zu, \"fail\": %zu, \"new_warnings\": %zu, \"not_checked\": %zu}",
	       n[CELL_OK], n[CELL_FAIL], n[CELL_WARN], n[CELL_SKIP]);
	printf(",\n  \"results\": [");
	for (i = 0; i < c->nr; i++)
		for (col = 0; col < c->nr_cols; col++)
			json_cell(c, &c->t[i], col, &first);
	printf("\n  ],\n  \"not_checked\": [");
	for (i = 0, first = 1; i < c->nr; i++) {
		if (!c->t[i].skip)
			continue;
		printf("%s\n    {\"file\": ", first ? "" : ",");
		first = 0;
		json_str(c->t[i].file);
		json_field("reason", c->t[i].skip);
		printf("}");
	}
	printf("\n  ],\n  \"other_new_warnings\": {");
	for (col = 0, first = 1; col < c->nr_cols; col++) {
		if (!c->col_other[col].nr)
			continue;
		json_list(first ? "" : ", ", c->col_name[col], &c->col_other[col]);
		first = 0;
	}
	printf("}\n}\n");
}

int report(const struct checker *c)
{
	size_t n[ARRAY_SIZE(words)];
	int ok;

	count(c, n);
	ok = !n[CELL_FAIL] && !n[CELL_WARN] && !n[CELL_SKIP] && n[CELL_OK];
	if (c->json) {
		print_json(c, n, ok);
		return ok ? 0 : EXIT_CHECK_FAILED;
	}
	printf("\n");
	print_table(c);
	print_details(c);
	printf("\nkbuild-check: %s: %zu ok, %zu FAIL, %zu with new warnings, %zu not checked (%.1f s)\n",
	       ok ? "PASSED" : "FAILED", n[CELL_OK], n[CELL_FAIL], n[CELL_WARN],
	       n[CELL_SKIP], now_sec() - c->started);
	return ok ? 0 : EXIT_CHECK_FAILED;
}
