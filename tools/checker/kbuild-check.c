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
#include <stdio.h>
#include <sys/file.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checker.h"
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
"  -a, --arch NAME        check only this architecture (repeatable)\n"
"      --cross ARCH=PFX   use cross compiler prefix PFX for ARCH\n"
"      --json             print the report as JSON on stdout\n"
"  -v, --verbose          more progress lines\n"
"  -h, --help             this text\n"
"\n"
"Exit status: 0 every touched file builds on every architecture that\n"
"builds it, with no new warnings; 1 the check failed or some file was\n"
"not checked; 2 bad input.\n";

enum { OPT_CROSS = 256, OPT_JSON };

static const struct option long_opts[] = {
	{ "output", required_argument, NULL, 'O' },
	{ "jobs", required_argument, NULL, 'j' },
	{ "arch", required_argument, NULL, 'a' },
	{ "cross", required_argument, NULL, OPT_CROSS },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static char *absolute(const char *path)
{
	char *abs = realpath(path, NULL);

	if (!abs)
		die("%s: no such directory", path);
	return abs;
}

static void parse_options(struct checker *c, int argc, char **argv)
{
	char *end;
	long n;
	int opt;

	while ((opt = getopt_long(argc, argv, "O:j:a:vh", long_opts,
				  NULL)) != -1) {
		switch (opt) {
		case 'O':
			c->out_root = optarg;
			break;
		case 'j':
			n = strtol(optarg, &end, 10);
			if (*end || n < 1 || n > 256)
				die("bad job count '%s'", optarg);
			c->jobs = n;
			break;
		case 'a':
			strvec_push(&c->only_names, optarg);
			break;
		case OPT_CROSS:
			if (!strchr(optarg, '='))
				die("--cross wants ARCH=PREFIX, got '%s'", optarg);
			strvec_push(&c->cross, optarg);
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
	c->tree = absolute(argv[optind++]);
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
	tree_detect(c->tree, &c->info);
	/* created first: realpath() wants it to exist */
	if (mkdir_p(c->out_root) < 0)
		die("cannot create %s", c->out_root);
	c->work = xasprintf("%s/kbuild/%s", absolute(c->out_root), c->info.id);
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
		.out_root = "build",
		.jobs = 2,
	};

	c.started = now_sec();
	parse_options(&c, argc, argv);
	detect_tree(&c);
	targets_read_touched(&c);
	arch_table_load(&c.table, find_table());
	targets_setup_columns(&c);
	targets_resolve(&c);
	if (mkdir_p(c.logdir) < 0)
		die("cannot create %s", c.logdir);
	lock_work(&c);
	progress("kbuild-check: %s (%s, %s mode): %zu touched file(s), output in %s",
		 c.tree, c.info.version, c.info.fixture ? "fixture" : "kbuild",
		 c.nr, c.work);
	targets_report_skips(&c);
	if (c.info.fixture)
		fixture_run(&c);
	else
		kbuild_run(&c);
	return report(&c);
}
