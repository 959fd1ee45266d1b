// SPDX-License-Identifier: GPL-2.0
/*
 * The make command of a column (see kbuild-cmd.h).
 */
#include <string.h>

#include "kbuild-cmd.h"

const char *kbuild_cross(const struct checker *c, size_t col)
{
	const char *name = c->table.arch[col].name;
	size_t i, n = strlen(name);

	for (i = 0; i < c->cross.nr; i++)
		if (!strncmp(c->cross.v[i], name, n) && c->cross.v[i][n] == '=')
			return c->cross.v[i] + n + 1;
	return c->table.arch[col].cross;
}

void kbuild_make_cmd(const struct checker *c, size_t col,
		     struct child_process *cmd)
{
	const struct arch_desc *a = &c->table.arch[col];
	size_t i;

	/* the table's, shared with the boot check (arches.txt: env) */
	for (i = 0; i < c->table.env.nr; i++)
		strvec_push(&cmd->env, c->table.env.v[i]);
	strvec_push(&cmd->args, "make");
	strvec_pushf(&cmd->args, "-C%s", c->shadow.dir);
	strvec_pushf(&cmd->args, "O=%s", c->col_out[col]);
	strvec_pushf(&cmd->args, "ARCH=%s", a->make_arch);
	if (*kbuild_cross(c, col))
		strvec_pushf(&cmd->args, "CROSS_COMPILE=%s", kbuild_cross(c, col));
	/* one W=/C= setting per output dir: toggling rebuilds prepare */
	strvec_push(&cmd->args, "W=1");
	if (c->sparse)
		strvec_push(&cmd->args, "C=1");
	strvec_pushf(&cmd->args, "-j%d", c->jobs);
}
