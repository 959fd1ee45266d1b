/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The shadow tree: a hard-linked copy (cp -al) of the kernel tree that
 * kbuild compiles, so that the touched files can be swapped to their
 * originals for the warning baseline without ever writing the tree.
 *
 * The copy is made once per tree (keyed by the tree's and its Makefile's
 * inodes) and kept.  Each run follows the tree: every directory whose
 * mtime moved since the last run (a file in it was replaced, added or
 * removed) is mirrored, and every file a run linked (listed in
 * <work>/src.links) points at the tree's current version again.
 */
#ifndef KCHECK_SHADOW_H
#define KCHECK_SHADOW_H

#include "strvec.h"

struct shadow {
	const char *tree;	/* the kernel tree, absolute */
	const char *orig_dir;	/* the originals of touched files, or NULL */
	char *dir;		/* the copy: <work>/src */
	char *stamp;		/* <work>/src.stamp */
	char *links;		/* <work>/src.links */
	char *dirs;		/* <work>/src.dirs: the tree's dir mtimes */
};

void shadow_init(struct shadow *s, const char *tree, const char *orig_dir,
		 const char *work);

/* Make or reuse the copy; link @touched and earlier links to the tree. */
void shadow_sync(struct shadow *s, const struct strvec *touched);

/* Point @touched at their originals (@orig) or back at the tree's. */
void shadow_use(struct shadow *s, const struct strvec *touched, int orig);

/* The original of @rel (relative to the tree), or NULL if it has none. */
char *shadow_orig(const struct shadow *s, const char *rel);

/* The shadow's path of @rel. */
char *shadow_path(const struct shadow *s, const char *rel);

#endif
