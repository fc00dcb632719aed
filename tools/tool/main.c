/* tools/tool/main.c: wid-tool's entry point: global options, command
 * dispatch, usage and exit codes. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "wid/err.h"
#include "tool.h"

static void
usage(FILE *f)
{
	fputs("usage: wid-tool [--socket PATH] [--help] [--version] COMMAND ...\n"
	    "\n"
	    "Manage short-lived per-task signing keys held by wid-agent.\n"
	    "\n"
	    "Commands:\n"
	    "  task start --ttl DUR [options]  start a task with its own key\n"
	    "  task end ID                     end a task now\n"
	    "  task list [--json]              tasks visible to you\n"
	    "  task show ID [--json]           every field of one task\n"
	    "  pubkey ID [--format ssh|pem]    a task's public key\n"
	    "  exec [options] -- CMD [ARGS]    run CMD with a task of its own,\n"
	    "                                  starting an agent if none answers\n"
	    "  status [--json]                 is an agent there, what it holds\n"
	    "  task attest ID [-o FILE]        TPM evidence for a task's key\n"
	    "  attest verify FILE              check TPM evidence offline\n"
	    "  task approve|deny ID [--comment TEXT]  decide a pending task\n"
	    "  policy check|lint|reload        explain a decision, check a file\n"
	    "  audit verify|show               check or read the audit log\n"
	    "  cert ID --ssh|--pem             a task's OpenSSH or X.509 certificate\n"
	    "  ca init [--ssh] [--x509]        create the agent's CA keys\n"
	    "  ca pubkey --ssh | ca cert --pem the CA, for TrustedUserCAKeys / TLS\n"
	    "  allowed-signers [ID] [--principal NAME]\n"
	    "                                  git/ssh-keygen allowed_signers lines\n"
	    "                                  valid only during the task\n"
	    "\n"
	    "Options:\n"
	    "  --socket PATH  agent socket (default: $WID_AGENT_SOCK, else\n"
	    "                 $XDG_RUNTIME_DIR/wid/agent.sock, else "
	    WID_SYSTEM_SOCK ")\n"
	    "  --help         this text; 'wid-tool COMMAND --help' for a command\n"
	    "  --version      print the version\n"
	    "\n"
	    "Exit status: 0 ok, 1 the operation failed (the agent said no),\n"
	    "2 usage error, 3 no agent answers.  exec returns CMD's status.\n",
	    f);
}

static const struct option long_opts[] = {
	{ "socket", required_argument, NULL, 's' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static const struct {
	const char *name;
	int (*fn)(struct tool *, int, char **);
} commands[] = {
	{ "task", cmd_task },
	{ "pubkey", cmd_pubkey },
	{ "exec", cmd_exec },
	{ "status", cmd_status },
	{ "attest", cmd_attest },
	{ "policy", cmd_policy },
	{ "audit", cmd_audit },
	{ "cert", cmd_cert },
	{ "ca", cmd_ca },
	{ "allowed-signers", cmd_allowed_signers },
};

int
main(int argc, char **argv)
{
	static struct tool t; /* 64 KiB message buffer: not on the stack */
	const char *sock = NULL;
	size_t i;
	int c;

	/* wid-tool needs only OpenSSL's built-in algorithms; it does not load
	 * the engines and providers that OPENSSL_CONF may name for others. */
	OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:hV", long_opts, NULL)) != -1) {
		switch (c) {
		case 's':
			sock = optarg;
			break;
		case 'h':
			usage(stdout);
			return TOOL_EXIT_OK;
		case 'V':
			printf(TOOL_NAME " %s\n", PACKAGE_VERSION);
			return TOOL_EXIT_OK;
		case ':':
			fprintf(stderr, TOOL_NAME ": option '%s' needs a "
			    "value\n", argv[optind - 1]);
			tool_usage_hint(NULL);
			return TOOL_EXIT_USAGE;
		default:
			fprintf(stderr, TOOL_NAME ": unknown option '%s'\n",
			    argv[optind - 1]);
			tool_usage_hint(NULL);
			return TOOL_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, TOOL_NAME ": missing command\n");
		tool_usage_hint(NULL);
		return TOOL_EXIT_USAGE;
	}
	if (tool_init(&t, sock) != 0) {
		fprintf(stderr, TOOL_NAME ": socket path too long (at most "
		    "%d bytes)\n", WID_PATH_MAX - 1);
		return TOOL_EXIT_USAGE;
	}
	if (strcmp(argv[optind], "help") == 0) {
		usage(stdout);
		return TOOL_EXIT_OK;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[optind], commands[i].name) == 0)
			return commands[i].fn(&t, argc - optind,
			    argv + optind);
	fprintf(stderr, TOOL_NAME ": unknown command '%s'\n", argv[optind]);
	tool_usage_hint(NULL);
	return TOOL_EXIT_USAGE;
}
