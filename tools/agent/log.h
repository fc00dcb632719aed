/* tools/agent/log.h: the agent's one log channel (stderr in the
 * foreground, syslog when daemonized).  Never pass key bytes, PINs or
 * signed data to it. */
#ifndef WID_AGENT_LOG_H
#define WID_AGENT_LOG_H

#include <syslog.h>

void wid_log_init(int use_stderr);
void wid_log(int prio, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define wid_info(...) wid_log(LOG_INFO, __VA_ARGS__)
#define wid_warn(...) wid_log(LOG_WARNING, __VA_ARGS__)
#define wid_error(...) wid_log(LOG_ERR, __VA_ARGS__)

#endif
