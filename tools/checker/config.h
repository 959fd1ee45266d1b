/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The .config of a kbuild output directory, and when to make it again.
 *
 * An output directory is configured from its inputs (the table's arch
 * line, the defconfig file, the compiler, the kernel version): their text
 * is kept in <O>/kcheck.stamp.  If it is the same and every symbol the run
 * needs is set, the directory is reused as is; if only symbols are
 * missing, they are enabled on top; otherwise it is made from the
 * defconfig again.
 */
#ifndef KCHECK_CONFIG_H
#define KCHECK_CONFIG_H

#include "arch-table.h"
#include "strvec.h"

enum prepare_mode {
	PREPARE_REUSE,		/* nothing to do */
	PREPARE_SYMBOLS,	/* enable missing symbols, olddefconfig */
	PREPARE_DEFCONFIG,	/* from the defconfig */
};

struct config_inputs {
	const struct arch_desc *arch;
	const char *cross;	/* the CROSS_COMPILE= used */
	const char *compiler;	/* identity of the compiler, see below */
	const char *version;	/* kernel version */
	const char *defconfig;	/* the defconfig file's text, or NULL */
};

/* The stamp text of these inputs. */
char *config_stamp(const struct config_inputs *in);

/* "path size mtime" of a program found in PATH, or "none". */
char *config_program_id(const char *name);

/* The .config of @outdir with a "\n" in front, or NULL. */
char *config_read(const char *outdir);

/* Is CONFIG_<sym> =y or =m in @config (as config_read() returns it)? */
int config_enabled(const char *config, const char *sym);

/* "FOO" must be =y/=m, "!FOO" must not be. */
int config_sym_ok(const char *config, const char *sym);

enum prepare_mode config_prepare_mode(const char *have_stamp,
				      const char *want_stamp,
				      const char *config,
				      const struct strvec *syms);

#endif
