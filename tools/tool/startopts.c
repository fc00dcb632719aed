/* tools/tool/startopts.c: the options that describe a new task, shared by
 * `task start` and `exec`. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wid/duration.h"
#include "wid/err.h"
#include "tool.h"

enum {
	OPT_TTL = 256,
	OPT_ID,
	OPT_KEY,
	OPT_INTENT,
	OPT_REQUESTED_BY,
	OPT_EXECUTOR_UID,
	OPT_JSON,
	OPT_QUIET,
	OPT_HELP,
	OPT_NO_SSH_AGENT,
	OPT_SSH_CERT,
	OPT_PRINCIPAL,
	OPT_X509,
	OPT_SCOPE,
	OPT_WAIT_APPROVAL,
};

static const struct option long_opts[] = {
	{ "ttl", required_argument, NULL, OPT_TTL },
	{ "id", required_argument, NULL, OPT_ID },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "intent", required_argument, NULL, OPT_INTENT },
	{ "requested-by", required_argument, NULL, OPT_REQUESTED_BY },
	{ "executor-uid", required_argument, NULL, OPT_EXECUTOR_UID },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "id-only", no_argument, NULL, OPT_QUIET },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "no-ssh-agent", no_argument, NULL, OPT_NO_SSH_AGENT },
	{ "ssh-cert", no_argument, NULL, OPT_SSH_CERT },
	{ "principal", required_argument, NULL, OPT_PRINCIPAL },
	{ "x509", no_argument, NULL, OPT_X509 },
	{ "scope", required_argument, NULL, OPT_SCOPE },
	{ "wait-approval", optional_argument, NULL, OPT_WAIT_APPROVAL },
	{ NULL, 0, NULL, 0 },
};

void
tool_start_opts_usage(FILE *f)
{
	fputs(
	    "  --ttl DUR            lifetime: 90, 90s, 15m, 2h, 1d, 1h30m (max 30d; required)\n"
	    "  --id ID              task id ([A-Za-z0-9._-], first alphanumeric);\n"
	    "                       default: the agent chooses\n"
	    "  --key TYPE           ec-p256 (default), ec-p384, ed25519, rsa2048, rsa3072\n"
	    "  --intent TEXT        why the task exists (recorded and audited)\n"
	    "  --requested-by NAME  who asks (recorded as claimed, not verified)\n"
	    "  --scope NAME         policy scope (default: \"default\"); a scope\n"
	    "                       that needs approval starts the task pending\n"
	    "  --wait-approval[=DUR] exec: wait (at most DUR) for a pending task\n"
	    "                       to be approved before running CMD\n"
	    "  --executor-uid UID   the user (number or name) that may use the key;\n"
	    "                       default: yours\n"
	    "  --ssh-cert           issue an OpenSSH user certificate for the key,\n"
	    "                       valid from now to the deadline\n"
	    "  --principal NAME     a principal of that certificate (repeatable;\n"
	    "                       default: your user name)\n"
	    "  --x509               issue an X.509 certificate for the key\n", f);
}

/* Text fields go to audit logs and terminals: printable only. */
static int
text_ok(const char *s, size_t max)
{
	const unsigned char *p;

	if (strlen(s) > max)
		return 0;
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

/* Appends one principal to the comma-separated list. */
static int
add_principal(struct wid_start_req *req, const char *name)
{
	size_t have = strlen(req->principals), n = strlen(name);
	const char *p;

	if (n == 0 || n > WID_NAME_MAX)
		return -1;
	for (p = name; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == ',')
			return -1;
	if (have + (have > 0) + n > WID_PRINCIPALS_MAX)
		return -1;
	if (have > 0)
		req->principals[have++] = ',';
	memcpy(req->principals + have, name, n + 1);
	return 0;
}

int
tool_start_opts_parse(int argc, char **argv, int for_exec,
                      struct tool_start_opts *o)
{
	const char *cmd = for_exec ? "exec" : "task start";
	int c, k;

	memset(o, 0, sizeof(*o));
	o->req.key_type = WID_KEY_EC_P256;
	o->req.executor_uid = WID_UID_NONE;
	optind = 0; /* full reset: callers may parse several times */
	opterr = 0;
	while ((c = getopt_long(argc, argv, for_exec ? "+:hq" : ":hq",
	    long_opts, NULL)) != -1) {
		const char *arg = optarg;

		switch (c) {
		case OPT_TTL:
			if (wid_duration_parse(arg, &o->req.ttl) != 0)
				return tool_usage_error(cmd, "invalid --ttl '%s' "
				    "(e.g. 90s, 15m, 1h30m; at most 30d)", arg);
			o->have_ttl = 1;
			break;
		case OPT_ID:
			if (!wid_task_id_valid(arg))
				return tool_usage_error(cmd, "invalid --id '%s' "
				    "(letters, digits, '.', '_', '-'; first a "
				    "letter or digit; at most 64)", arg);
			strcpy(o->req.id, arg);
			break;
		case OPT_KEY:
			if ((k = wid_key_type_parse(arg)) == WID_KEY_NONE)
				return tool_usage_error(cmd, "unknown --key '%s' "
				    "(ec-p256, ec-p384, ed25519, rsa2048, "
				    "rsa3072)", arg);
			o->req.key_type = (uint8_t)k;
			break;
		case OPT_INTENT:
			if (!text_ok(arg, WID_INTENT_MAX))
				return tool_usage_error(cmd, "--intent %s",
				    "must be printable and at most 512 bytes");
			strcpy(o->req.intent, arg);
			break;
		case OPT_REQUESTED_BY:
			if (!text_ok(arg, WID_NAME_MAX) || arg[0] == '\0')
				return tool_usage_error(cmd, "--requested-by %s",
				    "must be printable, 1 to 128 bytes");
			strcpy(o->req.requested_by, arg);
			break;
		case OPT_EXECUTOR_UID:
			if (wid_uid_parse(arg, &o->req.executor_uid) != 0)
				return tool_usage_error(cmd, "invalid --executor-uid "
				    "'%s' (a uid or a user name)", arg);
			break;
		case OPT_JSON:
			if (for_exec)
				return tool_usage_error(cmd, "%s is not an exec "
				    "option", "--json");
			o->json = 1;
			break;
		case OPT_SSH_CERT:
			o->req.flags |= WID_START_SSH_CERT;
			break;
		case OPT_PRINCIPAL:
			if (add_principal(&o->req, arg) != 0)
				return tool_usage_error(cmd, "invalid --principal "
				    "'%s' (printable, no space or comma; at "
				    "most %d bytes in all)", arg,
				    WID_PRINCIPALS_MAX);
			break;
		case OPT_X509:
			o->req.flags |= WID_START_X509;
			break;
		case OPT_SCOPE:
			if (!text_ok(arg, WID_NAME_MAX) || arg[0] == '\0')
				return tool_usage_error(cmd, "--scope %s",
				    "must be printable, 1 to 128 bytes");
			strcpy(o->req.scope, arg);
			break;
		case OPT_WAIT_APPROVAL:
			if (!for_exec)
				return tool_usage_error(cmd, "%s is an exec option",
				    "--wait-approval");
			if (arg != NULL && wid_duration_parse(arg,
			    &o->wait_timeout) != 0)
				return tool_usage_error(cmd, "invalid "
				    "--wait-approval '%s' (e.g. 90s, 15m)", arg);
			o->wait_approval = 1;
			break;
		case OPT_NO_SSH_AGENT:
			if (!for_exec)
				return tool_usage_error(cmd, "%s is an exec "
				    "option", "--no-ssh-agent");
			o->no_ssh_agent = 1;
			break;
		case 'q':
		case OPT_QUIET:
			o->quiet = 1;
			break;
		case 'h':
		case OPT_HELP:
			o->help = 1;
			return 0;
		case ':':
			return tool_usage_error(cmd, "option '%s' needs a value",
			    argv[optind - 1]);
		default:
			return tool_usage_error(cmd, "unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	if (!o->have_ttl)
		return tool_usage_error(cmd, "%s is required", "--ttl DUR");
	if (o->req.principals[0] != '\0' &&
	    (o->req.flags & WID_START_SSH_CERT) == 0)
		return tool_usage_error(cmd, "%s", "--principal needs --ssh-cert");
	if ((o->req.flags & WID_START_SSH_CERT) != 0 &&
	    o->req.principals[0] == '\0') {
		struct passwd *pw = getpwuid(getuid());

		if (pw == NULL || add_principal(&o->req, pw->pw_name) != 0)
			return tool_usage_error(cmd, "%s", "--ssh-cert: no user "
			    "name for this uid; give --principal");
	}
	if (for_exec) {
		if (optind >= argc)
			return tool_usage_error(cmd, "%s", "no command given "
			    "after '--'");
		o->cmd_index = optind;
	} else if (optind < argc) {
		return tool_usage_error(cmd, "unexpected argument '%s'",
		    argv[optind]);
	}
	return 0;
}
