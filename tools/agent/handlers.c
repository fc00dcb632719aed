/* tools/agent/handlers.c: the protocol operations (see handlers.h).  Each
 * handler decodes strictly, checks, acts through the task table and
 * encodes one reply.  Logs name tasks and callers, never key bytes or
 * signed data. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "wid/err.h"
#include "wid/proto.h"
#include "handlers.h"
#include "log.h"
#include "policy.h"

struct list_ctx {
	struct wid_buf *out;
	uint16_t count;
};

/* Bytes wid_task_encode writes for t. */
static size_t
task_enc_len(const struct wid_task *t)
{
	return 2 + strlen(t->id) + 4 + 8 + WID_KEY_ID_LEN + 16 +
	    2 + strlen(t->scope) + 2 + strlen(t->requested_by) +
	    2 + strlen(t->approver) + 2 + strlen(t->intent) + 24 +
	    2 + t->spki_len;
}

static int
list_cb(void *ctx, const struct wid_task *t)
{
	struct list_ctx *lc = ctx;
	struct wid_buf *b = lc->out;

	/* Keep room for the u64 cursor that ends the reply. */
	if (lc->count == WID_LIST_MAX ||
	    b->cap - b->len < task_enc_len(t) + 8)
		return 1;
	wid_task_encode(b, t);
	lc->count++;
	return 0;
}

static int
op_list(struct wid_agent *a, const struct wid_caller *who,
        struct wid_buf *in, struct wid_buf *out)
{
	struct wid_list_req req;
	struct list_ctx lc = { .out = out };
	uint64_t next;
	size_t count_pos;

	if (wid_list_req_decode(in, &req) != 0)
		return WID_E_PROTO;
	wid_reply_begin(out, WID_OP_LIST, WID_OK);
	count_pos = out->len;
	wid_put_u16(out, 0);          /* patched below */
	wid_tasks_list(&a->tasks, who->uid, req.task, req.cursor, list_cb,
	    &lc, &next);
	out->data[count_pos] = (uint8_t)(lc.count >> 8);
	out->data[count_pos + 1] = (uint8_t)lc.count;
	wid_put_u64(out, next);
	return 0;
}

static void
log_denied_sign(const struct wid_caller *who, const struct wid_sign_req *req,
                const char *id, int err, const char *reason)
{
	wid_warn("sign denied: task=%s serial=%llu uid=%u pid=%u exe=%s "
	    "alg=%u mechanism=0x%lx: %s (%s)", id[0] != '\0' ? id : "-",
	    (unsigned long long)req->serial, who->uid, who->pid,
	    who->exe != NULL ? who->exe : "?", req->alg,
	    (unsigned long)req->mechanism, wid_strerror(err), reason);
}

int
wid_sign_for(struct wid_agent *a, const struct wid_caller *who,
             const struct wid_sign_req *req, uint8_t sig[WID_SIG_MAX],
             size_t *ret_len, char *reason, size_t rlen)
{
	char id[WID_TASK_ID_MAX + 1];
	int r;

	reason[0] = '\0';
	id[0] = '\0';
	if (wid_gov_active(a))   /* policy, audit: gov.c */
		r = wid_gov_sign(a, who, req, sig, ret_len, reason, rlen);
	else
		r = wid_tasks_sign(&a->tasks, who->uid, req, wid_now_boot(),
		    NULL, sig, ret_len, id, reason, rlen);
	if (r != 0)
		log_denied_sign(who, req, id, r, reason);
	return r;
}

static int
op_sign(struct wid_agent *a, const struct wid_caller *who,
        struct wid_buf *in, struct wid_buf *out)
{
	struct wid_sign_req req;
	uint8_t sig[WID_SIG_MAX];
	char reason[WID_REASON_MAX + 1];
	size_t len = 0;
	int r;

	if (wid_sign_req_decode(in, &req) != 0)
		return WID_E_PROTO;
	r = wid_sign_for(a, who, &req, sig, &len, reason, sizeof(reason));
	if (r != 0) {
		wid_reply_error(out, WID_OP_SIGN, (uint16_t)r, reason);
	} else {
		wid_reply_begin(out, WID_OP_SIGN, WID_OK);
		wid_put_blob(out, sig, len);
	}
	OPENSSL_cleanse(sig, sizeof(sig));
	return 0;
}

