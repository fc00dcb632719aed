/* tools/agent/agent.h: the agent's one state object, shared by the server
 * and the request handlers. */
#ifndef WID_AGENT_AGENT_H
#define WID_AGENT_AGENT_H

#include <stdint.h>

#include "backend.h"
#include "conf.h"
#include "tasks.h"

struct wid_agent {
	struct wid_config conf;
	const struct wid_backend_ops *ops;
	void *bstate;                 /* from ops->open() */
	uint8_t backend_id;           /* enum wid_backend_id */
	struct wid_tasks tasks;
	uint32_t uid;                 /* the agent's */
	uint32_t pid;
	int64_t started;              /* unix seconds */
};

/* The backend table: "soft" (and "tpm" when wired).  NULL with a reason
 * when the name is unknown or not built. */
const struct wid_backend_ops *wid_backend_find(const char *name,
                                               uint8_t *ret_id,
                                               const char **ret_why);

/* CLOCK_BOOTTIME in ns and the wall clock in unix seconds. */
uint64_t wid_now_boot(void);
int64_t wid_now_wall(void);

#endif
