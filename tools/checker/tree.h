/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What kind of tree kbuild-check was given: its version from the top
 * Makefile, kbuild or fixture mode, and a name for its output directory.
 */
#ifndef KCHECK_TREE_H
#define KCHECK_TREE_H

struct tree_info {
	char *version;	/* VERSION.PATCHLEVEL.SUBLEVEL EXTRAVERSION */
	char *id;	/* <basename>-<version>-<hash of path and version> */
	int fixture;	/* linux-fixtures: no kbuild, host compiler */
	char *orig_dir;	/* <tree>/.iommu-dma/orig, or NULL */
};

/* The value of "NAME = value" in a Makefile's text, or NULL. */
char *makefile_var(const char *text, const char *name);

/* @path is absolute; dies with one line if it is no kernel tree. */
void tree_detect(const char *path, struct tree_info *info);

#endif