/* Without a policy, root and the agent's user (who own the CA) choose the
 * principals of an OpenSSH certificate; anyone else gets certificates for
 * their own user name only: sshd lets a certificate in as any account it
 * names.  With a policy, its issue rule decides (ssh_principals).  0 with
 * the reason when refused. */
static int
default_principals_ok(struct wid_agent *a, const struct wid_caller *who,
                      const struct wid_start_req *req, char *reason,
                      size_t rlen)
{
	struct policy *p;
	char user[WID_NAME_MAX + 1], bad[WID_NAME_MAX + 1];

	if ((req->flags & WID_START_SSH_CERT) == 0 || who->uid == 0 ||
	    who->uid == a->uid)
		return 1;
	if ((p = wid_gov_policy(a)) != NULL) {
		policy_unref(p);
		return 1;
	}
	wid_gov_user_name(who->uid, user, sizeof(user));
	if (policy_principals_check(req->principals, NULL, user, bad,
	    sizeof(bad)) == 0)
		return 1;
	snprintf(reason, rlen, "OpenSSH certificate principal '%.64s' not "
	    "allowed: without a policy, uid %u gets certificates for its own "
	    "user name (%.64s) only", bad, who->uid, user);
	return 0;
}

static int
op_start(struct wid_agent *a, const struct wid_caller *who, int caller_pidfd,
         struct wid_buf *in, struct wid_buf *out)
{
	struct wid_start_req req;
	struct wid_task task;
	char reason[WID_REASON_MAX + 1];
	int r, pidfd = -1;

	if (wid_start_req_decode(in, &req) != 0)
		return WID_E_PROTO;
	reason[0] = '\0';
	if (!wid_config_key_type_allowed(&a->conf, req.key_type)) {
		snprintf(reason, sizeof(reason), "key type %s is not allowed "
		    "by the agent configuration",
		    wid_key_type_name(req.key_type));
		r = WID_E_DENIED;
	} else if (a->backend_id == WID_BACKEND_TPM &&
	    req.key_type == WID_KEY_ED25519) {
		snprintf(reason, sizeof(reason), "the TPM backend cannot hold "
		    "Ed25519 keys (TPM 2.0 has no Ed25519); use --key ec-p256");
		r = WID_E_UNSUPPORTED;
	} else if (req.ttl > a->conf.max_ttl) {
		snprintf(reason, sizeof(reason), "ttl %us is longer than "
		    "max_ttl %us", req.ttl, a->conf.max_ttl);
		r = WID_E_LIMIT;
	} else if (req.executor_uid != WID_UID_NONE &&
	    req.executor_uid != who->uid && who->uid != 0) {
		snprintf(reason, sizeof(reason), "only root may start a task "
		    "for another uid (%u)", req.executor_uid);
		r = WID_E_DENIED;
	} else if ((req.flags & WID_START_BIND_CALLER) != 0 &&
	    (caller_pidfd < 0 ||
	    (pidfd = fcntl(caller_pidfd, F_DUPFD_CLOEXEC, 3)) < 0)) {
		snprintf(reason, sizeof(reason), "cannot bind to the calling "
		    "process %u", who->pid);
		r = WID_E_INTERNAL;
	} else if (!default_principals_ok(a, who, &req, reason,
	    sizeof(reason))) {
		r = WID_E_DENIED;
	} else if (wid_gov_active(a))   /* policy, audit: gov.c */
		r = wid_gov_start(a, &req, who, pidfd, &task, reason,
		    sizeof(reason));
	else
		r = wid_tasks_start(&a->tasks, &req, who, pidfd,
		    wid_now_boot(), wid_now_wall(), &task, reason,
		    sizeof(reason));
	if (r == 0)
		r = wid_cert_issue(a, who, &req, &task, reason,
		    sizeof(reason));
	if (r != 0) {
		wid_warn("task start denied: id=%s key=%s ttl=%u uid=%u "
		    "pid=%u: %s", req.id[0] != '\0' ? req.id : "-",
		    wid_key_type_name(req.key_type), req.ttl, who->uid,
		    who->pid, reason[0] != '\0' ? reason : wid_strerror(r));
		wid_reply_error(out, WID_OP_TASK_START, (uint16_t)r,
		    reason[0] != '\0' ? reason : NULL);
		return 0;
	}
	wid_reply_begin(out, WID_OP_TASK_START, WID_OK);
	wid_task_encode(out, &task);
	return 0;
}

