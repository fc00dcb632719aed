/* tools/agent/gov_ops.c: protocol operations for approval (TASK_APPROVE,
 * TASK_DENY), POLICY_CHECK and POLICY_RELOAD.  Identities are the
 * kernel's: the approver is the caller's uid, never a claim. */
#include "config.h"

#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "wid/err.h"
#include "agent.h"
#include "gov.h"
#include "handlers.h"
#include "log.h"

/* Groups of a uid from the group database (the requester of a pending
 * task is usually not the caller). */
static size_t
db_gids(uint32_t uid, uint32_t *gids, size_t max)
{
	struct passwd pw, *res = NULL;
	char buf[1024];
	gid_t g[WID_GOV_GIDS_MAX];
	int ng = WID_GOV_GIDS_MAX, i;
	size_t n = 0;

	if (getpwuid_r((uid_t)uid, &pw, buf, sizeof(buf), &res) != 0 ||
	    res == NULL)
		return 0;
	if (getgrouplist(pw.pw_name, pw.pw_gid, g, &ng) < 0)
		ng = WID_GOV_GIDS_MAX;
	for (i = 0; i < ng && (size_t)i < max; i++)
		gids[n++] = (uint32_t)g[i];
	return n;
}

static int
op_decide(struct wid_agent *a, const struct wid_caller *who, uint8_t op,
          struct wid_buf *in, struct wid_buf *out)
{
	struct audit_event ev = AUDIT_EVENT_INIT(op == WID_OP_TASK_APPROVE ?
	    AUDIT_TASK_APPROVED : AUDIT_TASK_DENIED);
	struct wid_id_text_req req;
	struct wid_task task;
	struct policy_decision d;
	struct policy *p = NULL;
	uint32_t rgids[WID_GOV_GIDS_MAX], agids[WID_GOV_GIDS_MAX];
	char reason[WID_REASON_MAX + 1], approver[WID_NAME_MAX + 1];
	char requester[WID_NAME_MAX + 1];
	int r, approve = op == WID_OP_TASK_APPROVE;

