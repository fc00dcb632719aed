/* tools/agent/log.c: one line per event to stderr or syslog. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "log.h"

static int log_stderr = 1;

void
wid_log_init(int use_stderr)
{
	log_stderr = use_stderr;
	if (!use_stderr)
		openlog("wid-agent", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
wid_log(int prio, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (log_stderr) {
		const char *level = prio <= LOG_ERR ? "error: " :
		    prio == LOG_WARNING ? "warning: " : "";

		/* One write per line so threads do not interleave. */
		fprintf(stderr, "wid-agent: %s%s\n", level, line);
	} else
		syslog(prio, "%s", line);
}
