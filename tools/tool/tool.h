/* tools/tool/tool.h: what the parts of wid-tool share: exit codes, the
 * connection to the agent, option parsing and output helpers. */
#ifndef WID_TOOL_H
#define WID_TOOL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "wid/client.h"
#include "wid/proto.h"

/* Exit codes (documented in --help). */
enum tool_exit {
	TOOL_EXIT_OK = 0,
	TOOL_EXIT_FAIL = 1,     /* the agent said no, or the operation failed */
	TOOL_EXIT_USAGE = 2,
	TOOL_EXIT_NOAGENT = 3,
};

#define TOOL_NAME "wid-tool"

/* One session with the agent. */
struct tool {
	char sock[WID_PATH_MAX];
	struct wid_conn conn;
	char reason[WID_REASON_MAX + 1]; /* agent's text for the last refusal */
};

/* agentconn.c */
int tool_init(struct tool *t, const char *sock_opt);
/* 0, or WID_E_UNAVAILABLE (nobody listens) and friends; prints nothing. */
int tool_open(struct tool *t);
/* tool_open, and on failure prints the "no agent" message; returns an
 * exit code. */
int tool_open_or_explain(struct tool *t);
void tool_close(struct tool *t);
/* Each call returns 0, a transport error, or the agent's refusal (an enum
 * wid_err) with its reason in t->reason. */
int tool_status(struct tool *t, struct wid_status *ret_status);
int tool_task_start(struct tool *t, const struct wid_start_req *req,
                    struct wid_task *ret_task);
int tool_task_end(struct tool *t, const char *id);
/* Every visible task (id "" or NULL) or the one named, following LIST
 * pages.  *ret_tasks is malloc'ed, freed by the caller. */
int tool_list(struct tool *t, const char *id, struct wid_task **ret_tasks,
              size_t *ret_n);
/* CA_INIT with WID_CA_* bits (existing CA keys are kept). */
int tool_ca_init(struct tool *t, unsigned bits);
/* CERT_GET: a task's certificate (id) or the CA's (id NULL or "") of
 * `kind` (enum wid_cert_kind) into out. */
int tool_cert_get(struct tool *t, const char *id, int kind, uint8_t *out,
                  size_t size, size_t *ret_len);
/* Prints "wid-tool: WHAT: TEXT" for err and returns the exit code. */
int tool_report(const struct tool *t, const char *what, int err);

/* startopts.c: options of `task start` and `exec`. */
struct tool_start_opts {
	struct wid_start_req req;
	int have_ttl;
	int json;
	int quiet;       /* --quiet / --id-only */
	int help;
	int cmd_index;   /* exec: index of CMD in argv, else 0 */
	int no_ssh_agent; /* exec: leave SSH_AUTH_SOCK alone */
	int wait_approval; /* exec: wait for a pending task's approval */
	uint32_t wait_timeout; /* seconds; 0: until the task expires */
};
/* Parses argv[1..] (argv[0] is the command name).  for_exec: stop at the
 * first non-option or "--" and require a command after it.  Returns 0 or
 * TOOL_EXIT_USAGE after printing why to stderr. */
int tool_start_opts_parse(int argc, char **argv, int for_exec,
                          struct tool_start_opts *o);
void tool_start_opts_usage(FILE *f);

/* uri.c */
/* RFC 3986 percent-encoding of everything outside the unreserved set.
 * 0, or WID_E_LIMIT when it does not fit (out then holds ""). */
int tool_pct_encode(const char *in, char *out, size_t size);
/* "pkcs11:token=wid;object=ID" ("wid-ed25519" for Ed25519 keys). */
int tool_pkcs11_uri(const char *id, int key_type, char *out, size_t size);

/* output.c */
#define TOOL_TIME_LEN 32
void tool_time_iso(int64_t t, char out[TOOL_TIME_LEN]);
/* "1h30m", or "expired" / "-" for a task that cannot be used. */
void tool_remaining(const struct wid_task *task, int64_t now, char *out,
                    size_t n);
/* Replaces control and non-ASCII bytes so agent text cannot drive the
 * terminal. */
void tool_sanitize(const char *in, char *out, size_t n);
void tool_print_start(FILE *f, const struct wid_task *task);
void tool_print_table(FILE *f, const struct wid_task *tasks, size_t n);
void tool_print_show(FILE *f, const struct wid_task *task);
/* full: every field (show), else what list needs. */
int tool_print_json_task(FILE *f, const struct wid_task *task, int full);
int tool_print_json_list(FILE *f, const struct wid_task *tasks, size_t n);
int tool_print_json_status(FILE *f, const char *sock,
                           const struct wid_status *st);

/* Commands (task.c, exec.c); argv[0] is the command name. */
int cmd_task(struct tool *t, int argc, char **argv);
int cmd_pubkey(struct tool *t, int argc, char **argv);
int cmd_status(struct tool *t, int argc, char **argv);
int cmd_exec(struct tool *t, int argc, char **argv);
/* attest_cmd.c: `task attest ID` and `attest verify FILE`. */
int task_attest(struct tool *t, int argc, char **argv);
int cmd_attest(struct tool *t, int argc, char **argv);
/* cert_cmd.c: `cert ID --ssh|--pem`, `ca init|pubkey|cert`. */
int cmd_cert(struct tool *t, int argc, char **argv);
int cmd_ca(struct tool *t, int argc, char **argv);

/* cert_cmd.c, for exec: writes the task's certificates (as task->flags
 * says) and public key into a new private directory (0700, under $TMPDIR
 * or /tmp) and sets WID_SSH_CERT / WID_SSH_PUBKEY / WID_X509_CERT in this
 * process's environment.  dir receives the directory ("" when nothing
 * was written).  Prints why on failure. */
int tool_cert_files_write(struct tool *t, const struct wid_task *task,
                          char *dir, size_t size);
/* Removes what tool_cert_files_write wrote. */
void tool_cert_files_remove(const char *dir);
/* signers_cmd.c */
int cmd_allowed_signers(struct tool *t, int argc, char **argv);
/* agentconn.c: the agent's ssh-agent socket, "ssh-agent.sock" next to
 * t->sock (as wid-agent derives it).  0, or -1 when it does not fit. */
int tool_ssh_agent_path(const struct tool *t, char *out, size_t size);

/* cli.c */
void tool_usage_hint(const char *cmd);
/* Prints "wid-tool CMD: MESSAGE" and the usage hint; returns
 * TOOL_EXIT_USAGE. */
int tool_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A uid given as a number or a user name; -1 if neither. */

/* Governance (approve.c, policy_cmd.c, audit_cmd.c). */
/* agentconn.c: sends the request built in t->conn.buf (0, a transport
 * error, or the agent's refusal with t->reason set). */
int tool_call(struct tool *t);
/* `task approve|deny ID [--comment TEXT]` (argv[0] is approve/deny). */
int task_decide(struct tool *t, int argc, char **argv);
/* Polls until task `id` leaves pending: 0 active (*ret_task), else an exit
 * code after saying why; timeout 0: until the task's own deadline. */
int tool_wait_approval(struct tool *t, const struct wid_task *task,
                       uint32_t timeout, struct wid_task *ret_task);
int cmd_policy(struct tool *t, int argc, char **argv);
int cmd_audit(struct tool *t, int argc, char **argv);

#endif
