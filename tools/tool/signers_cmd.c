/* tools/tool/signers_cmd.c: `wid-tool allowed-signers`: prints
 * ssh-keygen(1) ALLOWED SIGNERS lines for task keys, valid only during
 * their task (valid-after = start, valid-before = deadline), so `git
 * verify-commit` accepts signatures made while the task lived and rejects
 * signatures that claim another time. */
#include "config.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wid/err.h"
#include "wid/pubkey.h"
#include "tool.h"

#define NS_MAX 64

static const struct option signers_opts[] = {
	{ "principal", required_argument, NULL, 'p' },
	{ "namespace", required_argument, NULL, 'n' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void
usage_signers(FILE *f)
{
	fputs("usage: wid-tool allowed-signers [ID] [--principal NAME] "
	    "[--namespace NS]\n"
	    "Prints one allowed_signers line (ssh-keygen(1), git's\n"
	    "gpg.ssh.allowedSignersFile) per task key, valid from the task's\n"
	    "start to its deadline (UTC).  ID: that task; default $WID_TASK,\n"
	    "else every task you can see.\n"
	    "  --principal NAME  the signer's identity (default: the task id;\n"
	    "                    for git, the committer's e-mail)\n"
	    "  --namespace NS    the signature namespace (default: git)\n", f);
}

/* A principal or namespace goes into the file unquoted or quoted: refuse
 * what would break the line. */
static int
word_ok(const char *s, size_t max)
{
	const unsigned char *p;

	if (s[0] == '\0' || strlen(s) > max)
		return 0;
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f || *p == '"' || *p == '\\')
			return 0;
	return 1;
}

/* "YYYYMMDDHHMMSSZ" */
static int
fmt_stamp(int64_t t, char out[16])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, 16, "%Y%m%d%H%M%SZ", &tm) != 15)
		return -1;
	return 0;
}

static int
print_line(const struct wid_task *task, const char *principal,
           const char *ns)
{
	char key[2048], after[16], before[16];

	if (wid_pubkey_ssh(task->spki, task->spki_len, NULL, key,
	    sizeof(key)) != 0 || fmt_stamp(task->created, after) != 0 ||
	    fmt_stamp(task->expires, before) != 0) {
		fprintf(stderr, TOOL_NAME " allowed-signers: task %s: cannot "
		    "write its key as an OpenSSH key\n", task->id);
		return -1;
	}
	printf("%s namespaces=\"%s\",valid-after=\"%s\",valid-before=\"%s\" "
	    "%s\n", principal != NULL ? principal : task->id, ns, after,
	    before, key);
	return 0;
}

int
cmd_allowed_signers(struct tool *t, int argc, char **argv)
{
	const char *principal = NULL, *ns = "git", *id;
	struct wid_task *tasks = NULL;
	size_t n = 0, i, printed = 0;
	int c, r;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", signers_opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (!word_ok(optarg, WID_NAME_MAX)) {
				fprintf(stderr, TOOL_NAME " allowed-signers: "
				    "invalid --principal '%s' (printable, no "
				    "spaces or quotes)\n", optarg);
				return TOOL_EXIT_USAGE;
			}
			principal = optarg;
			break;
		case 'n':
			if (!word_ok(optarg, NS_MAX)) {
				fprintf(stderr, TOOL_NAME " allowed-signers: "
				    "invalid --namespace '%s'\n", optarg);
				return TOOL_EXIT_USAGE;
			}
			ns = optarg;
			break;
		case 'h':
			usage_signers(stdout);
			return TOOL_EXIT_OK;
		case ':':
			fprintf(stderr, TOOL_NAME " allowed-signers: option "
			    "'%s' needs a value\n", argv[optind - 1]);
			tool_usage_hint("allowed-signers");
			return TOOL_EXIT_USAGE;
		default:
			fprintf(stderr, TOOL_NAME " allowed-signers: unknown "
			    "option '%s'\n", argv[optind - 1]);
			tool_usage_hint("allowed-signers");
			return TOOL_EXIT_USAGE;
		}
	}
	if (argc - optind > 1) {
		fprintf(stderr, TOOL_NAME " allowed-signers: unexpected "
		    "argument '%s'\n", argv[optind + 1]);
		tool_usage_hint("allowed-signers");
		return TOOL_EXIT_USAGE;
	}
	id = optind < argc ? argv[optind] : getenv(WID_TASK_ENV);
	if (id != NULL && id[0] != '\0' && !wid_task_id_valid(id)) {
		fprintf(stderr, TOOL_NAME " allowed-signers: invalid task id "
		    "'%s'\n", id);
		return TOOL_EXIT_USAGE;
	}
	if ((r = tool_open_or_explain(t)) != 0)
		return r;
	if ((r = tool_list(t, id, &tasks, &n)) != 0) {
		r = tool_report(t, "allowed-signers", r);
		goto out;
	}
	if (id != NULL && id[0] != '\0' && n == 0) {
		fprintf(stderr, TOOL_NAME " allowed-signers: no task %s\n", id);
		r = TOOL_EXIT_FAIL;
		goto out;
	}
	r = TOOL_EXIT_OK;
	for (i = 0; i < n; i++) {
		if (tasks[i].state != WID_STATE_ACTIVE &&
		    tasks[i].state != WID_STATE_PENDING)
			continue;
		if (print_line(&tasks[i], principal, ns) != 0)
			r = TOOL_EXIT_FAIL;
		else
			printed++;
	}
	if (printed == 0 && r == TOOL_EXIT_OK && id != NULL && id[0] != '\0')
		r = TOOL_EXIT_FAIL;
out:
	free(tasks);
	tool_close(t);
	return r;
}
