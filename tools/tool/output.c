/* tools/tool/output.c: how wid-tool prints tasks: the start summary, the
 * aligned list, `show`, and JSON (json-c). */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "wid/duration.h"
#include "wid/err.h"
#include "wid/pubkey.h"
#include "tool.h"

#define SSH_LINE_MAX 2048
#define PEM_MAX 2048
#define URI_MAX 256

void
tool_time_iso(int64_t t, char out[TOOL_TIME_LEN])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, TOOL_TIME_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, TOOL_TIME_LEN, "@%" PRId64, t);
}

void
tool_remaining(const struct wid_task *task, int64_t now, char *out, size_t n)
{
	int64_t left = task->expires - now;

	if (task->state == WID_STATE_EXPIRED ||
	    (task->state == WID_STATE_ACTIVE && left <= 0))
		snprintf(out, n, "expired");
	else if (task->state != WID_STATE_ACTIVE &&
	    task->state != WID_STATE_PENDING)
		snprintf(out, n, "-");
	else
		wid_duration_format(left > UINT32_MAX ? UINT32_MAX :
		    (uint32_t)left, out, n);
}

void
tool_sanitize(const char *in, char *out, size_t n)
{
	size_t i;

	if (n == 0)
		return;
	for (i = 0; in[i] != '\0' && i + 1 < n; i++) {
		unsigned char c = (unsigned char)in[i];

		out[i] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
	}
	out[i] = '\0';
}

static const char *
backend_name(int backend)
{
	return backend == 1 ? "tpm" : "soft";
}

