/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kept results of object builds, so that a run compiles only what changed.
 *
 * After an object built, its part of the make log is kept beside it
 * (<O>/<dir>/.<name>.o.kcheck-<kind>) with a key of everything else it
 * was built with (the arch's config stamp, the .config, the compiler, make
 * options, KCFLAGS and the like) and, for every file its .cmd lists
 * (source and headers), a hash of the file's content.  A later run takes
 * the kept part if the key is the same and every file has the same
 * content (hashing them all takes a fraction of a second).
 *
 * The last OBJCACHE_KEEP builds of an object are kept, newest first: a
 * series builds a file at each patch that changes it, and the next run of
 * the series (a re-roll) finds each of those builds again.  A record
 * stays valid whatever happens to the object file: it is checked against
 * the files it was built from, never against the .o.
 */
#ifndef KCHECK_OBJCACHE_H
#define KCHECK_OBJCACHE_H

#include "strvec.h"

#define OBJCACHE_KEEP 4

/* The file to read for a dependency (malloc'd), or NULL: the dep itself. */
typedef char *(*objcache_map_fn)(const char *dep, void *data);

struct objcache {
	const char *outdir;	/* kbuild O= directory */
	const char *key;	/* everything but the files, as text */
	const char *kind;	/* "build", "base": one record per kind */
	objcache_map_fn map;	/* e.g. a touched file to its original */
	void *data;
};

/* The dependencies in @obj's .cmd file, source first, made absolute. */
int cmd_file_deps(const char *outdir, const char *obj, struct strvec *deps);

/* The kept part of the log for @obj if nothing changed, else NULL. */
char *objcache_lookup(const struct objcache *oc, const char *obj);

/* Keep @part for @obj, just built; returns 0, or -1 without .cmd file. */
int objcache_store(const struct objcache *oc, const char *obj,
		   const char *part);

#endif
