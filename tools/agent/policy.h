/* tools/agent/policy.h: the policy engine.  One YAML file (schema and
 * semantics documented in conf/policy.example) is parsed with libyaml into
 * an immutable policy object; requests are evaluated against it with plain
 * structs, so the agent and `wid-tool policy check` share one code path.
 *
 * Decisions: deny by default; deny wins (any matching deny rule decides and
 * is named); otherwise the first matching allow rule decides, named; no
 * match: deny with rule "default-deny".  An allow rule "matches" on who
 * and what it is about (issue: requesters, scopes; use: tasks and caller
 * identity); its other conditions are limits that deny, naming the rule
 * and the reason (issue: key_types, max_ttl, ssh_principals; use: exe,
 * cgroup_prefix,
 * mechanisms, max_signatures, window).  A deny rule matches only when all
 * its conditions hold (window: inside it; max_signatures: count reached).
 *
 * Identity: uids and gids come from the kernel (the agent's SO_PEERCRED,
 * SCM_CREDENTIALS and /proc/PID/status "Groups:"), never from the
 * caller's word.  User names in the file are resolved to uids, Unix group
 * names to gids, once at load (getpwnam/getgrnam; an unknown name is a
 * load error): a policy means the same thing for its whole life.  A group
 * name is first looked up in the file's own `groups:` (named uid lists).
 *
 * Reload: policy_load() builds a new object or fails with
 * "FILE:LINE:COL: message" and leaves nothing behind, so a bad file never
 * replaces a good one.  The caller publishes the new pointer (under its
 * lock) and drops its reference to the old one; a worker that took
 * policy_ref() before evaluating keeps the old object alive until its
 * policy_unref().  Evaluation never modifies the object and is thread-safe.
 */
#ifndef WID_AGENT_POLICY_H
#define WID_AGENT_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define POLICY_NAME_MAX 64
#define POLICY_FILE_MAX (1024 * 1024)

struct policy;

/* Who wants to start a task. */
struct policy_issue_req {
	uint32_t uid;
	const uint32_t *gids;        /* all of the requester's groups */
	size_t ngids;
	const char *scope;           /* NULL: "default" */
	int key_type;                /* enum wid_key_type */
	uint32_t ttl;                /* seconds */
	const char *user;            /* the requester's user name; NULL: none */
	const char *ssh_principals;  /* comma-separated principals asked for an
	                              * OpenSSH certificate; NULL or "": none */
};

/* Who approves a pending task. */
struct policy_approver {
	uint32_t uid;
	const uint32_t *gids;
	size_t ngids;
};

/* Who wants to sign with a task's key. */
struct policy_use_req {
	uint32_t uid;                /* the caller */
	const uint32_t *gids;
	size_t ngids;
	const char *exe;             /* /proc/PID/exe target; NULL if unknown */
	const char *cgroup;          /* /proc/PID/cgroup v2 path; NULL if unknown */
	const char *task;            /* task id */
	const char *scope;           /* the task's scope; NULL: "default" */
	uint32_t requester_uid;      /* who started the task */
	const char *mech;            /* policy_mech_name() of the mechanism */
	uint64_t sign_count;         /* signatures already made with the task */
	time_t now;
};

struct policy_decision {
	int allow;
	int needs_approval;          /* issue: allowed once approved */
	char rule[POLICY_NAME_MAX + 1];
	char approver_group[POLICY_NAME_MAX + 1];
	char reason[256];
};

/* Loads and checks `path`.  On error returns WID_E_BADARG (or WID_E_IO,
 * WID_E_NOMEM) with "FILE:LINE:COL: message" (1-based) in err. */
int policy_load(const char *path, struct policy **ret_policy,
                char *err, size_t errlen);
struct policy *policy_ref(struct policy *p);
void policy_unref(struct policy *p);     /* NULL is a no-op */
/* Hex SHA-256 of the file bytes (log it at load). */
const char *policy_hash(const struct policy *p);

/* Each returns WID_OK and the decision in *ret, or an error (bad
 * arguments) with *ret cleared. */
int policy_check_issue(const struct policy *p,
                       const struct policy_issue_req *req,
                       struct policy_decision *ret);
int policy_check_use(const struct policy *p, const struct policy_use_req *req,
                     struct policy_decision *ret);
/* Re-evaluates issuance of `req` under p, then: no approval needed: allow;
 * approver == requester: deny; approver outside the rule's group: deny. */
int policy_check_approve(const struct policy *p,
                         const struct policy_issue_req *req,
                         const struct policy_approver *approver,
                         struct policy_decision *ret);

/* Whether every principal in the comma-separated list is in allowed (a
 * NULL-terminated list), or, with allowed NULL, is `user` (the default:
 * a requester gets certificates for its own user name only).  0 when all
 * are, else WID_E_DENIED with the first one refused in bad. */
int policy_principals_check(const char *list, const char *const *allowed,
                            const char *user, char *bad, size_t badlen);

/* Policy name of a PKCS#11 mechanism ("ECDSA_SHA256"), NULL if unknown. */
const char *policy_mech_name(unsigned long ckm);

#endif
