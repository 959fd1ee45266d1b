// SPDX-License-Identifier: GPL-2.0
/*
 * kbuild-check: build the files a rewrite touched, on every architecture
 * that builds them, and fail on compile errors or new W=1/sparse warnings.
 *
 *   kbuild-check [options] KERNEL [FILE...]
 *
 * With no FILE, the touched files come from KERNEL/.iommu-dma/manifest.
 * A kernel tree is checked with kbuild in output directories under
 * -O DIR; a fixture tree (EXTRAVERSION = -fixtures) with the host compiler.
 */
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <sys/file.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checker.h"
#include "fixture.h"
#include "kbuild.h"
#include "report.h"
#include "targets.h"
#include "tree.h"
#include "util.h"

#ifndef KCHECK_TABLE
#define KCHECK_TABLE "arches.txt"
#endif

static const char usage_text[] =
"usage: kbuild-check [options] KERNEL [FILE...]\n"
"\n"
"Build the files a rewrite touched (FILE..., or those recorded in\n"
"KERNEL/.iommu-dma/manifest) on every architecture that builds them.\n"
"\n"
"  -O, --output DIR       output root (default ./build); output dirs go\n"
"                         in DIR/kbuild/<tree-id>/\n"
"  -j, --jobs N           parallel jobs per make (default 2)\n"
"  -m, --manifest FILE    the rewrite's record (default\n"
"                         KERNEL/.iommu-dma/manifest)\n"
"  -t, --table FILE       architecture table (default: arches.txt\n"
"                         beside the program)\n"
"  -a, --arch NAME        check only this architecture (repeatable)\n"
"      --cross ARCH=PFX   use cross compiler prefix PFX for ARCH\n"
"      --no-warnings      do not compare warnings with the originals\n"
"      --no-sparse        do not run sparse (C=1) even when installed\n"
"      --json             print the report as JSON on stdout\n"
"  -v, --verbose          more progress lines\n"
"  -h, --help             this text\n"
"\n"
"Exit status: 0 every touched file builds on every architecture that\n"
"builds it, with no new warnings; 1 the check failed or some file was\n"
"not checked; 2 bad input.\n";

enum { OPT_CROSS = 256, OPT_NO_WARN, OPT_NO_SPARSE, OPT_JSON };

static const struct option long_opts[] = {
	{ "output", required_argument, NULL, 'O' },
	{ "jobs", required_argument, NULL, 'j' },
	{ "manifest", required_argument, NULL, 'm' },
	{ "table", required_argument, NULL, 't' },
	{ "arch", required_argument, NULL, 'a' },
	{ "cross", required_argument, NULL, OPT_CROSS },
	{ "no-warnings", no_argument, NULL, OPT_NO_WARN },
	{ "no-sparse", no_argument, NULL, OPT_NO_SPARSE },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static char *absolute(const char *path, int must_exist)
{
	char buf[PATH_MAX];
	char *cwd;

	if (realpath(path, buf))
		return xstrdup(buf);
	if (must_exist)
		die("%s: no such directory", path);
	if (*path == '/')
		return xstrdup(path);
	cwd = getcwd(buf, sizeof(buf));
	if (!cwd)
		die("cannot get the current directory");
	return xasprintf("%s/%s", cwd, path);
}

static void parse_options(struct checker *c, int argc, char **argv)
{
	char *end;
	long n;
	int opt;

	while ((opt = getopt_long(argc, argv, "O:j:m:t:a:vh", long_opts,
				  NULL)) != -1) {
		switch (opt) {
		case 'O':
			c->out_root = absolute(optarg, 0);
			break;
		case 'j':
			n = strtol(optarg, &end, 10);
			if (*end || n < 1 || n > 256)
				die("bad job count '%s'", optarg);
			c->jobs = n;
			break;
		case 'm':
			c->manifest = optarg;
			break;
		case 't':
			c->table_path = optarg;
			break;
		case 'a':
			strvec_push(&c->only_names, optarg);
			break;
		case OPT_CROSS:
			if (!strchr(optarg, '='))
				die("--cross wants ARCH=PREFIX, got '%s'", optarg);
			strvec_push(&c->cross, optarg);
			break;
		case OPT_NO_WARN:
			c->warnings = 0;
			break;
		case OPT_NO_SPARSE:
			c->sparse = 0;
			break;
		case OPT_JSON:
			c->json = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		default:
			fputs(usage_text, stderr);
			exit(EXIT_BAD_INPUT);
		}
	}
	if (optind >= argc) {
		fputs(usage_text, stderr);
		die("no kernel tree given");
	}
	c->tree = absolute(argv[optind++], 1);
	for (; optind < argc; optind++)
		strvec_push(&c->touched, argv[optind]);
}

/* The table in the source tree, else the copy beside the program. */
static const char *find_table(void)
{
	char *exe = realpath("/proc/self/exe", NULL);

	if (is_file(KCHECK_TABLE) || !exe)
		return KCHECK_TABLE;
	*strrchr(exe, '/') = '\0';
	return xasprintf("%s/arches.txt", exe);
}

static void detect_tree(struct checker *c)
{
	struct tree_info info;

	tree_detect(c->tree, &info);
	c->version = info.version;
	c->tree_id = info.id;
	c->fixture = info.fixture;
	c->orig_dir = info.orig_dir;
	c->work = xasprintf("%s/kbuild/%s", c->out_root, c->tree_id);
	c->logdir = xasprintf("%s/logs", c->work);
}

/* One run at a time per tree: they share the shadow and output dirs. */
static void lock_work(const struct checker *c)
{
	char *path = xasprintf("%s/lock", c->work);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0)
		die("cannot open %s", path);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		progress("kbuild-check: waiting for another run on %s", c->work);
		if (flock(fd, LOCK_EX) < 0)
			die("cannot lock %s", path);
	}
	free(path);	/* fd stays open: the lock lasts until exit */
}

int main(int argc, char **argv)
{
	struct checker c = {
		.jobs = 2,
		.sparse = 1,
		.warnings = 1,
	};

	c.started = now_sec();
	parse_options(&c, argc, argv);
	if (!c.out_root)
		c.out_root = absolute("build", 0);
	if (!c.table_path)
		c.table_path = find_table();
	detect_tree(&c);
	targets_read_touched(&c);
	arch_table_load(&c.table, c.table_path);
	targets_setup_columns(&c);
	targets_resolve(&c);
	if (mkdir_p(c.logdir) < 0)
		die("cannot create %s", c.logdir);
	lock_work(&c);
	progress("kbuild-check: %s (%s, %s mode): %zu touched file(s), output in %s",
		 c.tree, c.version, c.fixture ? "fixture" : "kbuild",
		 c.nr, c.work);
	targets_report_skips(&c);
	if (c.fixture)
		fixture_run(&c);
	else
		kbuild_run(&c);
	return report(&c);
}
