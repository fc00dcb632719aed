/* tools/tool/approve.c: approval apart from execution: `task approve`,
 * `task deny`, and the wait of `exec --wait-approval`.  The agent takes
 * the approver's identity from the kernel (the caller's uid); the comment
 * is recorded in the audit log. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wid/err.h"
#include "tool.h"

#define WAIT_POLL_MS 250

static const struct option decide_opts[] = {
	{ "comment", required_argument, NULL, 'c' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void
usage_decide(FILE *f, const char *cmd)
{
	fprintf(f, "usage: wid-tool task %s ID [--comment TEXT]\n"
	    "%s a pending task.  The policy names who may decide (its\n"
	    "approval group); the requester never may.  TEXT goes to the\n"
	    "audit log.\n", cmd, strcmp(cmd, "approve") == 0 ?
	    "Activates" : "Refuses (and destroys the key of)");
}

static int
comment_ok(const char *s)
{
	const unsigned char *p;

	if (strlen(s) > WID_TEXT_MAX)
		return 0;
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

int
task_decide(struct tool *t, int argc, char **argv)
{
	struct wid_id_text_req req;
	struct wid_task task;
	struct wid_buf *b;
	const char *cmd = argv[0];
	char what[32];
	int c, r, approve = strcmp(cmd, "approve") == 0;

	memset(&req, 0, sizeof(req));
	snprintf(what, sizeof(what), "task %s", cmd);
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hc:", decide_opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (!comment_ok(optarg)) {
				fprintf(stderr, TOOL_NAME " %s: --comment must "
				    "be printable, at most %d bytes\n", what,
				    WID_TEXT_MAX);
				return TOOL_EXIT_USAGE;
			}
			snprintf(req.text, sizeof(req.text), "%s", optarg);
			break;
		case 'h':
			usage_decide(stdout, cmd);
			return TOOL_EXIT_OK;
		default:
			fprintf(stderr, TOOL_NAME " %s: bad option '%s'\n", what,
			    argv[optind - 1]);
			tool_usage_hint("task");
			return TOOL_EXIT_USAGE;
		}
	}
	if (argc - optind != 1 || !wid_task_id_valid(argv[optind])) {
		fprintf(stderr, TOOL_NAME " %s: expected one valid task ID\n",
		    what);
		tool_usage_hint("task");
		return TOOL_EXIT_USAGE;
	}
	snprintf(req.id, sizeof(req.id), "%s", argv[optind]);
	if ((r = tool_open(t)) != 0)
		return tool_report(t, what, r);
	b = wid_conn_req(&t->conn, approve ? WID_OP_TASK_APPROVE :
	    WID_OP_TASK_DENY);
	wid_id_text_req_encode(b, &req);
	if ((r = tool_call(t)) != 0)
		return tool_report(t, what, r);
	if (approve) {
		if (wid_task_decode(&t->conn.buf, &task) != 0 ||
		    wid_get_end(&t->conn.buf) != 0)
			return tool_report(t, what, WID_E_PROTO);
		printf("task %s approved: %s\n", task.id,
		    wid_state_name(task.state));
	} else {
		if (wid_get_end(&t->conn.buf) != 0)
			return tool_report(t, what, WID_E_PROTO);
		printf("task %s denied: its key is destroyed\n", req.id);
	}
	return TOOL_EXIT_OK;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* A signal exec takes synchronously (blocked) arrived: stop waiting. */
static int
interrupted(void)
{
	sigset_t pend;

	return sigpending(&pend) == 0 && (sigismember(&pend, SIGINT) == 1 ||
	    sigismember(&pend, SIGTERM) == 1 || sigismember(&pend, SIGHUP) == 1);
}

int
tool_wait_approval(struct tool *t, const struct wid_task *task,
                   uint32_t timeout, struct wid_task *ret_task)
{
	struct wid_task *tasks = NULL, cur = *task;
	struct timespec t0, now;
	char who[WID_NAME_MAX + 1];
	size_t n;
	int r;

	tool_sanitize(task->approver[0] != '\0' ? task->approver : "?", who,
	    sizeof(who));
	fprintf(stderr, TOOL_NAME ": waiting for approval of task %s (scope "
	    "%s) by %s%s\n", task->id, task->scope,
	    strncmp(who, "group:", 6) == 0 ? "group " : "",
	    strncmp(who, "group:", 6) == 0 ? who + 6 : who);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if ((r = tool_list(t, task->id, &tasks, &n)) != 0)
			return tool_report(t, "exec: wait for approval", r);
		if (n != 1) {
			free(tasks);
			fprintf(stderr, TOOL_NAME " exec: task %s was denied "
			    "or expired while waiting for approval\n",
			    task->id);
			return TOOL_EXIT_FAIL;
		}
		cur = tasks[0];
		free(tasks);
		if (cur.state == WID_STATE_ACTIVE) {
			tool_sanitize(cur.approver, who, sizeof(who));
			fprintf(stderr, TOOL_NAME ": task %s approved by %s\n",
			    cur.id, who);
			*ret_task = cur;
			return TOOL_EXIT_OK;
		}
		if (cur.state != WID_STATE_PENDING) {
			fprintf(stderr, TOOL_NAME " exec: task %s is %s\n",
			    cur.id, wid_state_name(cur.state));
			return TOOL_EXIT_FAIL;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (timeout != 0 && now.tv_sec - t0.tv_sec >= (time_t)timeout) {
			fprintf(stderr, TOOL_NAME " exec: task %s was not "
			    "approved within %us\n", cur.id, timeout);
			return TOOL_EXIT_FAIL;
		}
		if (interrupted()) {
			fprintf(stderr, TOOL_NAME " exec: interrupted while "
			    "waiting for approval of task %s\n", cur.id);
			return TOOL_EXIT_FAIL;
		}
		sleep_ms(WAIT_POLL_MS);
	}
}
