// SPDX-License-Identifier: GPL-2.0
/*
 * Recognise the kernel tree (see tree.h).
 */
#include <stdlib.h>
#include <string.h>

#include "tree.h"
#include "util.h"

char *makefile_var(const char *text, const char *name)
{
	const char *line, *p, *end;
	size_t n = strlen(name);

	for (line = text; line && *line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		if (strncmp(line, name, n))
			continue;
		p = line + n;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p++ != '=')
			continue;
		while (*p == ' ' || *p == '\t')
			p++;
		end = strchrnul(p, '\n');
		while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		return xasprintf("%.*s", (int)(end - p), p);
	}
	return NULL;
}

static void read_version(const char *tree, struct tree_info *info)
{
	char *path = xasprintf("%s/Makefile", tree);
	char *text = read_file(path, NULL);
	char *v, *p, *s, *e;

	if (!text)
		die("%s is not a kernel tree (no Makefile)", tree);
	v = makefile_var(text, "VERSION");
	p = makefile_var(text, "PATCHLEVEL");
	s = makefile_var(text, "SUBLEVEL");
	e = makefile_var(text, "EXTRAVERSION");
	if (!v || !p || !*v || !*p)
		die("%s is not a kernel tree (no VERSION/PATCHLEVEL in its Makefile)",
		    tree);
	info->version = xasprintf("%s.%s.%s%s", v, p, s ? s : "0",
				  e ? e : "");
	info->fixture = e && !strcmp(e, "-fixtures");
	free(path);
	free(text);
	free(v);
	free(p);
	free(s);
	free(e);
}

static int has(const char *tree, const char *rel, int (*test)(const char *))
{
	char *p = xasprintf("%s/%s", tree, rel);
	int ret = test(p);

	free(p);
	return ret;
}

void tree_detect(const char *path, struct tree_info *info)
{
	const char *base = strrchr(path, '/');
	unsigned long long h;
	char *orig;

	memset(info, 0, sizeof(*info));
	read_version(path, info);
	if (!info->fixture && !has(path, "scripts/config", is_file))
		info->fixture = 1;
	if (!has(path, "include/linux", is_dir))
		die("%s is not a kernel tree (no include/linux)", path);
	if (!info->fixture && !has(path, "arch", is_dir))
		die("%s is not a kernel tree (no arch/)", path);
	h = fnv1a(FNV1A_INIT, path, strlen(path));
	h = fnv1a(h, info->version, strlen(info->version));
	info->id = xasprintf("%s-%s-%08llx", base ? base + 1 : "tree",
			     info->version, h & 0xffffffffULL);
	orig = xasprintf("%s/.iommu-dma/orig", path);
	if (is_dir(orig))
		info->orig_dir = orig;
	else
		free(orig);
}
