/* tools/tool/agentconn.c: wid-tool's calls to the agent, and the one place
 * that turns their errors into messages and exit codes. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wid/err.h"
#include "tool.h"

int
tool_init(struct tool *t, const char *sock_opt)
{
	memset(t->reason, 0, sizeof(t->reason));
	wid_conn_init(&t->conn);
	return wid_sock_path(sock_opt, t->sock);
}

int
tool_open(struct tool *t)
{
	if (t->conn.fd >= 0)
		return 0;
	return wid_conn_open(&t->conn, t->sock);
}

int
tool_open_or_explain(struct tool *t)
{
	int r = tool_open(t);

	if (r == 0)
		return TOOL_EXIT_OK;
	return tool_report(t, NULL, r);
}

void
tool_close(struct tool *t)
{
	wid_conn_close(&t->conn);
}

/* Sends the request built in t->conn.buf.  On a refusal fills t->reason
 * and returns the agent's status. */
static int
call(struct tool *t)
{
	uint16_t status;
	int r;

	t->reason[0] = '\0';
	if ((r = wid_conn_call(&t->conn, &status)) != 0)
		return r;
	if (status == WID_OK)
		return 0;
	if (wid_reason_decode(&t->conn.buf, t->reason, sizeof(t->reason)) != 0)
		return WID_E_PROTO;
	return status == WID_OK ? WID_E_PROTO : status;
}

int
tool_call(struct tool *t)
{
	return call(t);
}

int
tool_status(struct tool *t, struct wid_status *ret_status)
{
	struct wid_status st;
	int r;

	if ((r = tool_open(t)) != 0)
		return r;
	wid_conn_req(&t->conn, WID_OP_STATUS);
	if ((r = call(t)) != 0)
		return r;
	if (wid_status_decode(&t->conn.buf, &st) != 0)
		return WID_E_PROTO;
	*ret_status = st;
	return 0;
}

int
tool_task_start(struct tool *t, const struct wid_start_req *req,
                struct wid_task *ret_task)
{
	struct wid_buf *b;
	int r;

	if ((r = tool_open(t)) != 0)
		return r;
	b = wid_conn_req(&t->conn, WID_OP_TASK_START);
	wid_start_req_encode(b, req);
	if ((r = call(t)) != 0)
		return r;
	if (wid_task_decode(&t->conn.buf, ret_task) != 0 ||
	    wid_get_end(&t->conn.buf) != 0)
		return WID_E_PROTO;
	return 0;
}

int
tool_task_end(struct tool *t, const char *id)
{
	struct wid_buf *b;
	int r;

	if ((r = tool_open(t)) != 0)
		return r;
	b = wid_conn_req(&t->conn, WID_OP_TASK_END);
	wid_id_encode(b, id);
	if ((r = call(t)) != 0)
		return r;
	return wid_get_end(&t->conn.buf) == 0 ? 0 : WID_E_PROTO;
}

int
tool_list(struct tool *t, const char *id, struct wid_task **ret_tasks,
          size_t *ret_n)
{
	struct wid_list_req req;
	struct wid_task *tasks = NULL, *tmp;
	size_t n = 0, cap = 0;
	uint16_t count, i;
	uint64_t next;
	int r;

	*ret_tasks = NULL;
	*ret_n = 0;
	memset(&req, 0, sizeof(req));
	if (id != NULL)
		snprintf(req.task, sizeof(req.task), "%s", id);
	if ((r = tool_open(t)) != 0)
		goto out;
	for (;;) {
		wid_list_req_encode(wid_conn_req(&t->conn, WID_OP_LIST), &req);
		if ((r = call(t)) != 0)
			goto out;
		if (wid_get_u16(&t->conn.buf, &count) != 0 ||
		    count > WID_LIST_MAX) {
			r = WID_E_PROTO;
			goto out;
		}
		if (n + count > cap) {
			cap = n + count + 16;
			if ((tmp = reallocarray(tasks, cap, sizeof(*tasks))) ==
			    NULL) {
				r = WID_E_NOMEM;
				goto out;
			}
			tasks = tmp;
		}
		for (i = 0; i < count; i++) {
			if (wid_task_decode(&t->conn.buf, &tasks[n]) != 0 ||
			    (id != NULL && id[0] != '\0' &&
			    strcmp(tasks[n].id, id) != 0)) {
				r = WID_E_PROTO;
				goto out;
			}
			n++;
		}
		if (wid_get_u64(&t->conn.buf, &next) != 0 ||
		    wid_get_end(&t->conn.buf) != 0) {
			r = WID_E_PROTO;
			goto out;
		}
		if (next == 0)
			break;
		/* Cursors only move forward: a looping agent is an error. */
		if (next <= req.cursor) {
			r = WID_E_PROTO;
			goto out;
		}
		req.cursor = next;
	}
	*ret_tasks = tasks;
	*ret_n = n;
	tasks = NULL;
	r = 0;
out:
	free(tasks);
	return r;
}

