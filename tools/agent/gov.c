/* tools/agent/gov.c: governance inside the agent (see gov.h): policy
 * loading and reload, the audit log, and the decisions plus audit events
 * around task issuance and every signature. */
#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "wid/err.h"
#include "agent.h"
#include "gov.h"
#include "log.h"

#define GIDS_CACHE_NS 1000000000ull

/* ---- small helpers ---- */

void
wid_gov_user_name(uint32_t uid, char *out, size_t n)
{
	struct passwd pw, *res = NULL;
	char buf[1024];

	if (getpwuid_r((uid_t)uid, &pw, buf, sizeof(buf), &res) == 0 &&
	    res != NULL)
		snprintf(out, n, "%s", pw.pw_name);
	else
		snprintf(out, n, "%u", uid);
}

/* "SHA256:<base64>" of the SPKI, like ssh-keygen -l. */
static void
key_fpr(const struct wid_task *t, char *out, size_t n)
{
	uint8_t md[SHA256_DIGEST_LENGTH];
	unsigned char b64[48];
	int len;

	SHA256(t->spki, t->spki_len, md);
	len = EVP_EncodeBlock(b64, md, sizeof(md));
	while (len > 0 && b64[len - 1] == '=')
		len--;
	snprintf(out, n, "SHA256:%.*s", len, b64);
}

static void
ev_caller(struct audit_event *ev, const struct wid_caller *who)
{
	if (who == NULL)
		return;
	ev->executor.uid = who->uid;
	ev->executor.gid = who->gid;
	ev->executor.pid = who->pid;
	ev->executor.exe = who->exe;
	ev->executor.cgroup = who->cgroup;
}

/* Task fields of an event; `user` holds the requester's name. */
static void
ev_task(struct audit_event *ev, const struct wid_task *t, char *user,
        size_t ulen, char *key, size_t klen)
{
	ev->task = t->id;
	ev->requester.uid = t->requester_uid;
	if (user != NULL) {
		wid_gov_user_name(t->requester_uid, user, ulen);
		ev->requester.user = user;
	}
	if (t->requested_by[0] != '\0')
		ev->requester.claimed = t->requested_by;
	if (t->approver_uid != WID_UID_NONE) {
		ev->approver.uid = t->approver_uid;
		ev->approver.user = t->approver;
	}
	if (key != NULL && t->spki_len > 0) {
		key_fpr(t, key, klen);
		ev->key = key;
	}
}

int
wid_gov_emit(struct wid_agent *a, const struct audit_event *ev)
{
	if (a->gov.audit == NULL)
		return 0;
	return audit_emit(a->gov.audit, ev);
}

int
wid_gov_active(const struct wid_agent *a)
{
	return a->gov.policy != NULL || a->gov.audit != NULL;
}

struct policy *
wid_gov_policy(struct wid_agent *a)
{
	struct policy *p = NULL;

	if (!a->gov.lock_up)
		return NULL;
	pthread_mutex_lock(&a->gov.lock);
	if (a->gov.policy != NULL)
		p = policy_ref(a->gov.policy);
	pthread_mutex_unlock(&a->gov.lock);
	return p;
}

void
wid_gov_status(struct wid_agent *a, struct wid_status *st)
{
	struct policy *p = wid_gov_policy(a);
	struct stat sb;

	if (p != NULL)
		snprintf(st->policy_hash, sizeof(st->policy_hash), "%s",
		    policy_hash(p));
	policy_unref(p);
	if (a->gov.audit != NULL) {
		snprintf(st->audit_path, sizeof(st->audit_path), "%s",
		    a->gov.audit_path);
		if (stat(a->gov.audit_path, &sb) == 0)
			st->audit_size = (uint64_t)sb.st_size;
	}
}

/* ---- caller groups ---- */

