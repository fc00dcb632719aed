/* tools/agent/tasks.h: the task table.  Tasks are found in O(1) by id and
 * by key serial, expire at a CLOCK_BOOTTIME deadline (one timerfd armed at
 * the nearest one, a min-heap behind it), may be bound to a process
 * (pidfd), and own one backend key each.
 *
 * Locking: one rwlock guards the table.  Signing happens outside it on a
 * reference; the key is destroyed when the last reference goes.
 * Time: every entry point takes `now` (CLOCK_BOOTTIME ns, and unix seconds
 * where a wall time is recorded) so tests can drive a fake clock. */
#ifndef WID_AGENT_TASKS_H
#define WID_AGENT_TASKS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "wid/proto.h"
#include "backend.h"

#define WID_TASKS_MAX 65536

/* epoll data.u64 of a bound task's pidfd: (serial << WID_EV_SHIFT) | WID_EV_BIND.
 * Serials never repeat, so a late event for an ended task finds nothing. */
#define WID_EV_SHIFT 4
#define WID_EV_BIND 1u

/* Internal TASK_START flag, set by the agent after its policy check (the
 * protocol decoder rejects it on the wire): the task starts pending. */
#define WID_TASKS_START_PENDING 0x80u

/* Who is asking, as the kernel says (exe and cgroup are hints). */
struct wid_caller {
	uint32_t uid;
	uint32_t gid;
	uint32_t pid;
	const char *exe;     /* NULL when unknown */
	const char *cgroup;  /* NULL when unknown */
};

struct wid_atask;

struct wid_tasks {
	pthread_rwlock_t lock;
	const struct wid_backend_ops *ops;
	void *bstate;
	uint8_t backend_id;
	struct wid_atask **by_id;      /* chained, nbuckets */
	struct wid_atask **by_serial;  /* chained, nbuckets */
	size_t nbuckets;               /* power of two */
	size_t count;
	size_t pending;                /* of count, awaiting approval */
	struct wid_atask *head, *tail; /* serial (= creation) order */
	struct wid_atask **heap;       /* min-heap on deadline */
	size_t heap_len, heap_cap;
	uint64_t next_serial;
	uint64_t seed;                 /* id hash seed */
	uint64_t armed;                /* deadline the timer is armed for */
	int timerfd;                   /* CLOCK_BOOTTIME */
	int epfd;                      /* -1: bound pidfds are not watched */
	size_t max_tasks;
	/* Called (outside the lock) once per task leaving the table, with
	 * its final state (ended, expired, revoked); NULL: none. */
	void (*on_gone)(void *ctx, const struct wid_task *task,
	    const char *why);
	void *on_gone_ctx;
};

int wid_tasks_init(struct wid_tasks *t, const struct wid_backend_ops *ops,
                   void *bstate, uint8_t backend_id);
/* Ends every task (destroying its key) and frees the table. */
void wid_tasks_fini(struct wid_tasks *t);
void wid_tasks_set_epoll(struct wid_tasks *t, int epfd);
int wid_tasks_timerfd(const struct wid_tasks *t);

/* Creates a task and its key.  bind_pidfd (-1 for none) is owned by the
 * table from here on, also on failure.  *ret_task receives a snapshot. */
int wid_tasks_start(struct wid_tasks *t, const struct wid_start_req *req,
                    const struct wid_caller *who, int bind_pidfd,
                    uint64_t now_boot, int64_t now_wall,
                    struct wid_task *ret_task, char *reason, size_t rlen);
/* Ends a task the caller requested or executes; WID_E_NOTASK otherwise. */
int wid_tasks_end(struct wid_tasks *t, const char *id, uint32_t uid,
                  char *reason, size_t rlen);
/* Ends a task by serial with `state` (bound process exit); 0 if found. */
int wid_tasks_end_serial(struct wid_tasks *t, uint64_t serial, int state,
                         const char *why);
/* Expires every task whose deadline is <= now, re-arms the timer; returns
 * how many expired. */
size_t wid_tasks_expire(struct wid_tasks *t, uint64_t now_boot);

/* Called after a signature is made and before the task's reference is
 * dropped, so that ending the task (which waits for signatures in flight)
 * cannot be recorded before it: the audit log sees every signature before
 * its task's end.  Non-zero (an enum wid_err, reason written) withdraws
 * the signature. */