	if (wid_id_text_req_decode(in, &req) != 0)
		return WID_E_PROTO;
	reason[0] = '\0';
	if (wid_tasks_get(&a->tasks, WID_UID_NONE, 0, req.id, &task) != 0) {
		snprintf(reason, sizeof(reason), "no task %s", req.id);
		r = WID_E_NOTASK;
		goto out;
	}
	if (task.state != WID_STATE_PENDING) {
		snprintf(reason, sizeof(reason), "task %s is %s, not waiting "
		    "for approval", task.id, wid_state_name(task.state));
		r = WID_E_BADARG;
		goto out;
	}
	if ((p = wid_gov_policy(a)) == NULL) {
		snprintf(reason, sizeof(reason), "no policy is loaded");
		r = WID_E_DENIED;
		goto out;
	}
	{
		struct policy_issue_req q = {
			.uid = task.requester_uid, .gids = rgids,
			.scope = task.scope, .key_type = task.key_type,
			.ttl = (uint32_t)(task.expires - task.created),
		};
		struct policy_approver ap = { .uid = who->uid, .gids = agids };

		q.ngids = db_gids(task.requester_uid, rgids, WID_GOV_GIDS_MAX);
		ap.ngids = wid_gov_caller_gids(who->pid, who->gid, agids,
		    WID_GOV_GIDS_MAX);
		if ((r = policy_check_approve(p, &q, &ap, &d)) != 0) {
			snprintf(reason, sizeof(reason), "policy check failed");
			goto out;
		}
	}
	wid_gov_user_name(who->uid, approver, sizeof(approver));
	wid_gov_user_name(task.requester_uid, requester, sizeof(requester));
	ev.task = task.id;
	ev.requester.uid = task.requester_uid;
	ev.requester.user = requester;
	if (task.requested_by[0] != '\0')
		ev.requester.claimed = task.requested_by;
	ev.approver.uid = who->uid;
	ev.approver.user = approver;
	ev.executor.uid = who->uid;
	ev.executor.gid = who->gid;
	ev.executor.pid = who->pid;
	ev.executor.exe = who->exe;
	ev.executor.cgroup = who->cgroup;
	ev.rule = d.rule;
	if (!d.allow) {
		/* A refused approval or denial is recorded too. */
		snprintf(reason, sizeof(reason), "%s refused by policy rule "
		    "%.64s: %.150s", approve ? "approval" : "denial", d.rule,
		    d.reason);
		ev.type = AUDIT_TASK_APPROVED;
		ev.decision = "deny";
		ev.reason = reason;
		r = wid_gov_emit(a, &ev) != 0 ? WID_E_AUDIT : WID_E_DENIED;
		goto out;
	}
	ev.decision = approve ? "allow" : "deny";
	ev.reason = req.text[0] != '\0' ? req.text : NULL;
	if (wid_gov_emit(a, &ev) != 0) {
		snprintf(reason, sizeof(reason), "audit log write failed: "
		    "%s refused", approve ? "approval" : "denial");
		r = WID_E_AUDIT;
		goto out;
	}
	if ((r = wid_tasks_decide(&a->tasks, task.id, approve, who->uid,
	    approver, &task, reason, sizeof(reason))) != 0)
		goto out;
	if (approve) {
		ev.type = AUDIT_TASK_STARTED;
		ev.decision = "allow";
		ev.reason = NULL;
		if (wid_gov_emit(a, &ev) != 0)
			wid_error("audit: cannot record task-started of %s",
			    task.id);
		/* Certificates asked for at start are issued now. */
		if ((r = wid_cert_issue_approved(a, who, &task, reason,
		    sizeof(reason))) != 0)
			goto out;
	}
	wid_info("task %s %s by uid %u (rule %s)", task.id,
	    approve ? "approved" : "denied", who->uid, d.rule);
	r = 0;
out:
	policy_unref(p);
	if (r != 0) {
		wid_warn("task %s %s by uid %u refused: %s", req.id,
		    approve ? "approval" : "denial", who->uid, reason);
		wid_reply_error(out, op, (uint16_t)r, reason);
		return 0;
	}
	wid_reply_begin(out, op, WID_OK);
	if (approve)
		wid_task_encode(out, &task);
	return 0;
}

static int
op_check(struct wid_agent *a, const struct wid_caller *who,
         struct wid_buf *in, struct wid_buf *out)
{
	struct wid_policy_check_req req;
	struct wid_decision dec;
	struct wid_task task;
	struct policy_decision d;
	struct policy *p = NULL;
	uint32_t gids[WID_GOV_GIDS_MAX], uid;
	char reason[WID_REASON_MAX + 1];
	int r;

