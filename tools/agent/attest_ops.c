/* tools/agent/attest_ops.c: protocol operations for TPM attestation.
 * ATTEST (task id -> evidence text): TPM2_Certify of the task's key by
 * the TPM's attestation key, made by the TPM backend (tpm_attest.c); the
 * format is in tpm_policy.h and `wid-tool attest verify` checks it.  Only
 * for tasks the caller may see, and only with the tpm backend. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "wid/err.h"
#include "handlers.h"
#include "log.h"
#ifdef WID_HAVE_TPM
#include "tpm.h"
#include "tpm_policy.h"
#endif

#ifdef WID_HAVE_TPM
struct attest_ctx {
	struct wid_agent *a;
	char *out;
	size_t size;
	size_t len;
};

static int
attest_key(void *ctx, void *key, const struct wid_task *task)
{
	struct attest_ctx *c = ctx;

	if (task->backend != WID_BACKEND_TPM)
		return WID_E_UNSUPPORTED;
	return wid_tpm_attest(c->a->bstate, key, task->id, c->out, c->size,
	    &c->len);
}
#endif

int
wid_handle_attest(struct wid_agent *a, const struct wid_caller *who,
                  struct wid_buf *in, struct wid_buf *out)
{
	char id[WID_TASK_ID_MAX + 1], reason[WID_REASON_MAX + 1];
	int r;
#ifdef WID_HAVE_TPM
	static _Thread_local char text[WID_TPM_EVIDENCE_MAX];
	struct attest_ctx c = { .a = a, .out = text, .size = sizeof(text) };
#endif

	if (wid_id_decode(in, id) != 0)
		return WID_E_PROTO;
	reason[0] = '\0';
	if (a->backend_id != WID_BACKEND_TPM) {
		snprintf(reason, sizeof(reason), "attestation needs the tpm "
		    "backend (this agent uses %s)", a->ops->name);
		r = WID_E_UNSUPPORTED;
		goto out;
	}
#ifdef WID_HAVE_TPM
	r = wid_tasks_with_key(&a->tasks, who->uid, id, attest_key, &c,
	    reason, sizeof(reason));
	if (r == WID_E_UNSUPPORTED && reason[0] == '\0')
		snprintf(reason, sizeof(reason), "task %s has no TPM key", id);
	else if (r != WID_OK && reason[0] == '\0')
		snprintf(reason, sizeof(reason), "TPM attestation of task %s "
		    "failed: %s", id, wid_strerror(r));
#else
	r = WID_E_UNSUPPORTED;
#endif
 out:
	if (r != WID_OK) {
		wid_warn("attest denied: task=%s uid=%u pid=%u: %s", id,
		    who->uid, who->pid, reason);
		wid_reply_error(out, WID_OP_ATTEST, (uint16_t)r, reason);
		return 0;
	}
#ifdef WID_HAVE_TPM
	wid_info("attest: task=%s uid=%u pid=%u: %zu bytes of evidence", id,
	    who->uid, who->pid, c.len);
	wid_reply_begin(out, WID_OP_ATTEST, WID_OK);
	wid_put_blob(out, (const uint8_t *)text, c.len);
#endif
	return 0;
}
