/* tools/agent/agent.h: the agent's one state object, shared by the server
 * and the request handlers. */
#ifndef WID_AGENT_AGENT_H
#define WID_AGENT_AGENT_H

#include <stdint.h>

#include "backend.h"
#include "conf.h"
#include "gov.h"
#include "tasks.h"

struct wid_ca;

struct wid_agent {
	struct wid_config conf;
	const struct wid_backend_ops *ops;
	void *bstate;                 /* from ops->open() */
	uint8_t backend_id;           /* enum wid_backend_id */
	struct wid_tasks tasks;
	uint32_t uid;                 /* the agent's */
	uint32_t pid;
	int64_t started;              /* unix seconds */
	struct wid_gov gov;           /* policy and audit log (gov.c) */
	struct wid_ca *ca;            /* created on first use (cert_ops.c) */
};

/* The backend table: "soft" (and "tpm" when wired).  NULL with a reason
 * when the name is unknown or not built. */
const struct wid_backend_ops *wid_backend_find(const char *name,
                                               uint8_t *ret_id,
                                               const char **ret_why);

/* Frees the CA and its keys (agent shutdown; cert_ops.c). */
void wid_cert_fini(struct wid_agent *a);

/* CLOCK_BOOTTIME in ns and the wall clock in unix seconds. */
uint64_t wid_now_boot(void);
int64_t wid_now_wall(void);

#endif
