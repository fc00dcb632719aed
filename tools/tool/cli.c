/* tools/tool/cli.c: what every wid-tool command uses to talk to its
 * user: usage errors and hints, and uid arguments. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "tool.h"

void
tool_usage_hint(const char *cmd)
{
	if (cmd != NULL)
		fprintf(stderr, "Try 'wid-tool %s --help'.\n", cmd);
	else
		fprintf(stderr, "Try 'wid-tool --help'.\n");
}

int
tool_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, TOOL_NAME " %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	tool_usage_hint(cmd);
	return TOOL_EXIT_USAGE;
}
