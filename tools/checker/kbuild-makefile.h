/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Find the Kconfig symbol that builds a source file, from the tree's own
 * kbuild Makefiles.
 */
#ifndef KCHECK_KBUILD_MAKEFILE_H
#define KCHECK_KBUILD_MAKEFILE_H

struct obj_rule {
	char *sym;	/* obj-$(CONFIG_<sym>), without CONFIG_ */
	char *member;	/* composite member condition (foo-$(CONFIG_X)), or NULL */
	char *composite; /* the composite object it links into, or NULL */
	char *why;	/* on failure: a one-line reason */
};

/*
 * @tree: the kernel tree, @src: a .c file relative to it.  Returns 0 and
 * fills @r, or -1 with @r->why set.
 */
int find_obj_rule(const char *tree, const char *src, struct obj_rule *r);
void obj_rule_clear(struct obj_rule *r);

/* Is CONFIG_<sym> defined by a Kconfig file in @src's directory or above? */
int kconfig_defines(const char *tree, const char *src, const char *sym);

#endif
