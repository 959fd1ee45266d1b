// SPDX-License-Identifier: GPL-2.0
/*
 * Read the touched files from the rewrite's manifest.
 */
#include <stdlib.h>
#include <string.h>

#include "manifest.h"
#include "util.h"

static int valid_path(const char *p)
{
	return *p && *p != '/' && !strstr(p, "..") && !strchr(p, '\\');
}

static void parse_line(const char *path, int lineno, char *line,
		       struct strvec *files)
{
	char *file, *sym, *op, *what, *save;

	if (!*line || *line == '#')
		return;
	file = strtok_r(line, " ", &save);
	sym = strtok_r(NULL, " ", &save);
	op = strtok_r(NULL, " ", &save);
	what = strtok_r(NULL, "", &save);
	if (!file || !sym || !op || !what)
		die("%s:%d: malformed line (want '<file> <symbol> <op> <what...>')",
		    path, lineno);
	if (strlen(op) != 1 || !strchr("-+~!", *op))
		die("%s:%d: unknown op '%s' (want -, +, ~ or !)", path, lineno, op);
	if (!valid_path(file))
		die("%s:%d: bad file name '%s'", path, lineno, file);
	if (*op != '!')
		strvec_push_unique(files, file);
}

void manifest_read(const char *path, struct strvec *files)
{
	char *buf, *line, *next;
	int lineno = 0;

	buf = read_file(path, NULL);
	if (!buf)
		die("cannot read the manifest %s (run the rewrite first, or name the files)",
		    path);
	for (line = buf; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		if (*line && line[strlen(line) - 1] == '\r')
			line[strlen(line) - 1] = '\0';
		parse_line(path, lineno, line, files);
	}
	free(buf);
}