static size_t
read_gids(uint32_t pid, uint32_t gid, uint32_t *gids, size_t max)
{
	char path[64], *line = NULL, *p, *end;
	size_t cap = 0, n = 0, i;
	unsigned long v;
	FILE *f;

	if (max == 0)
		return 0;
	gids[n++] = gid;
	snprintf(path, sizeof(path), "/proc/%u/status", pid);
	if (pid == 0 || (f = fopen(path, "re")) == NULL)
		return n;
	while (getline(&line, &cap, f) > 0) {
		if (strncmp(line, "Groups:", 7) != 0)
			continue;
		for (p = line + 7; n < max; p = end) {
			errno = 0;
			v = strtoul(p, &end, 10);
			if (end == p || errno != 0 || v >= WID_UID_NONE)
				break;
			for (i = 0; i < n && gids[i] != (uint32_t)v; i++)
				;
			if (i == n)
				gids[n++] = (uint32_t)v;
		}
		break;
	}
	free(line);
	fclose(f);
	return n;
}

size_t
wid_gov_caller_gids(uint32_t pid, uint32_t gid, uint32_t *gids, size_t max)
{
	/* Per thread: the last caller's groups for one second, so a client
	 * signing in a loop does not cost a /proc read per signature. */
	static __thread struct {
		uint32_t pid, gid;
		uint64_t at;
		size_t n;
		uint32_t gids[WID_GOV_GIDS_MAX];
	} cache;
	uint64_t now = wid_now_boot();
	size_t n;

	if (cache.at != 0 && cache.pid == pid && cache.gid == gid &&
	    now - cache.at < GIDS_CACHE_NS && max >= cache.n) {
		memcpy(gids, cache.gids, cache.n * sizeof(*gids));
		return cache.n;
	}
	n = read_gids(pid, gid, cache.gids, WID_GOV_GIDS_MAX);
	cache.pid = pid;
	cache.gid = gid;
	cache.at = now;
	cache.n = n;
	if (n > max)
		n = max;
	memcpy(gids, cache.gids, n * sizeof(*gids));
	return n;
}

/* ---- open, close, reload ---- */

static void
task_gone(void *ctx, const struct wid_task *t, const char *why)
{
	struct wid_agent *a = ctx;
	struct audit_event ev = AUDIT_EVENT_INIT(AUDIT_TASK_ENDED);
	char key[64];

	if (t->state == WID_STATE_EXPIRED)
		ev.type = AUDIT_TASK_EXPIRED;
	else if (t->state == WID_STATE_REVOKED)
		ev.type = AUDIT_TASK_REVOKED;
	ev_task(&ev, t, NULL, 0, key, sizeof(key));
	ev.reason = why;
	if (wid_gov_emit(a, &ev) != 0)
		wid_error("audit: cannot record %s of task %s",
		    audit_event_name(ev.type), t->id);
}

static int
load_audit_key(const char *path, EVP_PKEY **ret, char *err, size_t errlen)
{
	EVP_PKEY *k = NULL;
	FILE *f;

	*ret = NULL;
	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "audit_key %s: %s", path,
		    strerror(errno));
		return WID_E_IO;
	}
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (k == NULL || EVP_PKEY_get_base_id(k) != EVP_PKEY_ED25519) {
		snprintf(err, errlen, "audit_key %s: not a PEM Ed25519 "
		    "private key", path);
		EVP_PKEY_free(k);
		return WID_E_BADARG;
	}
	*ret = k;
	return 0;
}

static void
emit_policy_load(struct wid_agent *a, const struct wid_caller *who,
                 const char *hash, const char *reason, int ok)
{
	struct audit_event ev = AUDIT_EVENT_INIT(AUDIT_POLICY_LOAD);

	ev_caller(&ev, who);
	ev.policy_sha256 = hash;
	ev.decision = ok ? "allow" : "deny";
	ev.reason = reason;
	if (wid_gov_emit(a, &ev) != 0)
		wid_error("audit: cannot record policy-load");
}

