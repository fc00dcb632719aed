/* tools/agent/peer.c: caller identity from the kernel (see peer.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "wid/err.h"
#include "peer.h"

#define CGROUP_MAX 1024

void
wid_peer_init(struct wid_peer *p)
{
	p->pid = 0;
	p->pidfd = -1;
	p->exe = NULL;
	p->cgroup = NULL;
}

void
wid_peer_clear(struct wid_peer *p)
{
	if (p->pidfd >= 0)
		close(p->pidfd);
	free(p->exe);
	free(p->cgroup);
	wid_peer_init(p);
}

int
wid_pidfd_open(pid_t pid)
{
	/* pidfds are close-on-exec by definition. */
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

int
wid_pidfd_exited(int pidfd)
{
	struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
	int r;

	do
		r = poll(&pfd, 1, 0);
	while (r < 0 && errno == EINTR);
	return r != 0;   /* readable (exited) or error: treat as gone */
}

static char *
read_exe(pid_t pid)
{
	char path[64], buf[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	/* EACCES for non-dumpable callers: the exe stays unknown. */
	if ((n = readlink(path, buf, sizeof(buf) - 1)) <= 0)
		return NULL;
	buf[n] = '\0';
	return strdup(buf);
}

/* The first line of /proc/PID/cgroup without its "N:controllers:" prefix
 * (cgroup v2: "0::/user.slice/..."). */
static char *
read_cgroup(pid_t pid)
{
	char path[64], buf[CGROUP_MAX], *nl, *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return NULL;
	do
		n = read(fd, buf, sizeof(buf) - 1);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	if ((nl = strchr(buf, '\n')) != NULL)
		*nl = '\0';
	if ((p = strchr(buf, ':')) == NULL || (p = strchr(p + 1, ':')) == NULL)
		return NULL;
	return strdup(p + 1);
}

int
wid_peer_refresh(struct wid_peer *p, pid_t pid)
{
	int pidfd;

	if (pid <= 0)
		return WID_E_DENIED;
	/* Cached: free.  A pid recycled while this connection stays open
	 * would need the new process to hold the same connection; even then
	 * exe/cgroup are hints and a binding to the stale pidfd ends at
	 * once (fail-safe). */
	if (p->pid == pid && p->pidfd >= 0)
		return 0;
	wid_peer_clear(p);
	if ((pidfd = wid_pidfd_open(pid)) < 0)
		return WID_E_DENIED;
	p->exe = read_exe(pid);
	p->cgroup = read_cgroup(pid);
	/* What we read belongs to `pid` only if it still lives now: a
	 * recycled pid would have made the pidfd readable. */
	if (wid_pidfd_exited(pidfd)) {
		close(pidfd);
		wid_peer_clear(p);
		return WID_E_DENIED;
	}
	p->pid = pid;
	p->pidfd = pidfd;
	return 0;
}

int
wid_peer_allowed(uint32_t uid, uint32_t agent_uid, const struct wid_config *c)
{
	size_t i;

	if (uid == agent_uid || uid == 0)
		return 1;
	for (i = 0; i < c->n_allow_uids; i++)
		if (c->allow_uids[i] == uid)
			return 1;
	return 0;
}
