/* tools/tool/audit_cmd.c: `wid-tool audit verify|show`: check the audit
 * log's hash chain and signed checkpoints, and print a task's timeline.
 * Without --file, show reads the log of the running agent (its path comes
 * from STATUS). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "wid/err.h"
#include "audit.h"
#include "tool.h"

#define PEM_MAX 4096

enum { OPT_KEY = 256, OPT_TASK, OPT_SINCE, OPT_JSON, OPT_FILE, OPT_HELP,
	OPT_RUNNING };

static const struct option audit_opts[] = {
	{ "key", required_argument, NULL, OPT_KEY },
	{ "task", required_argument, NULL, OPT_TASK },
	{ "since", required_argument, NULL, OPT_SINCE },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "file", required_argument, NULL, OPT_FILE },
	{ "running", no_argument, NULL, OPT_RUNNING },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static void
usage_audit(FILE *f)
{
	fputs("usage: wid-tool audit verify FILE [--key PUB] [--running]\n"
	    "       wid-tool audit show [--task ID] [--since TIME] [--json]\n"
	    "                           [--file FILE]\n"
	    "verify: checks every line, the hash chain and the signed\n"
	    "  checkpoints; names the first bad line and why.  --key: a PEM\n"
	    "  public key every checkpoint must verify under (the agent's\n"
	    "  audit_key).  A log must end with the final checkpoint the\n"
	    "  agent writes at stop (else it was truncated or the agent\n"
	    "  crashed); --running accepts an unsigned tail (a live log).\n"
	    "  Exit 0 valid, 1 invalid.\n"
	    "show: the events (of one task), oldest first, as text or the raw\n"
	    "  JSON lines; TIME is a UTC prefix such as 2024-05-01T12:00.\n"
	    "  Without --file: the running agent's log.\n", f);
}

static int
usage_err(const char *what, const char *arg)
{
	fprintf(stderr, TOOL_NAME " audit: %s '%s'\n", what, arg);
	tool_usage_hint("audit");
	return TOOL_EXIT_USAGE;
}

static int
read_pem(const char *path, char *out, size_t size)
{
	FILE *f;
	size_t n;

	if ((f = fopen(path, "re")) == NULL) {
		fprintf(stderr, TOOL_NAME " audit verify: %s: %s\n", path,
		    strerror(errno));
		return -1;
	}
	n = fread(out, 1, size - 1, f);
	fclose(f);
	out[n] = '\0';
	return 0;
}

static int
audit_verify(const char *file, const char *key, int running)
{
	struct audit_verify_result res;
	char pem[PEM_MAX];
	int r;

	if (key != NULL && read_pem(key, pem, sizeof(pem)) != 0)
		return TOOL_EXIT_FAIL;
	memset(&res, 0, sizeof(res));
	r = audit_verify_file(file, key != NULL ? pem : NULL, &res);
	if (r == WID_E_AUDIT) {
		printf("%s:%" PRIu64 ": %s\n", file, res.bad_line, res.reason);
		printf("%s: INVALID (first bad line %" PRIu64 ")\n", file,
		    res.bad_line);
		return TOOL_EXIT_FAIL;
	}
	if (r != WID_OK) {
		fprintf(stderr, TOOL_NAME " audit verify: %s: %s\n", file,
		    wid_strerror(r));
		return TOOL_EXIT_FAIL;
	}
	if (!res.closed && !running) {
		printf("%s:%" PRIu64 ": truncated or unfinished: no final "
		    "checkpoint; %" PRIu64 " events after the last checkpoint "
		    "(line %" PRIu64 ") are unsigned\n", file, res.lines,
		    res.unsigned_tail, res.last_checkpoint_line);
		printf("%s: INVALID (does not end with the agent's final "
		    "checkpoint; --running for a live log)\n", file);
		return TOOL_EXIT_FAIL;
	}
	printf("%s: OK: %" PRIu64 " lines (seq %" PRIu64 "), %" PRIu64
	    " checkpoints, %u sessions, %u audit keys%s, %s\n", file,
	    res.lines, res.last_seq, res.checkpoints, res.sessions, res.keys,
	    key != NULL ? " (pinned)" : "", res.closed ?
	    "ends with a final checkpoint" : "no final checkpoint yet");
	if (res.warning[0] != '\0')
		printf("%s: warning: %s\n", file, res.warning);
	return TOOL_EXIT_OK;
}

static int
audit_show(struct tool *t, const char *file, const char *task,
           const char *since, int json)
{
	struct wid_status st;
	int r;

	if (file == NULL) {
		if ((r = tool_status(t, &st)) != 0)
			return tool_report(t, "audit show", r);
		if (st.audit_path[0] == '\0') {
			fprintf(stderr, TOOL_NAME " audit show: the agent "
			    "keeps no audit log (wid-agent --audit FILE)\n");
			return TOOL_EXIT_FAIL;
		}
		file = st.audit_path;
	}
	if ((r = audit_show_file(file, task, since, json, stdout)) != 0) {
		fprintf(stderr, TOOL_NAME " audit show: %s: %s\n", file,
		    r == WID_E_IO ? strerror(errno) : wid_strerror(r));
		return TOOL_EXIT_FAIL;
	}
	return TOOL_EXIT_OK;
}

int
cmd_audit(struct tool *t, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";
	const char *key = NULL, *task = NULL, *since = NULL, *file = NULL;
	int c, json = 0, running = 0, verify = strcmp(sub, "verify") == 0;

	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 ||
	    strcmp(sub, "help") == 0) {
		usage_audit(stdout);
		return TOOL_EXIT_OK;
	}
	if (!verify && strcmp(sub, "show") != 0)
		return usage_err("unknown or missing subcommand (verify, "
		    "show):", sub);
	argc--;
	argv++;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", audit_opts, NULL)) != -1) {
		switch (c) {
		case OPT_KEY:
			key = optarg;
			break;
		case OPT_TASK:
			if (!wid_task_id_valid(optarg))
				return usage_err("--task: invalid task id",
				    optarg);
			task = optarg;
			break;
		case OPT_SINCE:
			since = optarg;
			break;
		case OPT_JSON:
			json = 1;
			break;
		case OPT_FILE:
			file = optarg;
			break;
		case OPT_RUNNING:
			running = 1;
			break;
		case 'h':
		case OPT_HELP:
			usage_audit(stdout);
			return TOOL_EXIT_OK;
		default:
			return usage_err("bad option", argv[optind - 1]);
		}
	}
	if (verify) {
		if (task != NULL || since != NULL || json || file != NULL)
			return usage_err("verify takes FILE and --key only:",
			    "");
		if (argc - optind != 1)
			return usage_err("verify: expected one", "FILE");
		return audit_verify(argv[optind], key, running);
	}
	if (key != NULL)
		return usage_err("show does not take", "--key");
	if (optind != argc)
		return usage_err("unexpected argument", argv[optind]);
	return audit_show(t, file, task, since, json);
}