int
wid_gov_open(struct wid_agent *a, const struct wid_caller *self,
             char *err, size_t errlen)
{
	struct wid_gov *g = &a->gov;
	const struct wid_config *c = &a->conf;
	struct audit_config cfg;
	struct audit_event start = AUDIT_EVENT_INIT(AUDIT_AGENT_START);
	char why[WID_PATH_MAX + 64];
	int r;

	memset(&cfg, 0, sizeof(cfg));
	err[0] = '\0';
	if (pthread_mutex_init(&g->lock, NULL) != 0) {
		snprintf(err, errlen, "out of memory");
		return WID_E_NOMEM;
	}
	g->lock_up = 1;
	if (c->policy[0] != '\0') {
		snprintf(g->policy_path, sizeof(g->policy_path), "%s",
		    c->policy);
		if ((r = policy_load(g->policy_path, &g->policy, err,
		    errlen)) != 0)
			goto out;
	}
	if (c->audit[0] != '\0') {
		snprintf(g->audit_path, sizeof(g->audit_path), "%s", c->audit);
		cfg.path = g->audit_path;
		cfg.sync = (enum audit_sync)c->audit_sync;
		cfg.checkpoint_every = c->audit_checkpoint_every;
		cfg.syslog = c->syslog;
		if (c->audit_key[0] != '\0' &&
		    (r = load_audit_key(c->audit_key, &cfg.key, err,
		    errlen)) != 0)
			goto out;
		ev_caller(&start, self);
		snprintf(why, sizeof(why), "backend %s, policy %s",
		    a->ops != NULL ? a->ops->name : "?",
		    g->policy_path[0] != '\0' ? g->policy_path : "(none)");
		start.reason = why;
		if ((r = audit_open(&cfg, &start, &g->audit, err,
		    errlen)) != 0)
			goto out;
		wid_info("audit log %s (seq %llu)", g->audit_path,
		    (unsigned long long)audit_seq(g->audit));
	}
	if (g->policy != NULL) {
		wid_info("policy %s loaded (sha256 %s)", g->policy_path,
		    policy_hash(g->policy));
		emit_policy_load(a, self, policy_hash(g->policy),
		    g->policy_path, 1);
	}
	a->tasks.on_gone = task_gone;
	a->tasks.on_gone_ctx = a;
	r = 0;
out:
	EVP_PKEY_free(cfg.key);
	if (r != 0) {
		policy_unref(g->policy);
		g->policy = NULL;
	}
	return r;
}

void
wid_gov_close(struct wid_agent *a, const char *reason)
{
	struct wid_gov *g = &a->gov;

	a->tasks.on_gone = NULL;
	if (g->audit != NULL && audit_close(g->audit, reason) != 0)
		wid_error("audit: cannot record agent-stop");
	g->audit = NULL;
	policy_unref(g->policy);
	g->policy = NULL;
	if (g->lock_up)
		pthread_mutex_destroy(&g->lock);
	g->lock_up = 0;
}

int
wid_gov_reload(struct wid_agent *a, const struct wid_caller *who,
               char *msg, size_t len)
{
	struct wid_gov *g = &a->gov;
	struct policy *p = NULL, *old;
	int r;

	if (g->policy_path[0] == '\0') {
		snprintf(msg, len, "no policy file is configured "
		    "(wid-agent --policy FILE)");
		return WID_E_BADARG;
	}
	if ((r = policy_load(g->policy_path, &p, msg, len)) != 0) {
		wid_error("policy reload failed, keeping the loaded policy: "
		    "%s", msg);
		emit_policy_load(a, who, NULL, msg, 0);
		return r;
	}
	pthread_mutex_lock(&g->lock);
	old = g->policy;
	g->policy = p;
	pthread_mutex_unlock(&g->lock);
	policy_unref(old);
	snprintf(msg, len, "%s", policy_hash(p));
	wid_info("policy %s reloaded (sha256 %s)", g->policy_path, msg);
	emit_policy_load(a, who, msg, g->policy_path, 1);
	return 0;
}

/* ---- issuance ---- */

int
wid_gov_start(struct wid_agent *a, struct wid_start_req *req,
              const struct wid_caller *who, int bind_pidfd,
              struct wid_task *ret_task, char *reason, size_t rlen)
{
	struct audit_event ev = AUDIT_EVENT_INIT(AUDIT_TASK_REQUESTED);
	struct policy_decision d;
	struct policy *p = wid_gov_policy(a);
	uint32_t gids[WID_GOV_GIDS_MAX];
	char user[WID_NAME_MAX + 1], key[64], hint[WID_NAME_MAX + 1];
	char intent[WID_INTENT_MAX + 16];
	const char *principals = (req->flags & WID_START_SSH_CERT) != 0 ?
	    req->principals : NULL;
	int r, started = 0;

