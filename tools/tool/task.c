/* tools/tool/task.c: `task start|end|list|show`, `pubkey` and `status`. */
#include "config.h"

#include <getopt.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "wid/err.h"
#include "wid/pubkey.h"
#include "tool.h"

static const struct option json_opts[] = {
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const struct option pubkey_opts[] = {
	{ "format", required_argument, NULL, 'f' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void
usage_task(FILE *f)
{
	fputs("usage: wid-tool task start --ttl DUR [options]\n"
	    "       wid-tool task end ID\n"
	    "       wid-tool task list [--json]\n"
	    "       wid-tool task show ID [--json]\n"
	    "\n"
	    "task start: create a task and its key in the agent; prints the id,\n"
	    "the PKCS#11 URI, the OpenSSH public key and the expiry.\n", f);
	tool_start_opts_usage(f);
	fputs("  --json               print one JSON object\n"
	    "  -q, --quiet, --id-only  print only the task id\n"
	    "task end: end a task now; its key is destroyed.\n"
	    "task list: the tasks you can see.\n"
	    "task show: every field of one task.\n"
	    "task attest ID [-o FILE]: TPM evidence for the task's key\n"
	    "  (wid-tool attest --help).\n"
	    "task approve ID [--comment TEXT]: activate a pending task (you\n"
	    "  must be an approver the policy names, not its requester).\n"
	    "task deny ID [--comment TEXT]: refuse it; its key is destroyed.\n", f);
}

static void
usage_pubkey(FILE *f)
{
	fputs("usage: wid-tool pubkey ID [--format ssh|pem]\n"
	    "Prints the public key of task ID as an OpenSSH line (default) or\n"
	    "as PEM SubjectPublicKeyInfo.\n", f);
}

static void
usage_status(FILE *f)
{
	fputs("usage: wid-tool status [--json]\n"
	    "Says whether an agent answers on the socket and what it holds.\n"
	    "Exit 3 when none does.\n", f);
}

/* Parses [--json] [--help] and at most `nargs` positional arguments (all
 * required).  Returns -1 to go on, else an exit code. */
static int
parse_simple(int argc, char **argv, const char *cmd, int nargs,
             void (*usage)(FILE *), int *ret_json)
{
	int c;

	*ret_json = 0;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", json_opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			*ret_json = 1;
			break;
		case 'h':
			usage(stdout);
			return TOOL_EXIT_OK;
		default:
			return tool_usage_error(cmd, "unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	if (argc - optind < nargs)
		return tool_usage_error(cmd, "%s", nargs == 1 ? "missing task ID" :
		    "missing argument");
	if (argc - optind > nargs)
		return tool_usage_error(cmd, "unexpected argument '%s'",
		    argv[optind + nargs]);
	if (nargs == 1 && !wid_task_id_valid(argv[optind]))
		return tool_usage_error(cmd, "invalid task id '%s'", argv[optind]);
	return -1;
}

static int
task_start(struct tool *t, int argc, char **argv)
{
	struct tool_start_opts o;
	struct wid_task task;
	int r;

	if ((r = tool_start_opts_parse(argc, argv, 0, &o)) != 0)
		return r;
	if (o.help) {
		usage_task(stdout);
		return TOOL_EXIT_OK;
	}
	if ((r = tool_task_start(t, &o.req, &task)) != 0)
		return tool_report(t, "task start", r);
	if (o.quiet)
		printf("%s\n", task.id);
	else if (o.json)
		tool_print_json_task(stdout, &task, 1);
	else
		tool_print_start(stdout, &task);
	return TOOL_EXIT_OK;
}

static int
task_end(struct tool *t, int argc, char **argv)
{
	int r, json;

	if ((r = parse_simple(argc, argv, "task end", 1, usage_task,
	    &json)) >= 0)
		return r;
	if (json)
		return tool_usage_error("task end", "unknown option '%s'", "--json");
	if ((r = tool_task_end(t, argv[optind])) != 0)
		return tool_report(t, "task end", r);
	return TOOL_EXIT_OK;
}

static int
task_list(struct tool *t, int argc, char **argv)
{
	struct wid_task *tasks;
	size_t n;
	int r, json;

	if ((r = parse_simple(argc, argv, "task list", 0, usage_task,
	    &json)) >= 0)
		return r;
	if ((r = tool_list(t, NULL, &tasks, &n)) != 0)
		return tool_report(t, "task list", r);
	if (json)
		tool_print_json_list(stdout, tasks, n);
	else
		tool_print_table(stdout, tasks, n);
	free(tasks);
	return TOOL_EXIT_OK;
}

/* The one task named id, or an exit code. */
static int
find_task(struct tool *t, const char *what, const char *id,
          struct wid_task *ret_task)
{
	struct wid_task *tasks;
	size_t n;
	int r;

	if ((r = tool_list(t, id, &tasks, &n)) != 0)
		return tool_report(t, what, r);
	if (n != 1) {
		free(tasks);
		fprintf(stderr, TOOL_NAME " %s: no task '%s' visible to you\n",
		    what, id);
		return TOOL_EXIT_FAIL;
	}
	*ret_task = tasks[0];
	free(tasks);
	return TOOL_EXIT_OK;
}

static int
task_show(struct tool *t, int argc, char **argv)
{
	struct wid_task task;
	int r, json;

	if ((r = parse_simple(argc, argv, "task show", 1, usage_task,
	    &json)) >= 0)
		return r;
	if ((r = find_task(t, "task show", argv[optind], &task)) != 0)
		return r;
	if (json)
		tool_print_json_task(stdout, &task, 1);
	else
		tool_print_show(stdout, &task);
	return TOOL_EXIT_OK;
}

int
cmd_task(struct tool *t, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;

	if (sub == NULL) {
		fprintf(stderr, TOOL_NAME " task: missing subcommand "
		    "(start, end, list, show)\n");
		tool_usage_hint("task");
		return TOOL_EXIT_USAGE;
	}
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 ||
	    strcmp(sub, "help") == 0) {
		usage_task(stdout);
		return TOOL_EXIT_OK;
	}
	if (strcmp(sub, "start") == 0)
		return task_start(t, argc - 1, argv + 1);
	if (strcmp(sub, "end") == 0)
		return task_end(t, argc - 1, argv + 1);
	if (strcmp(sub, "list") == 0 || strcmp(sub, "ls") == 0)
		return task_list(t, argc - 1, argv + 1);
	if (strcmp(sub, "attest") == 0)
		return task_attest(t, argc - 1, argv + 1);
	if (strcmp(sub, "show") == 0)
		return task_show(t, argc - 1, argv + 1);
	if (strcmp(sub, "approve") == 0 || strcmp(sub, "deny") == 0)
		return task_decide(t, argc - 1, argv + 1);
	fprintf(stderr, TOOL_NAME " task: unknown subcommand '%s'\n", sub);
	tool_usage_hint("task");
	return TOOL_EXIT_USAGE;
}

int
cmd_pubkey(struct tool *t, int argc, char **argv)
{
	struct wid_task task;
	char out[2048];
	int c, r, pem = 0;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hf:", pubkey_opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (strcmp(optarg, "ssh") == 0)
				pem = 0;
			else if (strcmp(optarg, "pem") == 0)
				pem = 1;
			else
				return tool_usage_error("pubkey", "unknown --format "
				    "'%s' (ssh or pem)", optarg);
			break;
		case 'h':
			usage_pubkey(stdout);
			return TOOL_EXIT_OK;
		case ':':
			return tool_usage_error("pubkey", "option '%s' needs a "
			    "value", argv[optind - 1]);
		default:
			return tool_usage_error("pubkey", "unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return tool_usage_error("pubkey", "%s", "expected one task ID");
	if (!wid_task_id_valid(argv[optind]))
		return tool_usage_error("pubkey", "invalid task id '%s'",
		    argv[optind]);
	if ((r = find_task(t, "pubkey", argv[optind], &task)) != 0)
		return r;
	if (pem)
		r = wid_pubkey_pem(task.spki, task.spki_len, out, sizeof(out));
	else
		r = wid_pubkey_ssh(task.spki, task.spki_len, task.id, out,
		    sizeof(out));
	if (r != 0) {
		fprintf(stderr, TOOL_NAME " pubkey: %s: %s\n", task.id,
		    wid_strerror(r));
		return TOOL_EXIT_FAIL;
	}
	fputs(out, stdout);
	if (!pem)
		fputc('\n', stdout);
	return TOOL_EXIT_OK;
}

int
cmd_status(struct tool *t, int argc, char **argv)
{
	struct wid_status st;
	char when[TOOL_TIME_LEN], version[sizeof(st.version)];
	char text[sizeof(st.audit_path)];
	int r, json;

	if ((r = parse_simple(argc, argv, "status", 0, usage_status,
	    &json)) >= 0)
		return r;
	if ((r = tool_status(t, &st)) != 0)
		return tool_report(t, "status", r);
	if (json)
		return tool_print_json_status(stdout, t->sock, &st) == 0 ?
		    TOOL_EXIT_OK : TOOL_EXIT_FAIL;
	tool_time_iso(st.started, when);
	tool_sanitize(st.version, version, sizeof(version));
	printf("agent:   %s (reachable)\n", t->sock);
	printf("version: %s\n", version);
	printf("backend: %s\n", st.backend == 1 ? "tpm" : "soft");
	printf("tpm:     %s\n", st.tpm ? "present" : "not in use");
	tool_sanitize(st.policy_hash, text, sizeof(text));
	printf("policy:  %s%s\n", text[0] != '\0' ? "loaded, sha256 " :
	    "none (built-in defaults)", text);
	printf("tasks:   %" PRIu32 " active, %" PRIu32 " pending\n",
	    st.tasks_active, st.tasks_pending);
	tool_sanitize(st.audit_path, text, sizeof(text));
	if (text[0] != '\0')
		printf("audit:   %s (%" PRIu64 " bytes)\n", text, st.audit_size);
	else
		printf("audit:   off\n");
	printf("uid:     %" PRIu32 "\n", st.uid);
	printf("pid:     %" PRIu32 "\n", st.pid);
	printf("started: %s\n", when);
	return TOOL_EXIT_OK;
}