static void
hex(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

static const char *
key_name(const struct wid_task *task)
{
	const char *s = wid_key_type_name(task->key_type);

	return s != NULL ? s : "?";
}

void
tool_print_start(FILE *f, const struct wid_task *task)
{
	char uri[URI_MAX], line[SSH_LINE_MAX], exp[TOOL_TIME_LEN], left[32];

	tool_pkcs11_uri(task->id, task->key_type, uri, sizeof(uri));
	if (wid_pubkey_ssh(task->spki, task->spki_len, task->id, line,
	    sizeof(line)) != 0)
		snprintf(line, sizeof(line), "(no OpenSSH form)");
	tool_time_iso(task->expires, exp);
	tool_remaining(task, (int64_t)time(NULL), left, sizeof(left));
	fprintf(f, "task:    %s\n", task->id);
	fprintf(f, "key:     %s\n", key_name(task));
	fprintf(f, "uri:     %s\n", uri);
	fprintf(f, "ssh:     %s\n", line);
	fprintf(f, "expires: %s (in %s)\n", exp, left);
}

/* One table row, each cell sanitized. */
enum { C_ID, C_STATE, C_KEY, C_EXPIRES, C_LEFT, C_SIGNS, C_BY, C_INTENT, NCOL };

static void
row_cells(const struct wid_task *task, int64_t now,
          char cells[NCOL][WID_INTENT_MAX + 1])
{
	snprintf(cells[C_ID], sizeof(cells[C_ID]), "%s", task->id);
	snprintf(cells[C_STATE], sizeof(cells[C_STATE]), "%s",
	    wid_state_name(task->state));
	snprintf(cells[C_KEY], sizeof(cells[C_KEY]), "%s", key_name(task));
	tool_time_iso(task->expires, cells[C_EXPIRES]);
	tool_remaining(task, now, cells[C_LEFT], sizeof(cells[C_LEFT]));
	snprintf(cells[C_SIGNS], sizeof(cells[C_SIGNS]), "%" PRIu64,
	    task->sign_count);
	tool_sanitize(task->requested_by[0] != '\0' ? task->requested_by : "-",
	    cells[C_BY], sizeof(cells[C_BY]));
	tool_sanitize(task->intent[0] != '\0' ? task->intent : "-",
	    cells[C_INTENT], sizeof(cells[C_INTENT]));
}

void
tool_print_table(FILE *f, const struct wid_task *tasks, size_t n)
{
	static const char *const head[NCOL] = {
		"ID", "STATE", "KEY", "EXPIRES", "REMAINING", "SIGNS",
		"REQUESTED-BY", "INTENT",
	};
	char cells[NCOL][WID_INTENT_MAX + 1];
	size_t width[NCOL], i, c;
	int64_t now = (int64_t)time(NULL);

	for (c = 0; c < NCOL; c++)
		width[c] = strlen(head[c]);
	for (i = 0; i < n; i++) {
		row_cells(&tasks[i], now, cells);
		for (c = 0; c < NCOL; c++)
			if (strlen(cells[c]) > width[c])
				width[c] = strlen(cells[c]);
	}
	for (c = 0; c + 1 < NCOL; c++)
		fprintf(f, "%-*s  ", (int)width[c], head[c]);
	fprintf(f, "%s\n", head[NCOL - 1]);
	for (i = 0; i < n; i++) {
		row_cells(&tasks[i], now, cells);
		for (c = 0; c + 1 < NCOL; c++)
			fprintf(f, "%-*s  ", (int)width[c], cells[c]);
		fprintf(f, "%s\n", cells[NCOL - 1]);
	}
}

static void
uid_text(uint32_t uid, char *out, size_t n)
{
	if (uid == WID_UID_NONE)
		snprintf(out, n, "(requester)");
	else
		snprintf(out, n, "%" PRIu32, uid);
}

void
tool_print_show(FILE *f, const struct wid_task *task)
{
	char uri[URI_MAX], line[SSH_LINE_MAX], fp[WID_FINGERPRINT_LEN];
	char pem[PEM_MAX], created[TOOL_TIME_LEN], exp[TOOL_TIME_LEN];
	char left[32], kid[2 * WID_KEY_ID_LEN + 1], text[WID_INTENT_MAX + 1];
	char uid[32];

	tool_pkcs11_uri(task->id, task->key_type, uri, sizeof(uri));
	if (wid_pubkey_ssh(task->spki, task->spki_len, task->id, line,
	    sizeof(line)) != 0)
		snprintf(line, sizeof(line), "-");
	if (wid_pubkey_fingerprint(task->spki, task->spki_len, fp,
	    sizeof(fp)) != 0)
		snprintf(fp, sizeof(fp), "-");
	if (wid_pubkey_pem(task->spki, task->spki_len, pem, sizeof(pem)) != 0)
		snprintf(pem, sizeof(pem), "-\n");
	tool_time_iso(task->created, created);
	tool_time_iso(task->expires, exp);
	tool_remaining(task, (int64_t)time(NULL), left, sizeof(left));
	hex(task->key_id, WID_KEY_ID_LEN, kid);

	fprintf(f, "id:            %s\n", task->id);
	fprintf(f, "state:         %s\n", wid_state_name(task->state));
	fprintf(f, "key:           %s\n", key_name(task));
	fprintf(f, "backend:       %s\n", backend_name(task->backend));
	fprintf(f, "serial:        %" PRIu64 "\n", task->serial);
	fprintf(f, "key-id:        %s\n", kid);
	fprintf(f, "requester-uid: %" PRIu32 "\n", task->requester_uid);
	uid_text(task->executor_uid, uid, sizeof(uid));
	fprintf(f, "executor-uid:  %s\n", uid);
	if (task->bound_pid != 0)
		fprintf(f, "bound-pid:     %" PRIu32 "\n", task->bound_pid);
	else
		fprintf(f, "bound-pid:     -\n");
	tool_sanitize(task->requested_by[0] != '\0' ? task->requested_by : "-",
	    text, sizeof(text));
	fprintf(f, "requested-by:  %s (claimed)\n", text);
	tool_sanitize(task->scope[0] != '\0' ? task->scope : "default", text,
	    sizeof(text));
	fprintf(f, "scope:         %s\n", text);
	tool_sanitize(task->approver[0] != '\0' ? task->approver : "-", text,
	    sizeof(text));
	if (task->approver_uid != WID_UID_NONE)
		fprintf(f, "approver:      %s (uid %" PRIu32 ")\n", text,
		    task->approver_uid);
	else
		fprintf(f, "approver:      %s%s\n", text,
		    task->state == WID_STATE_PENDING ? " (awaited)" : "");
	tool_sanitize(task->intent[0] != '\0' ? task->intent : "-", text,
	    sizeof(text));
	fprintf(f, "intent:        %s\n", text);
	fprintf(f, "created:       %s\n", created);
	fprintf(f, "expires:       %s\n", exp);
	fprintf(f, "remaining:     %s\n", left);
	fprintf(f, "signs:         %" PRIu64 "\n", task->sign_count);
	fprintf(f, "uri:           %s\n", uri);
	fprintf(f, "fingerprint:   %s\n", fp);
	fprintf(f, "ssh:           %s\n", line);
	fprintf(f, "pem:\n%s", pem);
}

static void
add_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v));
}

