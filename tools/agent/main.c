/* tools/agent/main.c: wid-agent's command line, start-up order,
 * daemonizing, signals and shutdown. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "wid/client.h"
#include "wid/err.h"
#include "activation.h"
#include "agent.h"
#include "hardening.h"
#include "log.h"
#include "server.h"
#include "sshagent.h"
#ifdef WID_HAVE_TPM
#include "tpm.h"
#endif

#define WID_DEFAULT_CONFIG WID_SYSCONFDIR "/wid/wid.conf"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: wid-agent [--socket PATH] [--config FILE | --no-config]\n"
	    "                 [--foreground] [--ready-fd N] [--help] [--version]\n"
	    "\n"
	    "Owns short-lived task keys and signs with them for callers on\n"
	    "its Unix socket (default: $WID_AGENT_SOCK, else\n"
	    "$XDG_RUNTIME_DIR/wid/agent.sock, else %s).\n"
	    "\n"
	    "  -s, --socket PATH   listen on PATH\n"
	    "      --ssh-agent-socket PATH  speak the ssh-agent protocol on PATH\n"
	    "                      (default: ssh-agent.sock next to the socket;\n"
	    "                      \"none\": do not)\n"
	    "  -c, --config FILE   read the YAML configuration FILE (default:\n"
	    "                      %s when it exists)\n"
	    "  -n, --no-config     built-in defaults; do not read %s\n"
	    "      --audit FILE    append the audit log (JSON Lines) to FILE\n"
	    "      --policy FILE   decide issuance and use by the policy FILE\n"
	    "                      (SIGHUP or 'wid-tool policy reload' reloads)\n"
	    "  -b, --backend NAME  key backend for new tasks: soft or tpm\n"
	    "                      (TCTI: $WID_TPM_TCTI, else tpm_tcti in the\n"
	    "                      config, else device:/dev/tpmrm0)\n"
	    "  -f, --foreground    do not daemonize; log to stderr\n"
	    "      --ready-fd N    write \"1\" to descriptor N once listening\n"
	    "  -h, --help          show this help\n"
	    "  -V, --version       show the version\n"
	    "\n"
	    "Under systemd socket activation (wid-agent.socket) the socket\n"
	    "systemd passes is used and --socket is ignored.\n",
	    WID_SYSTEM_SOCK, WID_DEFAULT_CONFIG, WID_DEFAULT_CONFIG);
}

static int
parse_fd(const char *s, int *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > INT_MAX ||
	    fcntl((int)v, F_GETFD) < 0)
		return -1;
	*ret = (int)v;
	return 0;
}

/* fork + setsid; the parent exits 0.  Standard descriptors go to
 * /dev/null except keep_fd. */
