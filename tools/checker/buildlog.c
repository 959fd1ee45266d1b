// SPDX-License-Identifier: GPL-2.0
/*
 * Per-object parts of a make log (see buildlog.h).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "buildlog.h"
#include "util.h"

/*
 * A kbuild quiet line: two spaces, an upper-case command word, optionally
 * " [M]", spaces, an argument.  Returns the command's length and points
 * @arg at the argument, or returns 0.
 */
static size_t quiet_line(const char *line, const char **arg)
{
	const char *p = line + 2;
	size_t n;

	if (strncmp(line, "  ", 2) || !isupper((unsigned char)*p))
		return 0;
	while (isupper((unsigned char)*p) || isdigit((unsigned char)*p) ||
	       *p == '_')
		p++;
	n = p - line - 2;
	if (!strncmp(p, " [M]", 4))
		p += 4;
	if (*p != ' ')
		return 0;
	while (*p == ' ')
		p++;
	if (!*p)
		return 0;
	*arg = p;
	return n;
}

static int make_message(const char *line)
{
	if (!starts_with(line, "make"))
		return 0;
	line += 4;
	if (*line == '[')
		line = strchr(line, ']');
	return line && !strncmp(line + (*line == ']'), ": ", 2);
}

/* Which object's part does @line start (index), or -1; -2: none now. */
static int part_start(const char *line, const struct strvec *objs)
{
	const char *arg;
	size_t n = quiet_line(line, &arg);

	if (make_message(line))
		return -2;
	if (!n)
		return -1;
	if (n == 5 && !strncmp(line + 2, "CHECK", 5))
		return -1;
	if (n == 2 && !strncmp(line + 2, "CC", 2) && strvec_find(objs, arg) >= 0)
		return strvec_find(objs, arg);
	return -2;
}

static void append(char **part, const char *line)
{
	char *p = xasprintf("%s%s\n", *part ? *part : "", line);

	free(*part);
	*part = p;
}

size_t buildlog_split(const char *text, const struct strvec *objs,
		      char **parts)
{
	struct strvec lines = STRVEC_INIT;
	size_t i, found = 0;
	int cur = -1, k;

	for (i = 0; i < objs->nr; i++)
		parts[i] = NULL;
	strvec_split(&lines, text);
	for (i = 0; i < lines.nr; i++) {
		k = part_start(lines.v[i], objs);
		if (k >= 0 && !parts[k])
			found++;
		if (k != -1)
			cur = k;
		if (cur >= 0)
			append(&parts[cur], lines.v[i]);
	}
	strvec_clear(&lines);
	return found;
}