int
tool_ca_init(struct tool *t, unsigned bits)
{
	struct wid_buf *b;
	int r;

	if ((r = tool_open(t)) != 0)
		return r;
	b = wid_conn_req(&t->conn, WID_OP_CA_INIT);
	wid_put_u8(b, (uint8_t)bits);
	if ((r = call(t)) != 0)
		return r;
	return wid_get_end(&t->conn.buf) == 0 ? 0 : WID_E_PROTO;
}

int
tool_cert_get(struct tool *t, const char *id, int kind, uint8_t *out,
              size_t size, size_t *ret_len)
{
	struct wid_cert_req req;
	const uint8_t *p;
	uint16_t n;
	int r;

	*ret_len = 0;
	memset(&req, 0, sizeof(req));
	snprintf(req.id, sizeof(req.id), "%s", id != NULL ? id : "");
	req.kind = (uint8_t)kind;
	if ((r = tool_open(t)) != 0)
		return r;
	wid_cert_req_encode(wid_conn_req(&t->conn, WID_OP_CERT_GET), &req);
	if ((r = call(t)) != 0)
		return r;
	if (wid_get_blob(&t->conn.buf, &p, &n, WID_BLOB_MAX) != 0 ||
	    wid_get_end(&t->conn.buf) != 0 || n > size)
		return WID_E_PROTO;
	memcpy(out, p, n);
	*ret_len = n;
	return 0;
}

int
tool_report(const struct tool *t, const char *what, int err)
{
	char reason[WID_REASON_MAX + 1];

	if (err == WID_E_UNAVAILABLE) {
		fprintf(stderr, TOOL_NAME ": no agent at %s: start wid-agent "
		    "or use 'wid-tool exec'\n", t->sock);
		return TOOL_EXIT_NOAGENT;
	}
	if (what == NULL)
		what = "agent";
	tool_sanitize(t->reason, reason, sizeof(reason));
	if (err == WID_E_IO || err == WID_E_PROTO || err == WID_E_VERSION)
		fprintf(stderr, TOOL_NAME ": %s: agent at %s: %s\n", what,
		    t->sock, wid_strerror(err));
	else if (reason[0] != '\0' && strcmp(reason, wid_strerror(err)) != 0)
		fprintf(stderr, TOOL_NAME ": %s: %s (%s)\n", what, reason,
		    wid_strerror(err));
	else
		fprintf(stderr, TOOL_NAME ": %s: %s\n", what,
		    wid_strerror(err));
	return TOOL_EXIT_FAIL;
}

int
tool_ssh_agent_path(const struct tool *t, char *out, size_t size)
{
	const char *slash = strrchr(t->sock, '/');
	int w;

	if (slash == NULL || size == 0)
		return -1;
	w = snprintf(out, size, "%.*s/ssh-agent.sock",
	    (int)(slash - t->sock), t->sock);
	if (w < 0 || (size_t)w >= size) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}