	memset(&d, 0, sizeof(d));
	ev_caller(&ev, who);
	ev.requester.uid = who->uid;
	wid_gov_user_name(who->uid, user, sizeof(user));
	ev.requester.user = user;
	if (req->requested_by[0] != '\0')
		ev.requester.claimed = req->requested_by;
	if (req->intent[0] != '\0') {
		snprintf(intent, sizeof(intent), "intent: %s", req->intent);
		ev.reason = intent;
	}
	if (p != NULL) {
		struct policy_issue_req q = {
			.uid = who->uid, .gids = gids,
			.scope = req->scope[0] != '\0' ? req->scope : NULL,
			.key_type = req->key_type, .ttl = req->ttl,
			.user = user, .ssh_principals = principals,
		};

		q.ngids = wid_gov_caller_gids(who->pid, who->gid, gids,
		    WID_GOV_GIDS_MAX);
		if ((r = policy_check_issue(p, &q, &d)) != 0) {
			snprintf(reason, rlen, "policy check failed");
			goto refuse;
		}
	} else
		d.allow = 1;    /* no policy: handlers.c applied the defaults */
	if (!d.allow) {
		ev.task = req->id[0] != '\0' ? req->id : NULL;
		if (wid_gov_emit(a, &ev) == 0) {
			ev.type = AUDIT_TASK_DENIED;
			ev.decision = "deny";
			ev.rule = d.rule;
			ev.reason = d.reason;
			r = wid_gov_emit(a, &ev);
		} else
			r = WID_E_AUDIT;
		snprintf(reason, rlen, "%spolicy rule %s: %s",
		    r != 0 ? "(audit log write failed) " : "",
		    d.rule, d.reason);
		r = r != 0 ? WID_E_AUDIT : WID_E_DENIED;
		goto refuse;
	}
	if (d.needs_approval)
		req->flags |= WID_TASKS_START_PENDING;
	if ((r = wid_tasks_start(&a->tasks, req, who, bind_pidfd,
	    wid_now_boot(), wid_now_wall(), ret_task, reason, rlen)) != 0)
		goto out;
	bind_pidfd = -1;
	started = 1;
	if (d.needs_approval) {
		snprintf(hint, sizeof(hint), "group:%s", d.approver_group);
		wid_tasks_set_approver_hint(&a->tasks, ret_task->id, hint);
		snprintf(ret_task->approver, sizeof(ret_task->approver), "%s",
		    hint);
	}
	ev_task(&ev, ret_task, NULL, 0, key, sizeof(key));
	ev.approver.uid = AUDIT_ID_NONE;
	ev.decision = "allow";
	ev.rule = p != NULL ? d.rule : NULL;
	if (d.needs_approval)
		ev.reason = d.reason;
	if ((r = wid_gov_emit(a, &ev)) != 0)
		goto audit_failed;
	if (!d.needs_approval) {
		ev.type = AUDIT_TASK_STARTED;
		ev.reason = NULL;
		if ((r = wid_gov_emit(a, &ev)) != 0)
			goto audit_failed;
	}
	r = 0;
	goto out;

audit_failed:
	snprintf(reason, rlen, "audit log write failed: task start refused");
	r = WID_E_AUDIT;
	goto out;
refuse:
	if (bind_pidfd >= 0)
		close(bind_pidfd);
out:
	if (r != 0 && started) {
		char why[WID_REASON_MAX + 1];

		/* Nothing runs unrecorded: take the task back. */
		wid_tasks_end(&a->tasks, ret_task->id, who->uid, why,
		    sizeof(why));
		memset(ret_task, 0, sizeof(*ret_task));
	}
	policy_unref(p);
	return r;
}

/* ---- signing ---- */

int
wid_gov_cert_issued(struct wid_agent *a, const struct wid_caller *who,
                    const struct wid_task *t, const char *kind,
                    const char *detail)
{
	struct audit_event ev = AUDIT_EVENT_INIT(AUDIT_CERT_ISSUED);
	char user[64], key[64];

	if (!wid_gov_active(a))
		return 0;
	ev_caller(&ev, who);
	ev_task(&ev, t, user, sizeof(user), key, sizeof(key));
	ev.mech = kind;
	ev.decision = "allow";
	ev.reason = detail;
	return wid_gov_emit(a, &ev) == 0 ? 0 : WID_E_AUDIT;
}

