/* tests/unit/test_tool_e2e.c: wid-tool against the real wid-agent from the
 * build tree: exit codes, exec (embedded agent, environment, exit status,
 * signal forwarding, cleanup), task start/list/show/end, and a task bound
 * to a SIGKILLed wid-tool.  Skipped when wid-agent is not built.  Every
 * process is started here and stopped by its pid. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

static char builddir[512], tool[600], agent[600], tmp[256];
static pid_t agent_pid; /* the standalone agent of the running test */

static void
path(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", tmp, name);
}

static char *
slurp(const char *file)
{
	static char buf[16384];
	FILE *f = fopen(file, "r");
	size_t n = 0;

	buf[0] = '\0';
	if (f != NULL) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Starts wid-tool with argv (NULL-terminated) and stdout/stderr in
 * tmp/out and tmp/err; returns its pid. */
static pid_t
spawn_tool(char *const argv[])
{
	char out[300], err[300];
	pid_t pid;

	path(out, sizeof(out), "out");
	path(err, sizeof(err), "err");
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(99);
		execv(tool, argv);
		_exit(98);
	}
	return pid;
}

static int
wait_status(pid_t pid)
{
	int st;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

#define TOOL(...) wait_status(spawn_tool((char *const[]){ "wid-tool", __VA_ARGS__, NULL }))

static int
wait_file(const char *file, int ms)
{
	struct stat st;

	for (; ms > 0; ms -= 20) {
		if (stat(file, &st) == 0 && st.st_size > 0)
			return 0;
		sleep_ms(20);
	}
	return -1;
}

static int
setup(void **state)
{
	const char *b = getenv("WID_BUILDDIR");

	snprintf(builddir, sizeof(builddir), "%s", b != NULL ? b : ".");
	snprintf(tool, sizeof(tool), "%s/wid-tool", builddir);
	snprintf(agent, sizeof(agent), "%s/wid-agent", builddir);
	snprintf(tmp, sizeof(tmp), "/tmp/wid-tool-e2e.XXXXXX");
	if (mkdtemp(tmp) == NULL)
		return -1;
	/* Embedded agents go under our temp dir; no agent elsewhere. */
	setenv("XDG_RUNTIME_DIR", tmp, 1);
	unsetenv("WID_AGENT_SOCK");
	unsetenv("WID_TASK");
	setenv("WID_AGENT_BIN", agent, 1);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[400];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	return system(cmd) == 0 ? 0 : -1;
}

static void
need_agent(void)
{
	if (access(agent, X_OK) != 0 || access(tool, X_OK) != 0)
		skip();
}

static void
test_usage_and_no_agent(void **state)
{
	char sock[300];

	need_agent();
	path(sock, sizeof(sock), "none.sock");
	assert_int_equal(TOOL("--socket", sock, "status"), 3);
	assert_non_null(strstr(slurp(strcat(strcpy(sock, tmp), "/err")),
	    "no agent at"));
	assert_int_equal(TOOL("frob"), 2);
	assert_int_equal(TOOL("task", "start", "--ttl", "31d"), 2);
	assert_int_equal(TOOL("--version"), 0);
	assert_int_equal(TOOL("task", "list", "--help"), 0);
}

static void
test_exec_embedded(void **state)
{
	char envfile[300], out[300], script[1024], dir[300];
	char *p;

	need_agent();
	path(envfile, sizeof(envfile), "env");
	snprintf(script, sizeof(script), "echo \"$WID_AGENT_SOCK $WID_TASK\" "
	    "> '%s'; '%s' task show \"$WID_TASK\" >/dev/null || exit 90; "
	    "exit 7", envfile, tool);
	assert_int_equal(TOOL("exec", "--ttl", "1m", "--id", "e2e-1", "--",
	    "sh", "-c", script), 7);
	p = slurp(envfile);
	/* The socket was in a private dir under XDG_RUNTIME_DIR ... */
	assert_true(strncmp(p, tmp, strlen(tmp)) == 0);
	assert_non_null(strstr(p, "/agent.sock e2e-1\n"));
	snprintf(dir, sizeof(dir), "%s", p);
	*strrchr(dir, '/') = '\0';
	/* ... which is gone now. */
	assert_int_equal(access(dir, F_OK), -1);
	path(out, sizeof(out), "err");
	assert_non_null(strstr(slurp(out), "task e2e-1 (ec-p256) expires"));

	/* Killed by a signal: 128 + signal. */
	assert_int_equal(TOOL("exec", "-q", "--ttl", "1m", "--", "sh", "-c",
	    "kill -KILL $$"), 128 + SIGKILL);
	/* Not found: 127. */
	assert_int_equal(TOOL("exec", "-q", "--ttl", "1m", "--",
	    "/nonexistent/cmd"), 127);
}

static void
test_exec_forwards_signals(void **state)
{
	char ready[300], script[600];
	pid_t pid;

	need_agent();
	path(ready, sizeof(ready), "ready");
	snprintf(script, sizeof(script), "trap 'exit 42' TERM; echo up > '%s';"
	    " while :; do sleep 0.05; done", ready);
	pid = spawn_tool((char *const[]){ "wid-tool", "exec", "-q", "--ttl",
	    "1m", "--", "sh", "-c", script, NULL });
	assert_int_equal(wait_file(ready, 5000), 0);
	assert_int_equal(kill(pid, SIGTERM), 0);
	assert_int_equal(wait_status(pid), 42);
}

/* A standalone agent on tmp/NAME; stopped by stop_agent (also when a
 * test fails). */
static void
start_agent(const char *name, char *sock, size_t n)
{
	int p[2];
	char fd[16], byte;
	pid_t pid;

	path(sock, n, name);
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		snprintf(fd, sizeof(fd), "%d", p[1]);
		execl(agent, "wid-agent", "--foreground", "--socket", sock,
		    "--ready-fd", fd, (char *)NULL);
		_exit(98);
	}
	agent_pid = pid;
	close(p[1]);
	assert_int_equal(read(p[0], &byte, 1), 1);
	close(p[0]);
}