static int
op_end(struct wid_agent *a, const struct wid_caller *who,
       struct wid_buf *in, struct wid_buf *out)
{
	char id[WID_TASK_ID_MAX + 1], reason[WID_REASON_MAX + 1];
	int r;

	if (wid_id_decode(in, id) != 0)
		return WID_E_PROTO;
	if ((r = wid_tasks_end(&a->tasks, id, who->uid, reason,
	    sizeof(reason))) != 0) {
		wid_reply_error(out, WID_OP_TASK_END, (uint16_t)r, reason);
		return 0;
	}
	wid_reply_begin(out, WID_OP_TASK_END, WID_OK);
	return 0;
}

static int
op_status(struct wid_agent *a, struct wid_buf *in, struct wid_buf *out)
{
	struct wid_status st;

	if (wid_get_end(in) != 0)
		return WID_E_PROTO;
	memset(&st, 0, sizeof(st));
	snprintf(st.version, sizeof(st.version), "%s", PACKAGE_VERSION);
	st.backend = a->backend_id;
	st.tpm = a->backend_id == WID_BACKEND_TPM;
	wid_tasks_counts(&a->tasks, &st.tasks_active, &st.tasks_pending);
	st.uid = a->uid;
	st.pid = a->pid;
	st.started = a->started;
	wid_gov_status(a, &st);
	wid_reply_begin(out, WID_OP_STATUS, WID_OK);
	wid_status_encode(out, &st);
	return 0;
}

int
wid_handle_quick(const struct wid_agent *a, const uint8_t *msg, size_t len,
                 int ssh)
{
	if (wid_gov_active(a) || !a->tasks.ops->sign_in_memory)
		return 0;
	if (ssh)   /* lists and signs; everything else is refused */
		return 1;
	if (len < 2)
		return 1;
	switch (msg[1]) {   /* the op byte: wid_req_decode_hdr */
	case WID_OP_LIST:
	case WID_OP_SIGN:
	case WID_OP_STATUS:
	case WID_OP_CERT_GET:
		return 1;
	default:
		return 0;
	}
}

int
wid_handle(struct wid_agent *a, const struct wid_caller *who,
           int caller_pidfd, const uint8_t *msg, size_t len,
           struct wid_buf *out)
{
	struct wid_buf in;
	uint8_t op = 0;
	int r;

	wid_buf_reader(&in, msg, len);
	if ((r = wid_req_decode_hdr(&in, &op)) != 0) {
		/* Answer under the op byte the client sent, if any. */
		op = len > 1 ? msg[1] : 0;
		goto bad;
	}
	switch (op) {
	case WID_OP_LIST:
		r = op_list(a, who, &in, out);
		break;
	case WID_OP_SIGN:
		r = op_sign(a, who, &in, out);
		break;
	case WID_OP_TASK_START:
		r = op_start(a, who, caller_pidfd, &in, out);
		break;
	case WID_OP_TASK_END:
		r = op_end(a, who, &in, out);
		break;
	case WID_OP_STATUS:
		r = op_status(a, &in, out);
		break;
	case WID_OP_TASK_APPROVE:
	case WID_OP_TASK_DENY:
	case WID_OP_POLICY_CHECK:
	case WID_OP_POLICY_RELOAD:
		r = wid_handle_gov(a, who, op, &in, out);
		break;
	case WID_OP_CERT_GET:
	case WID_OP_CA_INIT:
		r = wid_handle_cert(a, who, op, &in, out);
		break;
	case WID_OP_ATTEST:
		r = wid_handle_attest(a, who, &in, out);
		break;
	default:
		r = WID_E_PROTO;
		break;
	}
	if (r == 0 && out->err == 0)
		return 0;
	if (r == 0) {
		/* An encoder overflowed: a bug, not the client's fault. */
		wid_error("reply to %s does not fit", wid_op_name(op));
		wid_reply_error(out, op, WID_E_INTERNAL, NULL);
		return 0;
	}
bad:
	wid_warn("malformed %s request from uid=%u pid=%u: closing",
	    wid_op_name(op), who->uid, who->pid);
	wid_reply_error(out, op, (uint16_t)r,
	    r == WID_E_VERSION ? "protocol version not supported" :
	    "malformed request");
	return 1;
}
