/* tools/tool/policy_cmd.c: `wid-tool policy check|lint|reload`.  check
 * asks the running agent what it would decide (nothing is signed); lint
 * parses a file with the agent's own policy code; reload makes the agent
 * load its policy file again (it keeps the old one when the file is bad). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "wid/err.h"
#include "policy.h"
#include "tool.h"

enum { OPT_AS = 256, OPT_EXE, OPT_CGROUP, OPT_TASK, OPT_MECH, OPT_HELP };

static const struct option check_opts[] = {
	{ "as", required_argument, NULL, OPT_AS },
	{ "exe", required_argument, NULL, OPT_EXE },
	{ "cgroup", required_argument, NULL, OPT_CGROUP },
	{ "task", required_argument, NULL, OPT_TASK },
	{ "mech", required_argument, NULL, OPT_MECH },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static void
usage_policy(FILE *f)
{
	fputs("usage: wid-tool policy check --task ID [--as UID] [--exe PATH]\n"
	    "                         [--cgroup PATH] [--mech NAME]\n"
	    "       wid-tool policy lint FILE\n"
	    "       wid-tool policy reload\n"
	    "check: what the agent would decide if UID (default: you), running\n"
	    "  PATH in cgroup PATH, signed with task ID's key using mechanism\n"
	    "  NAME (ECDSA, SHA256_RSA_PKCS, ...; default: any).  Prints allow\n"
	    "  or deny and the rule; exit 0 allow, 1 deny.  Nothing is signed.\n"
	    "lint: parse FILE as a policy; errors as FILE:LINE:COL: message.\n"
	    "reload: the agent loads its policy file again; a bad file keeps\n"
	    "  the loaded policy.  Prints the new policy's SHA-256.\n", f);
}

static int
usage_err(const char *what, const char *arg)
{
	fprintf(stderr, TOOL_NAME " policy: %s '%s'\n", what, arg);
	tool_usage_hint("policy");
	return TOOL_EXIT_USAGE;
}

/* CKM_* number of a policy mechanism name (the mechanisms are below
 * 0x2000); 0 if unknown. */
static uint32_t
mech_number(const char *name)
{
	unsigned long m;
	const char *s;

	for (m = 1; m < 0x2000; m++)
		if ((s = policy_mech_name(m)) != NULL &&
		    strcasecmp(s, name) == 0)
			return (uint32_t)m;
	return 0;
}

static int
policy_check(struct tool *t, int argc, char **argv)
{
	struct wid_policy_check_req req;
	struct wid_decision d;
	struct wid_buf *b;
	char rule[WID_NAME_MAX + 1], reason[WID_REASON_MAX + 1];
	int c, r;

	memset(&req, 0, sizeof(req));
	req.uid = WID_UID_NONE;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", check_opts, NULL)) != -1) {
		switch (c) {
		case OPT_AS:
			if (wid_uid_parse(optarg, &req.uid) != 0)
				return usage_err("--as: not a uid or user",
				    optarg);
			break;
		case OPT_EXE:
		case OPT_CGROUP:
			if (strlen(optarg) > WID_TEXT_MAX || optarg[0] != '/')
				return usage_err("expected an absolute path",
				    optarg);
			snprintf(c == OPT_EXE ? req.exe : req.cgroup,
			    sizeof(req.exe), "%s", optarg);
			break;
		case OPT_TASK:
			if (!wid_task_id_valid(optarg))
				return usage_err("--task: invalid task id",
				    optarg);
			snprintf(req.task, sizeof(req.task), "%s", optarg);
			break;
		case OPT_MECH:
			if ((req.mechanism = mech_number(optarg)) == 0)
				return usage_err("--mech: unknown mechanism",
				    optarg);
			break;
		case 'h':
		case OPT_HELP:
			usage_policy(stdout);
			return TOOL_EXIT_OK;
		default:
			return usage_err("bad option", argv[optind - 1]);
		}
	}
	if (optind != argc)
		return usage_err("unexpected argument", argv[optind]);
	if (req.task[0] == '\0')
		return usage_err("missing", "--task ID");
	if ((r = tool_open(t)) != 0)
		return tool_report(t, "policy check", r);
	b = wid_conn_req(&t->conn, WID_OP_POLICY_CHECK);
	wid_policy_check_req_encode(b, &req);
	if ((r = tool_call(t)) != 0)
		return tool_report(t, "policy check", r);
	if (wid_decision_decode(&t->conn.buf, &d) != 0 ||
	    wid_get_end(&t->conn.buf) != 0)
		return tool_report(t, "policy check", WID_E_PROTO);
	tool_sanitize(d.rule, rule, sizeof(rule));
	tool_sanitize(d.reason, reason, sizeof(reason));
	printf("%s rule=%s: %s\n", d.allow ? "allow" : "deny", rule, reason);
	return d.allow ? TOOL_EXIT_OK : TOOL_EXIT_FAIL;
}

static int
policy_lint(int argc, char **argv)
{
	struct policy *p = NULL;
	char err[512];

	if (argc != 2)
		return usage_err("lint: expected one", "FILE");
	if (policy_load(argv[1], &p, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return TOOL_EXIT_FAIL;
	}
	printf("%s: ok (sha256 %s)\n", argv[1], policy_hash(p));
	policy_unref(p);
	return TOOL_EXIT_OK;
}

static int
policy_reload(struct tool *t, int argc, char **argv)
{
	const uint8_t *p;
	uint16_t n;
	char hash[WID_HASH_HEX_LEN + 1];
	int r;

	if (argc != 1)
		return usage_err("reload: unexpected argument", argv[1]);
	if ((r = tool_open(t)) != 0)
		return tool_report(t, "policy reload", r);
	wid_conn_req(&t->conn, WID_OP_POLICY_RELOAD);
	if ((r = tool_call(t)) != 0)
		return tool_report(t, "policy reload", r);
	if (wid_get_blob(&t->conn.buf, &p, &n, WID_HASH_HEX_LEN) != 0 ||
	    wid_get_end(&t->conn.buf) != 0)
		return tool_report(t, "policy reload", WID_E_PROTO);
	memcpy(hash, p, n);
	hash[n] = '\0';
	tool_sanitize(hash, hash, sizeof(hash));
	printf("policy reloaded (sha256 %s)\n", hash);
	return TOOL_EXIT_OK;
}

int
cmd_policy(struct tool *t, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";

	if (strcmp(sub, "check") == 0)
		return policy_check(t, argc - 1, argv + 1);
	if (strcmp(sub, "lint") == 0)
		return policy_lint(argc - 1, argv + 1);
	if (strcmp(sub, "reload") == 0)
		return policy_reload(t, argc - 1, argv + 1);
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 ||
	    strcmp(sub, "help") == 0) {
		usage_policy(stdout);
		return TOOL_EXIT_OK;
	}
	return usage_err("unknown or missing subcommand (check, lint, "
	    "reload):", sub);
}