static int
daemonize(int keep_fd)
{
	pid_t pid;
	int fd, i;

	if ((pid = fork()) < 0) {
		fprintf(stderr, "wid-agent: fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid > 0)
		_exit(0);
	if (setsid() < 0 || chdir("/") != 0)
		return -1;
	if ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
		return -1;
	for (i = 0; i <= 2; i++)
		if (i != keep_fd && dup2(fd, i) < 0)
			return -1;
	if (fd > 2)
		close(fd);
	return 0;
}

static void
signal_ready(int fd)
{
	ssize_t w;

	do
		w = write(fd, "1", 1);
	while (w < 0 && errno == EINTR);
	if (w != 1)
		wid_warn("--ready-fd %d: %s", fd, strerror(errno));
	close(fd);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "no-config", no_argument, NULL, 'n' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "ready-fd", required_argument, NULL, 'r' },
		{ "ssh-agent-socket", required_argument, NULL, 'A' },
		{ "audit", required_argument, NULL, 'a' },
		{ "policy", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "backend", required_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	static struct wid_agent agent;
	struct wid_listener lis = { .fd = -1 }, sshlis = { .fd = -1 };
	const char *opt_ssh = NULL, *opt_audit = NULL, *opt_policy = NULL;
	struct wid_caller self;
	int gov_up = 0;
	char sshpath[WID_PATH_MAX];
	struct wid_server srv;
	const char *opt_socket = NULL, *opt_config = NULL, *why;
	const char *opt_backend = NULL;
	char path[WID_PATH_MAX], err[512];
	int foreground = 0, ready_fd = -1, ch, sig, server_up = 0;
	int tasks_up = 0, rc = 1, no_config = 0, activated_fd = -1;
	sigset_t sigs;

	/* The agent holds keys: no engine or provider named by OPENSSL_CONF
	 * (a caller's environment) is ever loaded into it. */
	OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
	while ((ch = getopt_long(argc, argv, "s:c:nfhVb:", opts, NULL)) != -1) {
		switch (ch) {
		case 'b':
			opt_backend = optarg;
			break;
		case 's':
			opt_socket = optarg;
			break;
		case 'c':
			opt_config = optarg;
			break;
		case 'n':
			no_config = 1;
			break;
		case 'f':
			foreground = 1;
			break;
		case 'A':
			opt_ssh = optarg;
			break;
		case 'a':
			opt_audit = optarg;
			break;
		case 'p':
			opt_policy = optarg;
			break;
		case 'r':
			if (parse_fd(optarg, &ready_fd) != 0) {
				fprintf(stderr, "wid-agent: --ready-fd: '%s' "
				    "is not an open descriptor\n", optarg);
				return 1;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("wid-agent %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "wid-agent: unexpected argument '%s'\n",
		    argv[optind]);
		usage(stderr);
		return 1;
	}

	wid_log_init(1);
	if (wid_harden_process() != 0)
		return 1;
	wid_config_defaults(&agent.conf);
	if (opt_config == NULL && !no_config &&
	    access(WID_DEFAULT_CONFIG, F_OK) == 0)
		opt_config = WID_DEFAULT_CONFIG;
	if (opt_config != NULL && no_config) {
		fprintf(stderr, "wid-agent: --config and --no-config "
		    "exclude each other\n");
		goto out;
	}
	if (opt_config != NULL &&
	    wid_config_load(&agent.conf, opt_config, err, sizeof(err)) != 0) {
		fprintf(stderr, "wid-agent: %s\n", err);
		goto out;
	}
	if ((opt_audit != NULL && snprintf(agent.conf.audit,
	    sizeof(agent.conf.audit), "%s", opt_audit) >=
	    (int)sizeof(agent.conf.audit)) ||
	    (opt_policy != NULL && snprintf(agent.conf.policy,
	    sizeof(agent.conf.policy), "%s", opt_policy) >=
	    (int)sizeof(agent.conf.policy))) {
		fprintf(stderr, "wid-agent: --audit/--policy path too long\n");
		goto out;
	}
	if (opt_backend != NULL && snprintf(agent.conf.backend,
	    sizeof(agent.conf.backend), "%s", opt_backend) >=
	    (int)sizeof(agent.conf.backend)) {
		fprintf(stderr, "wid-agent: backend '%s': unknown backend\n",
		    opt_backend);
		goto out;
	}
	if ((agent.ops = wid_backend_find(agent.conf.backend,
	    &agent.backend_id, &why)) == NULL) {
		fprintf(stderr, "wid-agent: backend '%s': %s\n",
		    agent.conf.backend, why);
		goto out;
	}
	if (wid_sock_path(opt_socket != NULL ? opt_socket :
	    agent.conf.socket, path) != 0) {
		fprintf(stderr, "wid-agent: socket path too long\n");
		goto out;
	}
	if (wid_listen_activated(&activated_fd, path, sizeof(path), err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "wid-agent: %s\n", err);
		goto out;
	}
	if (activated_fd >= 0)
		lis.fd = activated_fd; /* systemd owns the path: no unlink */
	else if (wid_listen(&lis, path, agent.conf.n_allow_uids > 0, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "wid-agent: %s\n", err);
		goto out;
	}
	if (opt_ssh == NULL)
		opt_ssh = agent.conf.ssh_agent_socket;
	if (opt_ssh[0] == '\0' ?
	    wid_sshagent_default_path(path, sshpath, sizeof(sshpath)) != 0 :
	    snprintf(sshpath, sizeof(sshpath), "%s", opt_ssh) >=
	    (int)sizeof(sshpath)) {
		fprintf(stderr, "wid-agent: ssh-agent socket path too long\n");
		goto out;
	}
	/* Only an explicitly named ssh-agent socket is a must. */
	if (strcmp(sshpath, "none") != 0 &&
	    wid_listen(&sshlis, sshpath, agent.conf.n_allow_uids > 0, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "wid-agent: ssh-agent socket: %s\n", err);
		if (opt_ssh[0] != '\0')
			goto out;
	}
	if (!foreground) {
		if (daemonize(ready_fd) != 0)
			goto out;
		wid_log_init(0);
	}

	/* Signals are taken synchronously by this thread only. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	if (wid_harden_secure_heap() != 0)
		goto out;
	agent.uid = (uint32_t)geteuid();
	agent.pid = (uint32_t)getpid();
	agent.started = wid_now_wall();
	/* ESYS logs every TPM error to stderr; the backend logs what matters
	 * (decoded) itself.  TSS2_LOG set by the user wins. */
	setenv("TSS2_LOG", "all+none", 0);
	if (agent.ops->open(getenv("WID_TPM_TCTI") != NULL ?
	    getenv("WID_TPM_TCTI") : agent.conf.tpm_tcti, &agent.bstate) != 0) {
		wid_error("cannot open the %s backend", agent.ops->name);
		goto out;
	}
#ifdef WID_HAVE_TPM
	if (agent.backend_id == WID_BACKEND_TPM) {
		char name[sizeof(agent.conf.tpm_srk_name)];

		if (wid_tpm_srk_name(agent.bstate, name, sizeof(name)) != 0) {
			wid_error("cannot read the TPM storage key's Name");
			goto out;
		}
		if (agent.conf.tpm_srk_name[0] != '\0' &&
		    strcmp(name, agent.conf.tpm_srk_name) != 0) {
			wid_error("the TPM storage key 0x%x has Name %s, but "
			    "tpm_srk_name pins %s: refusing to create keys "
			    "under another key (another TPM, or the key was "
			    "replaced)", WID_TPM_SRK_HANDLE, name,
			    agent.conf.tpm_srk_name);
			goto out;
		}
		wid_info("TPM storage key 0x%x, Name %s%s", WID_TPM_SRK_HANDLE,
		    name, agent.conf.tpm_srk_name[0] != '\0' ? " (pinned)" :
		    " (not pinned: set tpm_srk_name to pin it)");
	}
#endif
	if (wid_tasks_init(&agent.tasks, agent.ops, agent.bstate,
	    agent.backend_id) != 0) {
		wid_error("cannot set up the task table");
		goto out;
	}
	tasks_up = 1;
	memset(&self, 0, sizeof(self));
	self.uid = agent.uid;
	self.gid = (uint32_t)getegid();
	self.pid = agent.pid;
	if (wid_gov_open(&agent, &self, err, sizeof(err)) != 0) {
		fprintf(stderr, "wid-agent: %s\n", err);
		wid_error("%s", err);
		goto out;
	}
	gov_up = 1;
	if (wid_server_start(&srv, &agent, lis.fd) != 0)
		goto out;
	server_up = 1;
	if (sshlis.fd >= 0 && wid_server_add_ssh(&srv, sshlis.fd) != 0)
		goto out;
	wid_info("listening on %s (backend %s, max_ttl %us, pid %u)", path,
	    agent.ops->name, agent.conf.max_ttl, agent.pid);
	if (ready_fd >= 0) {
		signal_ready(ready_fd);
		ready_fd = -1;
	}

	for (;;) {
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			if (agent.gov.policy_path[0] == '\0')
				wid_info("SIGHUP: no policy file to reload");
			else
				wid_gov_reload(&agent, NULL, err,
				    sizeof(err));
			continue;
		}
		wid_info("%s: shutting down", sig == SIGTERM ? "SIGTERM" :
		    "SIGINT");
		break;
	}
	rc = 0;
out:
	if (server_up)
		wid_server_stop(&srv);
	if (tasks_up)
		wid_tasks_fini(&agent.tasks);   /* destroys every key */
	if (gov_up)
		wid_gov_close(&agent, rc == 0 ? "shutdown" : "start-up failed");
	wid_cert_fini(&agent);
	if (agent.ops != NULL && agent.bstate != NULL)
		agent.ops->close(agent.bstate);
	wid_unlisten(&lis);
	wid_unlisten(&sshlis);
	wid_config_free(&agent.conf);
	if (CRYPTO_secure_malloc_initialized())
		CRYPTO_secure_malloc_done();
	return rc;
}
