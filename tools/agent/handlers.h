/* tools/agent/handlers.h: one function per protocol operation: decode,
 * check, act, encode. */
#ifndef WID_AGENT_HANDLERS_H
#define WID_AGENT_HANDLERS_H

#include <stddef.h>
#include <stdint.h>

#include "wid/buf.h"
#include "agent.h"
#include "tasks.h"

/* Handles one request message (the bytes after the frame length) from
 * `who` (caller_pidfd: a pidfd on who->pid, or -1), writing a framed
 * reply into out (a WID_MSG_MAX-byte buffer).  Returns 0, or non-zero when
 * the connection must be closed after the reply is sent (malformed
 * input). */
int wid_handle(struct wid_agent *a, const struct wid_caller *who,
               int caller_pidfd, const uint8_t *msg, size_t len,
               struct wid_buf *out);

/* 1 when the request (msg, len: as for wid_handle; ssh: an ssh-agent
 * protocol message) is answered from memory in microseconds: listing,
 * status, a certificate, or a signature by a backend that signs in
 * memory with no policy to record it.  Anything else may wait for the
 * disk, the TPM or key generation.  A hint for the server's workers,
 * never a check: a malformed message is "quick" and refused by the
 * handler. */
int wid_handle_quick(const struct wid_agent *a, const uint8_t *msg,
                     size_t len, int ssh);

/* The one signing path, shared by WID_OP_SIGN and the ssh-agent socket
 * (sshagent.c): visibility, state, deadline, counters, and every check
 * or record a signature needs.  On failure logs the denial and writes
 * why into reason. */
int wid_sign_for(struct wid_agent *a, const struct wid_caller *who,
                 const struct wid_sign_req *req, uint8_t sig[WID_SIG_MAX],
                 size_t *ret_len, char *reason, size_t rlen);

/* The same contract, for the operations that live with their subject:
 * governance (approve, deny, policy check and reload: gov_ops.c),
 * certificates (cert_ops.c) and TPM attestation (attest_ops.c).  Each
 * returns 0 with a reply in out (an error reply included), or an
 * enum wid_err for malformed input. */
int wid_handle_gov(struct wid_agent *a, const struct wid_caller *who,
                   uint8_t op, struct wid_buf *in, struct wid_buf *out);
int wid_handle_cert(struct wid_agent *a, const struct wid_caller *who,
                    uint8_t op, struct wid_buf *in, struct wid_buf *out);
/* After TASK_START: issues the certificates req->flags ask for and stores
 * them with the task (setting task->flags); for a task pending approval,
 * checks that the CA can issue them and keeps the request until
 * wid_cert_issue_approved().  On failure the task is ended and reason
 * says why. */
int wid_cert_issue(struct wid_agent *a, const struct wid_caller *who,
                   const struct wid_start_req *req, struct wid_task *task,
                   char *reason, size_t rlen);
/* After a task's approval (who: the approver): issues the certificates its
 * start asked for, as above. */
int wid_cert_issue_approved(struct wid_agent *a, const struct wid_caller *who,
                            struct wid_task *task, char *reason, size_t rlen);
int wid_handle_attest(struct wid_agent *a, const struct wid_caller *who,
                      struct wid_buf *in, struct wid_buf *out);

#endif
