/* tools/tool/exec.c: `wid-tool exec`: run one command with its own task.
 * Uses the agent that answers, or starts an embedded one in a fresh 0700
 * directory; binds the task to this process; ends the task and stops the
 * embedded agent when the command exits, whatever way it exits. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "wid/duration.h"
#include "wid/err.h"
#include "tool.h"

#define AGENT_READY_TIMEOUT_MS 5000
#define AGENT_STOP_TIMEOUT_MS 5000
#define AGENT_NAME "wid-agent"

struct embedded {
	pid_t pid;               /* 0 when none was started */
	char dir[WID_PATH_MAX];
};

static void
usage_exec(FILE *f)
{
	fputs("usage: wid-tool exec --ttl DUR [options] -- CMD [ARGS...]\n"
	    "Runs CMD with a task of its own: WID_AGENT_SOCK and WID_TASK are\n"
	    "set in its environment; the task ends when CMD exits.  When no\n"
	    "agent answers, an embedded wid-agent is started for the command\n"
	    "and stopped after it.  Exit status: CMD's (128+N if killed by\n"
	    "signal N), or 1/2/3 when wid-tool itself fails.\n"
	    "SSH_AUTH_SOCK is set to the agent's ssh-agent socket, so ssh and\n"
	    "git use the task key without a PKCS#11 module.\n", f);
	tool_start_opts_usage(f);
	fputs("  -q, --quiet          do not print the task id and expiry to stderr\n"
	    "  --no-ssh-agent       do not set SSH_AUTH_SOCK\n"
	    "With --ssh-cert / --x509 the certificates are written to a private\n"
	    "directory for CMD: WID_SSH_CERT (for ssh -o CertificateFile),\n"
	    "WID_SSH_PUBKEY and WID_X509_CERT (PEM) name the files; they are\n"
	    "removed when CMD exits.\n"
	    "Environment: WID_AGENT_BIN overrides the wid-agent program.\n", f);
}

/* The wid-agent to start: $WID_AGENT_BIN, else next to this program,
 * else in WID_BINDIR. */
static int
agent_path(char *out, size_t n)
{
	char self[PATH_MAX];
	const char *env = getenv("WID_AGENT_BIN");
	ssize_t len;
	char *slash;
	int w;

	if (env != NULL && env[0] != '\0') {
		w = snprintf(out, n, "%s", env);
		return (w < 0 || (size_t)w >= n) ? -1 : 0;
	}
	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len > 0) {
		self[len] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			w = snprintf(out, n, "%s/" AGENT_NAME, self);
			if (w > 0 && (size_t)w < n && access(out, X_OK) == 0)
				return 0;
		}
	}
	w = snprintf(out, n, "%s/" AGENT_NAME, WID_BINDIR);
	return (w < 0 || (size_t)w >= n) ? -1 : 0;
}

/* Removes what the agent left in our private directory (no recursion:
 * it is ours and flat), then the directory. */
static void
remove_dir(const char *dir)
{
	struct dirent *de;
	DIR *d;

	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			if (unlinkat(dirfd(d), de->d_name, 0) != 0)
				fprintf(stderr, TOOL_NAME " exec: cannot remove "
				    "%s/%s: %s\n", dir, de->d_name,
				    strerror(errno));
		}
		closedir(d);
	}
	if (rmdir(dir) != 0 && errno != ENOENT)
		fprintf(stderr, TOOL_NAME " exec: cannot remove %s: %s\n", dir,
		    strerror(errno));
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void
embedded_stop(struct embedded *e)
{
	int status, waited = 0;

	if (e->pid > 0) {
		kill(e->pid, SIGTERM);
		while (waitpid(e->pid, &status, WNOHANG) == 0) {
			if (waited >= AGENT_STOP_TIMEOUT_MS) {
				fprintf(stderr, TOOL_NAME " exec: wid-agent "
				    "(pid %d) did not stop; killing it\n",
				    (int)e->pid);
				kill(e->pid, SIGKILL);
				waitpid(e->pid, &status, 0);
				break;
			}
			sleep_ms(10);
			waited += 10;
		}
		e->pid = 0;
	}
	if (e->dir[0] != '\0') {
		remove_dir(e->dir);
		e->dir[0] = '\0';
	}
}

/* Starts wid-agent on DIR/agent.sock and waits for its ready byte.
 * Writes the socket path into t->sock.  Prints why on failure. */