struct wid_sign_record {
	int (*fn)(void *ctx, char *reason, size_t rlen);
	void *ctx;
};

/* Signs with the key of task `req->serial` if visible to uid, active and
 * not past its deadline; then calls rec (may be NULL).  On failure reason
 * says why (for the reply) and ret_id the task id when one was found (for
 * the log). */
int wid_tasks_sign(struct wid_tasks *t, uint32_t uid,
                   const struct wid_sign_req *req, uint64_t now_boot,
                   const struct wid_sign_record *rec,
                   uint8_t *sig, size_t *ret_len,
                   char ret_id[WID_TASK_ID_MAX + 1], char *reason,
                   size_t rlen);

/* Certificates issued for a task's key (either may be NULL): stored with
 * the task, gone with it; sets WID_TASK_HAS_* in its flags. */
int wid_tasks_set_certs(struct wid_tasks *t, uint64_t serial,
                        const char *ssh_cert, const uint8_t *x509,
                        size_t x509_len);
/* A pending task's certificate request (WID_START_SSH_CERT / _X509 flags
 * and the comma-separated principals), kept until its approval issues the
 * certificates; take removes it (*ret_flags 0: none was kept). */
int wid_tasks_defer_certs(struct wid_tasks *t, uint64_t serial, uint8_t flags,
                          const char *principals);
int wid_tasks_take_certs(struct wid_tasks *t, uint64_t serial,
                         uint8_t *ret_flags,
                         char principals[WID_PRINCIPALS_MAX + 1]);
/* Copies a task's certificate (kind WID_CERT_SSH: the line without NUL,
 * WID_CERT_X509_DER: DER) into out if the task is visible to uid (or uid
 * requested it).  WID_E_NOTASK with a reason when there is none. */
int wid_tasks_cert(struct wid_tasks *t, uint32_t uid, const char *id,
                   int kind, uint8_t *out, size_t size, size_t *ret_len,
                   char *reason, size_t rlen);

/* Calls cb on each task visible to uid, in serial order from cursor (or
 * only task `id` when non-empty), until cb returns non-zero; *ret_next is
 * the serial of the first task not returned (0: done).  Under the read
 * lock: cb must not call back into the table. */
typedef int (*wid_tasks_cb)(void *ctx, const struct wid_task *task);
int wid_tasks_list(struct wid_tasks *t, uint32_t uid, const char *id,
                   uint64_t cursor, wid_tasks_cb cb, void *ctx,
                   uint64_t *ret_next);
void wid_tasks_counts(struct wid_tasks *t, uint32_t *ret_active,
                      uint32_t *ret_pending);

/* A snapshot of one task by id (id non-NULL) or by serial; uid
 * WID_UID_NONE skips the visibility rule.  WID_E_NOTASK when absent. */
int wid_tasks_get(struct wid_tasks *t, uint32_t uid, uint64_t serial,
                  const char *id, struct wid_task *ret_task);
/* Approval: a pending task becomes active (approve) with its approver
 * recorded, or is revoked and its key destroyed (deny).  WID_E_NOTASK
 * when absent, WID_E_BADARG (reason set) when it is not pending. */
int wid_tasks_decide(struct wid_tasks *t, const char *id, int approve,
                     uint32_t approver_uid, const char *approver,
                     struct wid_task *ret_task, char *reason, size_t rlen);
/* While a task is pending, its `approver` text says who may approve. */
void wid_tasks_set_approver_hint(struct wid_tasks *t, const char *id,
                                 const char *text);

/* Calls fn(ctx, key, snapshot) with the backend key of active task `id`
 * visible to uid, holding a reference (outside the lock), and returns what
 * fn returns; WID_E_NOTASK or WID_E_ENDED with a reason otherwise. */
typedef int (*wid_tasks_key_fn)(void *ctx, void *key,
                                const struct wid_task *task);
int wid_tasks_with_key(struct wid_tasks *t, uint32_t uid, const char *id,
                       wid_tasks_key_fn fn, void *ctx, char *reason,
                       size_t rlen);

/* The visibility rule: caller uid == executor (requester when NONE). */
int wid_task_visible(const struct wid_task *task, uint32_t uid);

/* "2026-11-28T16:00:00Z" */
void wid_fmt_time(int64_t unix_secs, char out[32]);

#endif
