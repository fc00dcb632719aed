/* tools/tool/cli.c: what every wid-tool command uses to talk to its
 * user: usage errors and hints, and uid arguments. */
#include "config.h"

#include <errno.h>
#include <pwd.h>
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

int
tool_parse_uid(const char *s, uint32_t *ret_uid)
{
	struct passwd *pw;
	unsigned long v;
	char *end;

	if (s[0] >= '0' && s[0] <= '9') {
		errno = 0;
		v = strtoul(s, &end, 10);
		if (errno != 0 || *end != '\0' || v >= WID_UID_NONE)
			return -1;
		*ret_uid = (uint32_t)v;
		return 0;
	}
	if ((pw = getpwnam(s)) == NULL)
		return -1;
	*ret_uid = (uint32_t)pw->pw_uid;
	return 0;
}