static int
embedded_start(struct tool *t, struct embedded *e, const sigset_t *oldmask)
{
	char bin[PATH_MAX], fdarg[16], sock[WID_PATH_MAX];
	const char *base = getenv("XDG_RUNTIME_DIR");
	struct pollfd pfd;
	int p[2] = { -1, -1 }, w, r = -1, waited;
	char byte;
	ssize_t n;

	if (agent_path(bin, sizeof(bin)) != 0) {
		fprintf(stderr, TOOL_NAME " exec: wid-agent path too long\n");
		return -1;
	}
	if (base == NULL || base[0] != '/' || access(base, W_OK | X_OK) != 0)
		base = "/tmp";
	w = snprintf(e->dir, sizeof(e->dir), "%s/wid-exec.XXXXXX", base);
	if (w < 0 || (size_t)w >= sizeof(e->dir) ||
	    (size_t)w + sizeof("/agent.sock") > sizeof(sock)) {
		fprintf(stderr, TOOL_NAME " exec: %s: path too long for a "
		    "socket\n", base);
		e->dir[0] = '\0';
		return -1;
	}
	if (mkdtemp(e->dir) == NULL) { /* mode 0700 */
		fprintf(stderr, TOOL_NAME " exec: mkdtemp %s: %s\n", e->dir,
		    strerror(errno));
		e->dir[0] = '\0';
		return -1;
	}
	snprintf(sock, sizeof(sock), "%s/agent.sock", e->dir);
	if (pipe2(p, O_CLOEXEC) != 0) {
		fprintf(stderr, TOOL_NAME " exec: pipe: %s\n", strerror(errno));
		goto out;
	}
	if ((e->pid = fork()) < 0) {
		e->pid = 0;
		fprintf(stderr, TOOL_NAME " exec: fork: %s\n", strerror(errno));
		goto out;
	}
	if (e->pid == 0) {
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

		/* Own process group: a terminal's ^C goes to the command,
		 * and we end the agent after the task.  It dies with us. */
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() == 1)
			_exit(127);
		if (null >= 0)
			dup2(null, STDIN_FILENO);
		dup2(STDERR_FILENO, STDOUT_FILENO);
		/* The write end survives exec; the read end does not. */
		if (fcntl(p[1], F_SETFD, 0) != 0)
			_exit(127);
		snprintf(fdarg, sizeof(fdarg), "%d", p[1]);
		sigprocmask(SIG_SETMASK, oldmask, NULL);
		/* A private agent for one command: the system agent's
		 * configuration (audit path, TPM, policy) is not for it. */
		execl(bin, AGENT_NAME, "--foreground", "--no-config",
		    "--socket", sock, "--ready-fd", fdarg, (char *)NULL);
		fprintf(stderr, TOOL_NAME " exec: cannot run %s: %s\n", bin,
		    strerror(errno));
		_exit(127);
	}
	close(p[1]);
	p[1] = -1;
	pfd.fd = p[0];
	pfd.events = POLLIN;
	for (waited = 0;;) {
		struct timespec t0, t1;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		w = poll(&pfd, 1, AGENT_READY_TIMEOUT_MS - waited);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		waited += (int)((t1.tv_sec - t0.tv_sec) * 1000 +
		    (t1.tv_nsec - t0.tv_nsec) / 1000000);
		if (w < 0 && errno == EINTR && waited < AGENT_READY_TIMEOUT_MS)
			continue;
		break;
	}
	if (w == 0) {
		fprintf(stderr, TOOL_NAME " exec: %s did not report ready "
		    "within %d s\n", bin, AGENT_READY_TIMEOUT_MS / 1000);
		goto out;
	}
	if (w < 0) {
		fprintf(stderr, TOOL_NAME " exec: poll: %s\n", strerror(errno));
		goto out;
	}
	while ((n = read(p[0], &byte, 1)) < 0 && errno == EINTR)
		;
	if (n != 1) {
		fprintf(stderr, TOOL_NAME " exec: %s exited before it was "
		    "ready\n", bin);
		goto out;
	}
	memcpy(t->sock, sock, sizeof(sock));
	r = 0;
out:
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	if (r != 0)
		embedded_stop(e);
	return r;
}

