/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The output directories of kbuild mode, one per (tree, arch): configured
 * from the defconfig and the table's symbols, prepared, and reused as
 * long as their config inputs (below) are the same.
 *
 * The make command of a column: the tree's kbuild on the shadow copy, in
 * the column's output directory, with its ARCH= and cross compiler, W=1
 * and C=1 (sparse) when wanted, in the table's environment.
 */
#ifndef KCHECK_PREPARE_H
#define KCHECK_PREPARE_H

#include "checker.h"
#include "run-command.h"

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


/* Columns this host cannot build (no defconfig, no compiler): skipped. */
void prepare_check_arches(struct checker *c);

/*
 * Configure and prepare the output directories that need it, every arch
 * at once; fail a column whose preparation failed, and a target whose
 * symbol did not end up enabled.
 */
void prepare_all(struct checker *c);

/* <O>/kcheck.stamp: the config inputs the directory was made from. */
char *prepare_stamp_path(const struct checker *c, size_t col);

/* CROSS_COMPILE= of column @col: --cross ARCH=PREFIX, else the table's. */
const char *kbuild_cross(const struct checker *c, size_t col);

/* Fills @cmd with "make -C<shadow> O=<out> ARCH=... -jN"; add targets. */
void kbuild_make_cmd(const struct checker *c, size_t col,
		     struct child_process *cmd);

#endif
