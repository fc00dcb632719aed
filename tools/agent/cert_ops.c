/* tools/agent/cert_ops.c: protocol operations for certificates: CA_INIT
 * (create the agent's CA keys), CERT_GET (a task's certificates and the
 * CA's public parts), and the issuance that follows TASK_START when the
 * request asks for certificates.  Every issued certificate is logged as an
 * event (task, serial, kind, validity, principals, requester). */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wid/err.h"
#include "ca.h"
#include "gov.h"
#include "handlers.h"
#include "log.h"

static pthread_mutex_t ca_lock = PTHREAD_MUTEX_INITIALIZER;

/* The agent's CA object (without keys until CA_INIT), created once. */
static struct wid_ca *
get_ca(struct wid_agent *a)
{
	char host[65];
	struct wid_ca *ca;

	pthread_mutex_lock(&ca_lock);
	if (a->ca == NULL) {
		if (gethostname(host, sizeof(host)) != 0)
			host[0] = '\0';
		host[sizeof(host) - 1] = '\0';
		if (wid_ca_new(host, a->conf.x509_uri, a->ops, a->bstate,
		    wid_now_wall(), &a->ca) != 0)
			a->ca = NULL;
	}
	ca = a->ca;
	pthread_mutex_unlock(&ca_lock);
	return ca;
}

void
wid_cert_fini(struct wid_agent *a)
{
	pthread_mutex_lock(&ca_lock);
	wid_ca_free(a->ca);
	a->ca = NULL;
	pthread_mutex_unlock(&ca_lock);
}

/* Logs and audits a certificate; non-zero when the audit log cannot
 * record it (then it is not handed out). */
static int
record_issued(struct wid_agent *a, const char *kind, const struct wid_task *t,
              const char *principals, const struct wid_caller *who)
{
	char from[32], to[32], detail[WID_PRINCIPALS_MAX + 96];

	wid_fmt_time(t->created, from);
	wid_fmt_time(t->expires, to);
	snprintf(detail, sizeof(detail), "valid %s..%s principals %s", from,
	    to, principals != NULL ? principals : "-");
	wid_info("certificate issued: kind=%s task=%s serial=%llu %s "
	    "requester_uid=%u pid=%u", kind, t->id,
	    (unsigned long long)t->serial, detail, t->requester_uid, who->pid);
	return wid_gov_cert_issued(a, who, t, kind, detail);
}

/* No half-made task: the caller asked for a certified key (r: why not). */
static void
end_uncertified(struct wid_agent *a, const struct wid_task *task, int r,
                char *reason, size_t rlen)
{
	wid_tasks_end_serial(&a->tasks, task->serial, WID_STATE_ENDED,
	    "(certificate not issued)");
	if (reason[0] == '\0')
		snprintf(reason, rlen, "certificate not issued: %s",
		    wid_strerror(r));
}

/* Issues the certificates `flags` name for the task and stores them; on
 * failure ends the task. */
static int
issue(struct wid_agent *a, const struct wid_caller *who, uint8_t flags,
      const char *principals, struct wid_task *task, char *reason,
      size_t rlen)
{
	char *line = NULL;
	uint8_t *der = NULL;
	size_t der_len = 0;
	struct wid_ca *ca;
	int r;

	reason[0] = '\0';
	if ((ca = get_ca(a)) == NULL) {
		r = WID_E_NOMEM;
		goto out;
	}
	if ((flags & WID_START_SSH_CERT) != 0) {
		if ((line = malloc(WID_SSH_CERT_LINE_MAX)) == NULL) {
			r = WID_E_NOMEM;
			goto out;
		}
		if ((r = wid_ca_issue_ssh(ca, task, principals, line,
		    WID_SSH_CERT_LINE_MAX, reason, rlen)) != 0)
			goto out;
	}
	if ((flags & WID_START_X509) != 0) {
		if ((der = malloc(WID_CERT_MAX)) == NULL) {
			r = WID_E_NOMEM;
			goto out;
		}
		if ((r = wid_ca_issue_x509(ca, task, der, WID_CERT_MAX,
		    &der_len, reason, rlen)) != 0)
			goto out;
	}
	if ((r = wid_tasks_set_certs(&a->tasks, task->serial, line, der,
	    der_len)) != 0) {
		snprintf(reason, rlen, "task %s ended before its certificate "
		    "was stored", task->id);
		goto out;
	}
	if ((line != NULL && (r = record_issued(a, "openssh", task,
	    principals, who)) != 0) ||
	    (der != NULL && (r = record_issued(a, "x509", task, NULL,
	    who)) != 0)) {
		snprintf(reason, rlen, "audit log write failed: certificate "
		    "refused");
		goto out;
	}
	if (line != NULL)
		task->flags |= WID_TASK_HAS_SSH_CERT;
	if (der != NULL)
		task->flags |= WID_TASK_HAS_X509;
	r = 0;
out:
	if (r != 0)
		end_uncertified(a, task, r, reason, rlen);
	free(line);
	free(der);
	return r;
}

/* The CA bits the flags need that the CA does not have: 0 when it can. */
static unsigned
ca_missing(struct wid_ca *ca, uint8_t flags)
{
	unsigned need = ((flags & WID_START_SSH_CERT) != 0 ? WID_CA_SSH : 0) |
	    ((flags & WID_START_X509) != 0 ? WID_CA_X509 : 0);

	return need & ~wid_ca_bits(ca);
}

