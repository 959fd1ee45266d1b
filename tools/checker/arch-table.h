/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The architecture table (arches.txt): which arch builds which Kconfig
 * symbol, with which defconfig and cross compiler.
 */
#ifndef KCHECK_ARCH_TABLE_H
#define KCHECK_ARCH_TABLE_H

#include "strvec.h"

#define MAX_ARCHES 16

struct arch_desc {
	char *name;		/* our name, e.g. x86_64 */
	char *make_arch;	/* ARCH= */
	char *srcarch;		/* directory under arch/ */
	char *cross;		/* CROSS_COMPILE=, "" when native */
	char *defconfig;
	struct strvec syms;	/* always enabled */
};

struct sym_desc {
	char *sym;
	unsigned int arches;	/* bit mask over table->arch[] */
};

struct header_desc {
	char *header;
	char *via;		/* the .c whose object checks the header */
	unsigned int arches;	/* 0: via's arches plus the run's arches */
};

struct arch_table {
	char *path;
	struct arch_desc arch[MAX_ARCHES];
	size_t nr_arch;
	struct sym_desc *sym;
	size_t nr_sym;
	struct header_desc *hdr;
	size_t nr_hdr;
	struct strvec env;	/* kbuild's: NAME unset, NAME=VALUE set */
};

/* Dies with "<path>:<line>: ..." on a malformed table. */
void arch_table_load(struct arch_table *t, const char *path);
int arch_table_find_arch(const struct arch_table *t, const char *name);
/* The table's name for a uname machine: arm64 for aarch64. */
const char *arch_table_machine_arch(const char *machine);
const struct sym_desc *arch_table_find_sym(const struct arch_table *t,
					   const char *sym);
const struct header_desc *arch_table_find_header(const struct arch_table *t,
						 const char *path);

#endif