static int
stop_agent(void **state)
{
	if (agent_pid > 0) {
		kill(agent_pid, SIGTERM);
		waitpid(agent_pid, NULL, 0);
	}
	agent_pid = 0;
	return 0;
}

static void
test_task_lifecycle(void **state)
{
	char sock[300], out[300];
	struct json_object *o, *v;

	need_agent();
	start_agent("life.sock", sock, sizeof(sock));
	path(out, sizeof(out), "out");

	assert_int_equal(TOOL("--socket", sock, "task", "start", "--ttl",
	    "10m", "--id", "life-1", "--quiet"), 0);
	assert_string_equal(slurp(out), "life-1\n");
	assert_int_equal(TOOL("--socket", sock, "task", "start", "--ttl",
	    "10m", "--id", "life-1"), 1);     /* id in use: agent says no */
	assert_int_equal(TOOL("--socket", sock, "task", "start", "--ttl",
	    "5m", "--id", "life-2", "--key", "ed25519", "--json"), 0);
	o = json_tokener_parse(slurp(out));
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "uri", &v));
	assert_string_equal(json_object_get_string(v),
	    "pkcs11:token=wid-ed25519;object=life-2");
	assert_true(json_object_object_get_ex(o, "ssh_public_key", &v));
	assert_true(strncmp(json_object_get_string(v), "ssh-ed25519 AAAA",
	    16) == 0);
	json_object_put(o);

	assert_int_equal(TOOL("--socket", sock, "task", "list"), 0);
	assert_non_null(strstr(slurp(out), "ID "));
	assert_non_null(strstr(slurp(out), "life-1 "));
	assert_non_null(strstr(slurp(out), "life-2 "));
	assert_int_equal(TOOL("--socket", sock, "pubkey", "life-1",
	    "--format", "pem"), 0);
	assert_non_null(strstr(slurp(out), "-----BEGIN PUBLIC KEY-----"));

	assert_int_equal(TOOL("--socket", sock, "task", "end", "life-1"), 0);
	assert_int_equal(TOOL("--socket", sock, "task", "end", "life-1"), 1);
	assert_int_equal(TOOL("--socket", sock, "task", "show", "nope"), 1);
	/* Ended tasks are either listed as such or not listed. */
	if (TOOL("--socket", sock, "task", "show", "life-1") == 0)
		assert_null(strstr(slurp(out), "state:         active"));
}

/* The exec task is bound to wid-tool: SIGKILL it and the task ends. */
static void
test_exec_bound_to_tool(void **state)
{
	char sock[300], ready[300], out[300], script[600];
	pid_t pid;
	long child;
	int tries;

	need_agent();
	start_agent("bound.sock", sock, sizeof(sock));
	path(ready, sizeof(ready), "ready2");
	path(out, sizeof(out), "out");
	snprintf(script, sizeof(script), "echo $$ > '%s'; sleep 30", ready);
	pid = spawn_tool((char *const[]){ "wid-tool", "--socket", sock,
	    "exec", "-q", "--ttl", "1m", "--id", "bound-1", "--", "sh", "-c",
	    script, NULL });
	assert_int_equal(wait_file(ready, 5000), 0);
	child = strtol(slurp(ready), NULL, 10);
	assert_int_equal(TOOL("--socket", sock, "task", "show", "bound-1"), 0);
	assert_non_null(strstr(slurp(out), "state:         active"));

	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	for (tries = 0; tries < 100; tries++) {
		if (TOOL("--socket", sock, "task", "show", "bound-1") != 0 ||
		    strstr(slurp(out), "state:         active") == NULL)
			break;
		sleep_ms(20);
	}
	assert_true(tries < 100);
	if (child > 1)
		kill((pid_t)child, SIGKILL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_usage_and_no_agent),
		cmocka_unit_test(test_exec_embedded),
		cmocka_unit_test(test_exec_forwards_signals),
		cmocka_unit_test_teardown(test_task_lifecycle, stop_agent),
		cmocka_unit_test_teardown(test_exec_bound_to_tool, stop_agent),
	};

	return cmocka_run_group_tests_name("tool-e2e", tests, setup, teardown);
}