static pid_t
spawn_cmd(char **cmd, const char *sock, const char *task,
          const char *ssh_sock, const sigset_t *oldmask)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	if (setenv(WID_SOCK_ENV, sock, 1) != 0 ||
	    setenv(WID_TASK_ENV, task, 1) != 0 ||
	    (ssh_sock != NULL && setenv("SSH_AUTH_SOCK", ssh_sock, 1) != 0))
		_exit(127);
	sigprocmask(SIG_SETMASK, oldmask, NULL);
	execvp(cmd[0], cmd);
	fprintf(stderr, TOOL_NAME " exec: %s: %s\n", cmd[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

/* Waits for the command, forwarding the signals in `set` to it. */
static int
wait_cmd(pid_t pid, const sigset_t *set)
{
	siginfo_t si;
	int status;
	pid_t w;

	for (;;) {
		while ((w = waitpid(pid, &status, WNOHANG)) < 0 &&
		    errno == EINTR)
			;
		if (w == pid)
			break;
		if (w < 0)
			return TOOL_EXIT_FAIL;
		if (sigwaitinfo(set, &si) < 0)
			continue;
		if (si.si_signo != SIGCHLD)
			kill(pid, si.si_signo);
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return TOOL_EXIT_FAIL;
}

/* Ends the task; a task already gone is fine. */
static void
end_task(struct tool *t, const char *id)
{
	int r = tool_task_end(t, id);

	if (r == WID_E_IO) {
		tool_close(t);
		r = tool_task_end(t, id);
	}
	if (r != 0 && r != WID_E_NOTASK && r != WID_E_ENDED &&
	    r != WID_E_EXPIRED)
		tool_report(t, "exec: task end", r);
}

int
cmd_exec(struct tool *t, int argc, char **argv)
{
	struct tool_start_opts o;
	struct embedded e = { 0, "" };
	struct wid_task task;
	sigset_t set, oldmask;
	char exp[TOOL_TIME_LEN], left[32], ssh_sock[WID_PATH_MAX];
	char certdir[WID_PATH_MAX] = "";
	unsigned ca_bits;
	struct stat st;
	pid_t pid;
	int r;

	if ((r = tool_start_opts_parse(argc, argv, 1, &o)) != 0)
		return r;
	if (o.help) {
		usage_exec(stdout);
		return TOOL_EXIT_OK;
	}
	/* From here on signals are taken synchronously: a ^C before the
	 * command runs is delivered to it, never kills us mid-setup. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, &oldmask);

	if ((r = tool_open(t)) == WID_E_UNAVAILABLE) {
		if (embedded_start(t, &e, &oldmask) != 0) {
			r = TOOL_EXIT_NOAGENT;
			goto out;
		}
		r = tool_open(t);
	}
	if (r != 0) {
		r = tool_report(t, "exec", r);
		goto out;
	}
	o.req.flags |= WID_START_BIND_CALLER;
	/* Certificates need the CA: create it on demand (kept if it exists;
	 * a refusal is reported by the task start that follows). */
	ca_bits = ((o.req.flags & WID_START_SSH_CERT) != 0 ? WID_CA_SSH : 0) |
	    ((o.req.flags & WID_START_X509) != 0 ? WID_CA_X509 : 0);
	if (ca_bits != 0)
		(void)tool_ca_init(t, ca_bits);
	if ((r = tool_task_start(t, &o.req, &task)) != 0) {
		r = tool_report(t, "exec: task start", r);
		goto out;
	}
	if (task.state == WID_STATE_PENDING) {
		if (!o.wait_approval) {
			fprintf(stderr, TOOL_NAME " exec: task %s (scope %s) "
			    "needs approval; use --wait-approval to wait for "
			    "it\n", task.id, task.scope);
			end_task(t, task.id);
			r = TOOL_EXIT_FAIL;
			goto out;
		}
		if ((r = tool_wait_approval(t, &task, o.wait_timeout,
		    &task)) != 0) {
			end_task(t, task.id);
			goto out;
		}
	}
	if ((r = tool_cert_files_write(t, &task, certdir,
	    sizeof(certdir))) != 0) {
		end_task(t, task.id);
		goto out;
	}
	if (!o.quiet) {
		tool_time_iso(task.expires, exp);
		tool_remaining(&task, (int64_t)time(NULL), left, sizeof(left));
		fprintf(stderr, TOOL_NAME ": task %s (%s) expires %s (in %s)\n",
		    task.id, wid_key_type_name(task.key_type) ?
		    wid_key_type_name(task.key_type) : "?", exp, left);
	}
	/* The agent's ssh-agent socket, when it has one. */
	if (o.no_ssh_agent ||
	    tool_ssh_agent_path(t, ssh_sock, sizeof(ssh_sock)) != 0 ||
	    stat(ssh_sock, &st) != 0 || !S_ISSOCK(st.st_mode)) {
		if (!o.no_ssh_agent && !o.quiet)
			fprintf(stderr, TOOL_NAME ": the agent has no "
			    "ssh-agent socket; SSH_AUTH_SOCK left alone\n");
		ssh_sock[0] = '\0';
	}
	fflush(NULL);
	if ((pid = spawn_cmd(argv + o.cmd_index, t->sock, task.id,
	    ssh_sock[0] != '\0' ? ssh_sock : NULL, &oldmask)) < 0) {
		fprintf(stderr, TOOL_NAME " exec: fork: %s\n", strerror(errno));
		r = TOOL_EXIT_FAIL;
	} else {
		r = wait_cmd(pid, &set);
	}
	end_task(t, task.id);
	tool_cert_files_remove(certdir);
out:
	tool_close(t);
	embedded_stop(&e);
	/* The mask stays: a late SIGTERM must not replace CMD's status,
	 * and the caller exits with r right away. */
	return r;
}