int
wid_cert_issue(struct wid_agent *a, const struct wid_caller *who,
               const struct wid_start_req *req, struct wid_task *task,
               char *reason, size_t rlen)
{
	uint8_t flags = req->flags & (WID_START_SSH_CERT | WID_START_X509);
	struct wid_ca *ca;
	unsigned missing;
	int r;

	if (flags == 0)
		return 0;
	if (task->state != WID_STATE_PENDING)
		return issue(a, who, flags, req->principals, task, reason,
		    rlen);
	/* Pending: nothing is certified before the approval, but a CA that
	 * could not issue then is a refusal now. */
	reason[0] = '\0';
	if ((ca = get_ca(a)) == NULL)
		r = WID_E_NOMEM;
	else if ((missing = ca_missing(ca, flags)) != 0)
		r = wid_ca_missing(missing, reason, rlen);
	else
		r = wid_tasks_defer_certs(&a->tasks, task->serial, flags,
		    req->principals);
	if (r != 0)
		end_uncertified(a, task, r, reason, rlen);
	return r;
}

int
wid_cert_issue_approved(struct wid_agent *a, const struct wid_caller *who,
                        struct wid_task *task, char *reason, size_t rlen)
{
	char principals[WID_PRINCIPALS_MAX + 1];
	uint8_t flags;
	int r;

	if ((r = wid_tasks_take_certs(&a->tasks, task->serial, &flags,
	    principals)) != 0 || flags == 0)
		return 0;   /* gone meanwhile, or nothing asked */
	return issue(a, who, flags, principals, task, reason, rlen);
}

static int
op_ca_init(struct wid_agent *a, const struct wid_caller *who,
           struct wid_buf *in, struct wid_buf *out)
{
	struct wid_ca *ca;
	unsigned created = 0;
	uint8_t bits;
	int r;

	if (wid_get_u8(in, &bits) != 0 || wid_get_end(in) != 0 ||
	    bits == 0 || (bits & ~(WID_CA_SSH | WID_CA_X509)) != 0)
		return WID_E_PROTO;
	/* The CA key outlives every task: only the agent's own user and
	 * root may create it (policy may widen this later). */
	if (who->uid != a->uid && who->uid != 0) {
		wid_warn("CA init denied: uid=%u pid=%u", who->uid, who->pid);
		wid_reply_error(out, WID_OP_CA_INIT, WID_E_DENIED,
		    "only the agent's user and root may create the CA");
		return 0;
	}
	if ((ca = get_ca(a)) == NULL) {
		wid_reply_error(out, WID_OP_CA_INIT, WID_E_NOMEM, NULL);
		return 0;
	}
	if ((r = wid_ca_init(ca, bits, wid_now_wall(), &created)) != 0) {
		char why[96];

		wid_error("CA init failed: %s", wid_strerror(r));
		snprintf(why, sizeof(why), "cannot create or load the CA keys "
		    "in the %s backend (the agent's log says why)",
		    a->ops->name);
		wid_reply_error(out, WID_OP_CA_INIT, (uint16_t)r, why);
		return 0;
	}
	if ((created & WID_CA_SSH) != 0)
		wid_info("CA created: kind=openssh key=%s backend=%s by uid=%u "
		    "pid=%u", a->backend_id == WID_BACKEND_TPM ? "ec-p256" :
		    "ed25519", a->ops->name, who->uid, who->pid);
	if ((created & WID_CA_X509) != 0)
		wid_info("CA created: kind=x509 key=ec-p256 days=%d backend=%s "
		    "by uid=%u pid=%u", WID_CA_X509_DAYS, a->ops->name,
		    who->uid, who->pid);
	wid_reply_begin(out, WID_OP_CA_INIT, WID_OK);
	return 0;
}

static int
op_cert_get(struct wid_agent *a, const struct wid_caller *who,
            struct wid_buf *in, struct wid_buf *out)
{
	struct wid_cert_req req;
	struct wid_ca *ca;
	char reason[WID_REASON_MAX + 1];
	uint8_t *blob = NULL;
	size_t len = 0;
	int r;

	if (wid_cert_req_decode(in, &req) != 0)
		return WID_E_PROTO;
	reason[0] = '\0';
	if ((blob = malloc(WID_BLOB_MAX)) == NULL ||
	    (ca = get_ca(a)) == NULL) {
		r = WID_E_NOMEM;
		goto out;
	}
	switch (req.kind) {
	case WID_CERT_CA_SSH:
		if ((r = wid_ca_ssh_pubkey(ca, (char *)blob, WID_BLOB_MAX)) ==
		    0)
			len = strlen((char *)blob);
		else if (r == WID_E_UNSUPPORTED)
			snprintf(reason, sizeof(reason), "no OpenSSH CA: run "
			    "'wid-tool ca init --ssh'");
		break;
	case WID_CERT_CA_X509:
		if ((r = wid_ca_x509_der(ca, blob, WID_BLOB_MAX, &len)) ==
		    WID_E_UNSUPPORTED)
			snprintf(reason, sizeof(reason), "no X.509 CA: run "
			    "'wid-tool ca init --x509'");
		break;
	default:
		r = wid_tasks_cert(&a->tasks, who->uid, req.id, req.kind,
		    blob, WID_BLOB_MAX, &len, reason, sizeof(reason));
		break;
	}
out:
	if (r != 0)
		wid_reply_error(out, WID_OP_CERT_GET, (uint16_t)r,
		    reason[0] != '\0' ? reason : NULL);
	else {
		wid_reply_begin(out, WID_OP_CERT_GET, WID_OK);
		wid_put_blob(out, blob, len);
	}
	free(blob);
	return 0;
}

int
wid_handle_cert(struct wid_agent *a, const struct wid_caller *who,
                uint8_t op, struct wid_buf *in, struct wid_buf *out)
{
	return op == WID_OP_CA_INIT ? op_ca_init(a, who, in, out) :
	    op_cert_get(a, who, in, out);
}
