// SPDX-License-Identifier: GPL-2.0
/*
 * Output directory configuration (see config.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "run-command.h"
#include "util.h"

#define STAMP_FORMAT "kbuild-check config 2"

/* The table's symbols for the arch, sorted, in one line. */
static char *symbol_list(const struct arch_desc *a)
{
	struct strvec syms = STRVEC_INIT;
	char *list;
	size_t i;

	for (i = 0; i < a->syms.nr; i++)
		strvec_push_unique(&syms, a->syms.v[i]);
	strvec_sort(&syms);
	list = strvec_join(&syms, " ");
	strvec_clear(&syms);
	return list;
}

char *config_stamp(const struct config_inputs *in)
{
	const struct arch_desc *a = in->arch;
	unsigned long long h = FNV1A_INIT;
	char *list = symbol_list(a);
	char defconfig[32] = "target";
	char *s;

	if (in->defconfig) {
		h = fnv1a(h, in->defconfig, strlen(in->defconfig));
		snprintf(defconfig, sizeof(defconfig), "%016llx", h);
	}
	s = xasprintf("%s\nversion %s\nARCH=%s SRCARCH=%s CROSS_COMPILE=%s\ncompiler %s\ndefconfig %s %s\nsymbols %s\n",
		      STAMP_FORMAT, in->version, a->make_arch, a->srcarch,
		      in->cross, in->compiler, a->defconfig, defconfig, list);
	free(list);
	return s;
}

char *config_program_id(const char *name)
{
	char *path = program_path(name);
	struct stat st;
	char *id;

	if (!path || stat(path, &st) < 0) {
		free(path);
		return xstrdup("none");
	}
	id = xasprintf("%s %lld %lld", path, (long long)st.st_size,
		       (long long)st.st_mtime);
	free(path);
	return id;
}

char *config_read(const char *outdir)
{
	char *path = xasprintf("%s/.config", outdir);
	char *text = read_file(path, NULL);
	char *nl;

	free(path);
	if (!text)
		return NULL;
	nl = xasprintf("\n%s", text);	/* so that the first line matches */
	free(text);
	return nl;
}

int config_enabled(const char *config, const char *sym)
{
	char *y = xasprintf("\nCONFIG_%s=y\n", sym);
	char *m = xasprintf("\nCONFIG_%s=m\n", sym);
	int ret = config && (strstr(config, y) || strstr(config, m));

	free(y);
	free(m);
	return ret;
}

int config_sym_ok(const char *config, const char *sym)
{
	if (*sym == '!')
		return !config_enabled(config, sym + 1);
	return config_enabled(config, sym);
}

enum prepare_mode config_prepare_mode(const char *have_stamp,
				      const char *want_stamp,
				      const char *config,
				      const struct strvec *syms)
{
	size_t i;

	if (!have_stamp || !config || strcmp(have_stamp, want_stamp))
		return PREPARE_DEFCONFIG;
	for (i = 0; i < syms->nr; i++)
		if (!config_sym_ok(config, syms->v[i]))
			return PREPARE_SYMBOLS;
	return PREPARE_REUSE;
}
