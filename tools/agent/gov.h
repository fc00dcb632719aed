/* tools/agent/gov.h: governance inside the agent: the loaded policy (and
 * its reload), the audit log (the agent is its only writer), and the
 * decisions and audit events around issuance, approval and every
 * signature.  Without a policy the core rules apply (the uid visibility
 * rule); without an audit log nothing is recorded.
 *
 * Fail closed: every operation that is recorded is refused when its event
 * cannot be written (the audit layer then stays failed), and a signature
 * whose sign-allowed event cannot be written is wiped, never returned. */
#ifndef WID_AGENT_GOV_H
#define WID_AGENT_GOV_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "wid/client.h"
#include "wid/proto.h"
#include "audit.h"
#include "policy.h"

struct wid_agent;
struct wid_caller;

#define WID_GOV_GIDS_MAX 64

struct wid_gov {
	pthread_mutex_t lock;          /* guards `policy` */
	int lock_up;
	struct policy *policy;         /* NULL: core rules only */
	char policy_path[WID_PATH_MAX];
	struct audit_log *audit;       /* NULL: no audit log */
	char audit_path[WID_PATH_MAX];
};

/* Loads the policy and opens the audit log named in a->conf (agent-start,
 * checkpoint, policy-load), then hooks task-ended/expired/revoked events
 * to the task table.  `self` describes the agent for agent-start.  On
 * error writes a message (FILE:LINE:COL for the policy) into err. */
int wid_gov_open(struct wid_agent *a, const struct wid_caller *self,
                 char *err, size_t errlen);
/* agent-stop and the final checkpoint; NULL-safe when nothing is open. */
void wid_gov_close(struct wid_agent *a, const char *reason);
/* 1 when a policy or an audit log is configured. */
int wid_gov_active(const struct wid_agent *a);

/* The current policy with a reference (policy_unref it), or NULL. */
struct policy *wid_gov_policy(struct wid_agent *a);
/* Loads the policy file again; on success publishes it, records
 * policy-load and writes its hash into msg; on error keeps the old one,
 * logs and records the failure and writes "FILE:LINE:COL: message" into
 * msg.  `who` is NULL for SIGHUP. */
int wid_gov_reload(struct wid_agent *a, const struct wid_caller *who,
                   char *msg, size_t len);

/* STATUS: policy hash, audit path and size. */
void wid_gov_status(struct wid_agent *a, struct wid_status *st);

/* Appends one event; 0 when there is no audit log. */
int wid_gov_emit(struct wid_agent *a, const struct audit_event *ev);

/* All groups of process pid (/proc/PID/status "Groups:") plus gid, cached
 * per thread for one second.  Returns the number of gids written. */
size_t wid_gov_caller_gids(uint32_t pid, uint32_t gid, uint32_t *gids,
                           size_t max);

/* TASK_START under governance: policy (issuance, approval), the
 * task-requested/denied/started events, pending tasks.  Replaces the
 * plain wid_tasks_start call in the handler; same contract. */
int wid_gov_start(struct wid_agent *a, struct wid_start_req *req,
                  const struct wid_caller *who, int bind_pidfd,
                  struct wid_task *ret_task, char *reason, size_t rlen);
/* SIGN under governance: policy (use), sign-allowed/denied events. */
/* A uid's user name, or the number when it has none. */
void wid_gov_user_name(uint32_t uid, char *out, size_t n);

/* Records a certificate issued for task t (kind "openssh" or "x509";
 * detail: validity and principals).  Non-zero when it cannot be recorded:
 * then the certificate must not be handed out. */
int wid_gov_cert_issued(struct wid_agent *a, const struct wid_caller *who,
                        const struct wid_task *t, const char *kind,
                        const char *detail);
int wid_gov_sign(struct wid_agent *a, const struct wid_caller *who,
                 const struct wid_sign_req *req, uint8_t *sig,
                 size_t *ret_len, char *reason, size_t rlen);

#endif
