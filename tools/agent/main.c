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
#include "agent.h"
#include "hardening.h"
#include "log.h"
#include "server.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: wid-agent [--socket PATH] [--config FILE] [--foreground]\n"
	    "                 [--ready-fd N] [--help] [--version]\n"
	    "\n"
	    "Owns short-lived task keys and signs with them for callers on\n"
	    "its Unix socket (default: $WID_AGENT_SOCK, else\n"
	    "$XDG_RUNTIME_DIR/wid/agent.sock, else %s).\n"
	    "\n"
	    "  -s, --socket PATH   listen on PATH\n"
	    "  -c, --config FILE   read the YAML configuration FILE\n"
	    "  -f, --foreground    do not daemonize; log to stderr\n"
	    "      --ready-fd N    write \"1\" to descriptor N once listening\n"
	    "  -h, --help          show this help\n"
	    "  -V, --version       show the version\n", WID_SYSTEM_SOCK);
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
		{ "foreground", no_argument, NULL, 'f' },
		{ "ready-fd", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static struct wid_agent agent;
	struct wid_listener lis = { .fd = -1 };
	struct wid_server srv;
	const char *opt_socket = NULL, *opt_config = NULL, *why;
	char path[WID_PATH_MAX], err[512];
	int foreground = 0, ready_fd = -1, ch, sig, server_up = 0;
	int tasks_up = 0, rc = 1;
	sigset_t sigs;

	while ((ch = getopt_long(argc, argv, "s:c:fhV", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			opt_socket = optarg;
			break;
		case 'c':
			opt_config = optarg;
			break;
		case 'f':
			foreground = 1;
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
	if (opt_config != NULL &&
	    wid_config_load(&agent.conf, opt_config, err, sizeof(err)) != 0) {
		fprintf(stderr, "wid-agent: %s\n", err);
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
	if (wid_listen(&lis, path, agent.conf.n_allow_uids > 0, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "wid-agent: %s\n", err);
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
	if (agent.ops->open(agent.conf.tpm_tcti, &agent.bstate) != 0) {
		wid_error("cannot open the %s backend", agent.ops->name);
		goto out;
	}
	if (wid_tasks_init(&agent.tasks, agent.ops, agent.bstate,
	    agent.backend_id) != 0) {
		wid_error("cannot set up the task table");
		goto out;
	}
	tasks_up = 1;
	if (wid_server_start(&srv, &agent, lis.fd) != 0)
		goto out;
	server_up = 1;
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
			wid_info("SIGHUP ignored (reload is not supported)");
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
	if (agent.ops != NULL && agent.bstate != NULL)
		agent.ops->close(agent.bstate);
	wid_unlisten(&lis);
	wid_config_free(&agent.conf);
	if (CRYPTO_secure_malloc_initialized())
		CRYPTO_secure_malloc_done();
	return rc;
}