static void
add_int(struct json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

static struct json_object *
task_json(const struct wid_task *task, int full)
{
	struct json_object *o = json_object_new_object();
	char buf[SSH_LINE_MAX], kid[2 * WID_KEY_ID_LEN + 1];
	int64_t now = (int64_t)time(NULL);

	if (o == NULL)
		return NULL;
	add_str(o, "id", task->id);
	add_str(o, "state", wid_state_name(task->state));
	add_str(o, "key_type", key_name(task));
	add_str(o, "backend", backend_name(task->backend));
	tool_time_iso(task->created, buf);
	add_str(o, "created", buf);
	tool_time_iso(task->expires, buf);
	add_str(o, "expires", buf);
	add_int(o, "expires_unix", task->expires);
	add_int(o, "remaining_seconds",
	    task->state == WID_STATE_ACTIVE && task->expires > now ?
	    task->expires - now : 0);
	json_object_object_add(o, "sign_count",
	    json_object_new_uint64(task->sign_count));
	add_str(o, "requested_by", task->requested_by);
	add_str(o, "scope", task->scope);
	add_str(o, "approver", task->approver);
	if (task->approver_uid != WID_UID_NONE)
		add_int(o, "approver_uid", task->approver_uid);
	add_str(o, "intent", task->intent);
	if (tool_pkcs11_uri(task->id, task->key_type, buf, sizeof(buf)) == 0)
		add_str(o, "uri", buf);
	if (wid_pubkey_ssh(task->spki, task->spki_len, task->id, buf,
	    sizeof(buf)) == 0)
		add_str(o, "ssh_public_key", buf);
	if (wid_pubkey_fingerprint(task->spki, task->spki_len, buf,
	    sizeof(buf)) == 0)
		add_str(o, "fingerprint", buf);
	if (!full)
		return o;
	json_object_object_add(o, "serial",
	    json_object_new_uint64(task->serial));
	hex(task->key_id, WID_KEY_ID_LEN, kid);
	add_str(o, "key_id", kid);
	add_int(o, "requester_uid", task->requester_uid);
	json_object_object_add(o, "executor_uid",
	    task->executor_uid == WID_UID_NONE ? NULL :
	    json_object_new_int64(task->executor_uid));
	json_object_object_add(o, "bound_pid", task->bound_pid == 0 ? NULL :
	    json_object_new_int64(task->bound_pid));
	if (wid_pubkey_pem(task->spki, task->spki_len, buf, sizeof(buf)) == 0)
		add_str(o, "public_key_pem", buf);
	return o;
}

static int
emit(FILE *f, struct json_object *o)
{
	const char *s;
	int r = WID_E_NOMEM;

	if (o != NULL && (s = json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
	    JSON_C_TO_STRING_NOSLASHESCAPE)) != NULL) {
		fprintf(f, "%s\n", s);
		r = 0;
	}
	json_object_put(o);
	return r;
}

int
tool_print_json_task(FILE *f, const struct wid_task *task, int full)
{
	return emit(f, task_json(task, full));
}

int
tool_print_json_list(FILE *f, const struct wid_task *tasks, size_t n)
{
	struct json_object *a = json_object_new_array(), *o;
	size_t i;

	if (a == NULL)
		return WID_E_NOMEM;
	for (i = 0; i < n; i++) {
		if ((o = task_json(&tasks[i], 0)) == NULL ||
		    json_object_array_add(a, o) != 0) {
			json_object_put(o);
			json_object_put(a);
			return WID_E_NOMEM;
		}
	}
	return emit(f, a);
}

int
tool_print_json_status(FILE *f, const char *sock, const struct wid_status *st)
{
	struct json_object *o = json_object_new_object();
	char when[TOOL_TIME_LEN];

	if (o == NULL)
		return WID_E_NOMEM;
	add_str(o, "socket", sock);
	add_str(o, "version", st->version);
	add_str(o, "backend", backend_name(st->backend));
	add_int(o, "tasks_active", st->tasks_active);
	add_int(o, "tasks_pending", st->tasks_pending);
	json_object_object_add(o, "tpm", json_object_new_boolean(st->tpm));
	add_str(o, "policy_hash", st->policy_hash);
	add_str(o, "audit_path", st->audit_path);
	add_int(o, "audit_size", st->audit_size);
	add_int(o, "uid", st->uid);
	add_int(o, "pid", st->pid);
	tool_time_iso(st->started, when);
	add_str(o, "started", when);
	return emit(f, o);
}