	if (wid_policy_check_req_decode(in, &req) != 0)
		return WID_E_PROTO;
	memset(&dec, 0, sizeof(dec));
	uid = req.uid == WID_UID_NONE ? who->uid : req.uid;
	/* Only root, the agent's uid and the task's requester or executor
	 * may ask about a task. */
	if (wid_tasks_get(&a->tasks, WID_UID_NONE, 0, req.task, &task) != 0 ||
	    (who->uid != 0 && who->uid != a->uid &&
	    who->uid != task.requester_uid &&
	    !wid_task_visible(&task, who->uid))) {
		snprintf(reason, sizeof(reason), "no task %s", req.task);
		r = WID_E_NOTASK;
		goto out;
	}
	if (!wid_task_visible(&task, uid)) {
		dec.allow = 0;
		snprintf(dec.rule, sizeof(dec.rule), "visibility");
		snprintf(dec.reason, sizeof(dec.reason), "task %s is not "
		    "visible to uid %u (executor uid %d)", task.id, uid,
		    task.executor_uid == WID_UID_NONE ?
		    (int)task.requester_uid : (int)task.executor_uid);
	} else if (task.state != WID_STATE_ACTIVE) {
		dec.allow = 0;
		snprintf(dec.rule, sizeof(dec.rule), "state");
		snprintf(dec.reason, sizeof(dec.reason), "task %s is %s",
		    task.id, wid_state_name(task.state));
	} else if ((p = wid_gov_policy(a)) == NULL) {
		dec.allow = 1;
		snprintf(dec.rule, sizeof(dec.rule), "visibility");
		snprintf(dec.reason, sizeof(dec.reason), "no policy loaded: "
		    "the executor uid may sign");
	} else {
		struct policy_use_req q = {
			.uid = uid, .gids = gids, .task = task.id,
			.exe = req.exe[0] != '\0' ? req.exe :
			    (uid == who->uid ? who->exe : NULL),
			.cgroup = req.cgroup[0] != '\0' ? req.cgroup :
			    (uid == who->uid ? who->cgroup : NULL),
			.scope = task.scope, .requester_uid = task.requester_uid,
			.mech = req.mechanism != 0 ?
			    policy_mech_name(req.mechanism) : NULL,
			.sign_count = task.sign_count, .now = time(NULL),
		};

		if (req.mechanism != 0 && q.mech == NULL) {
			snprintf(reason, sizeof(reason), "unknown mechanism "
			    "0x%x", req.mechanism);
			r = WID_E_BADARG;
			goto out;
		}
		q.ngids = uid == who->uid ?
		    wid_gov_caller_gids(who->pid, who->gid, gids,
		    WID_GOV_GIDS_MAX) : db_gids(uid, gids, WID_GOV_GIDS_MAX);
		if ((r = policy_check_use(p, &q, &d)) != 0) {
			snprintf(reason, sizeof(reason), "policy check failed");
			goto out;
		}
		dec.allow = (uint8_t)(d.allow != 0);
		snprintf(dec.rule, sizeof(dec.rule), "%s", d.rule);
		snprintf(dec.reason, sizeof(dec.reason), "%s", d.reason);
	}
	r = 0;
out:
	policy_unref(p);
	if (r != 0) {
		wid_reply_error(out, WID_OP_POLICY_CHECK, (uint16_t)r, reason);
		return 0;
	}
	wid_reply_begin(out, WID_OP_POLICY_CHECK, WID_OK);
	wid_decision_encode(out, &dec);
	return 0;
}

static int
op_reload(struct wid_agent *a, const struct wid_caller *who,
          struct wid_buf *in, struct wid_buf *out)
{
	char msg[WID_REASON_MAX + 1];
	int r;

	if (wid_get_end(in) != 0)
		return WID_E_PROTO;
	if (who->uid != 0 && who->uid != a->uid) {
		wid_reply_error(out, WID_OP_POLICY_RELOAD, WID_E_DENIED,
		    "only root or the agent's uid may reload the policy");
		return 0;
	}
	if ((r = wid_gov_reload(a, who, msg, sizeof(msg))) != 0) {
		wid_reply_error(out, WID_OP_POLICY_RELOAD, (uint16_t)r, msg);
		return 0;
	}
	wid_reply_begin(out, WID_OP_POLICY_RELOAD, WID_OK);
	wid_put_blob(out, msg, strlen(msg));
	return 0;
}

int
wid_handle_gov(struct wid_agent *a, const struct wid_caller *who,
               uint8_t op, struct wid_buf *in, struct wid_buf *out)
{
	switch (op) {
	case WID_OP_TASK_APPROVE:
	case WID_OP_TASK_DENY:
		return op_decide(a, who, op, in, out);
	case WID_OP_POLICY_CHECK:
		return op_check(a, who, in, out);
	case WID_OP_POLICY_RELOAD:
		return op_reload(a, who, in, out);
	default:
		return WID_E_PROTO;
	}
}