struct record_ctx {
	struct wid_agent *a;
	const struct audit_event *ev;
};

/* The sign-allowed event, written while the task still holds the
 * signature in flight (see struct wid_sign_record).  Nothing is signed
 * unrecorded: on failure the signature never leaves. */
static int
record_sign(void *ctx, char *reason, size_t rlen)
{
	struct record_ctx *c = ctx;

	if (wid_gov_emit(c->a, c->ev) == 0)
		return 0;
	snprintf(reason, rlen, "audit log write failed: signature refused "
	    "(the agent records every signature before it returns one)");
	return WID_E_AUDIT;
}

int
wid_gov_sign(struct wid_agent *a, const struct wid_caller *who,
             const struct wid_sign_req *req, uint8_t *sig, size_t *ret_len,
             char *reason, size_t rlen)
{
	struct audit_event ev = AUDIT_EVENT_INIT(AUDIT_SIGN_DENIED);
	struct policy_decision d;
	struct policy *p = wid_gov_policy(a);
	struct wid_task task;
	uint32_t gids[WID_GOV_GIDS_MAX];
	char key[64], mech_hex[16], rule[POLICY_NAME_MAX + 1];
	char id[WID_TASK_ID_MAX + 1];
	const char *mech;
	struct record_ctx rctx;
	const struct wid_sign_record rec = { record_sign, &rctx };
	int r, have_task;

	*ret_len = 0;
	rule[0] = '\0';
	ev_caller(&ev, who);
	if ((mech = policy_mech_name(req->mechanism)) == NULL) {
		snprintf(mech_hex, sizeof(mech_hex), "0x%lx",
		    (unsigned long)req->mechanism);
		mech = mech_hex;
	}
	ev.mech = mech;
	ev.input = req->data;
	ev.input_len = req->data_len;
	have_task = wid_tasks_get(&a->tasks, who->uid, req->serial, NULL,
	    &task) == 0;
	if (have_task)
		ev_task(&ev, &task, NULL, 0, key, sizeof(key));
	if (have_task && p != NULL) {
		struct policy_use_req q = {
			.uid = who->uid, .gids = gids, .exe = who->exe,
			.cgroup = who->cgroup, .task = task.id,
			.scope = task.scope, .requester_uid = task.requester_uid,
			.mech = mech, .sign_count = task.sign_count,
			.now = time(NULL),
		};

		q.ngids = wid_gov_caller_gids(who->pid, who->gid, gids,
		    WID_GOV_GIDS_MAX);
		if ((r = policy_check_use(p, &q, &d)) != 0) {
			snprintf(reason, rlen, "policy check failed");
			goto denied;
		}
		snprintf(rule, sizeof(rule), "%s", d.rule);
		if (!d.allow) {
			snprintf(reason, rlen, "task %s: policy rule %s: %s",
			    task.id, d.rule, d.reason);
			r = WID_E_DENIED;
			goto denied;
		}
	}
	ev.type = AUDIT_SIGN_ALLOWED;
	ev.decision = "allow";
	ev.rule = rule[0] != '\0' ? rule : NULL;
	rctx.a = a;
	rctx.ev = &ev;
	if ((r = wid_tasks_sign(&a->tasks, who->uid, req, wid_now_boot(),
	    &rec, sig, ret_len, id, reason, rlen)) != 0) {
		if (r == WID_E_AUDIT) {
			wid_error("sign refused: task=%s uid=%u pid=%u: audit "
			    "log write failed", have_task ? task.id : "-",
			    who->uid, who->pid);
			goto out;   /* nothing more can be recorded */
		}
		ev.type = AUDIT_SIGN_DENIED;
		rule[0] = '\0';   /* the task's state decided, not a rule */
		goto denied;
	}
	goto out;

denied:
	ev.decision = "deny";
	ev.rule = rule[0] != '\0' ? rule : NULL;
	ev.reason = reason;
	if (wid_gov_emit(a, &ev) != 0)
		wid_error("audit: cannot record sign-denied");
out:
	policy_unref(p);
	return r;
}
