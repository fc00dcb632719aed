/* tools/agent/activation.c: take the listening socket systemd created
 * (wid-agent.socket) instead of binding one: the LISTEN_PID / LISTEN_FDS
 * protocol of sd_listen_fds(3), checked strictly, without libsystemd. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "wid/err.h"
#include "activation.h"

/* A decimal environment value in [0, INT_MAX]; -1 when absent or bad. */
static long
env_num(const char *name)
{
	const char *s = getenv(name);
	char *end;
	long v;

	if (s == NULL || s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > INT_MAX)
		return -1;
	return v;
}

static int
sockopt_int(int fd, int level, int name, int *ret)
{
	socklen_t len = sizeof(*ret);

	return getsockopt(fd, level, name, ret, &len);
}

int
wid_listen_activated(int *ret_fd, char *ret_path, size_t pathlen,
                     char *err, size_t errlen)
{
	const int fd = WID_LISTEN_FDS_START;
	struct sockaddr_un sun;
	socklen_t alen = sizeof(sun);
	long pid, nfds;
	int domain = 0, type = 0, listening = 0, one = 1, fl, r = WID_E_BADARG;

	*ret_fd = -1;
	err[0] = '\0';
	pid = env_num("LISTEN_PID");
	nfds = env_num("LISTEN_FDS");
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (pid < 0 || (pid_t)pid != getpid() || nfds < 1) {
		r = 0; /* not socket-activated */
		goto out;
	}
	if (nfds > 1) {
		snprintf(err, errlen, "systemd passed %ld sockets; "
		    "wid-agent.socket must have exactly one ListenStream=",
		    nfds);
		goto out;
	}
	if (sockopt_int(fd, SOL_SOCKET, SO_DOMAIN, &domain) != 0 ||
	    sockopt_int(fd, SOL_SOCKET, SO_TYPE, &type) != 0 ||
	    sockopt_int(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening) != 0) {
		snprintf(err, errlen, "socket activation: descriptor %d is "
		    "not a socket: %s", fd, strerror(errno));
		goto out;
	}
	if (domain != AF_UNIX || type != SOCK_STREAM || !listening) {
		snprintf(err, errlen, "socket activation: descriptor %d is "
		    "not a listening AF_UNIX stream socket (use ListenStream= "
		    "with a path)", fd);
		goto out;
	}
	memset(&sun, 0, sizeof(sun));
	if (getsockname(fd, (struct sockaddr *)&sun, &alen) != 0 ||
	    alen <= offsetof(struct sockaddr_un, sun_path) ||
	    sun.sun_path[0] != '/') {
		snprintf(err, errlen, "socket activation: descriptor %d has "
		    "no path (abstract or unnamed sockets are not supported)",
		    fd);
		goto out;
	}
	sun.sun_path[sizeof(sun.sun_path) - 1] = '\0';
	if ((fl = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) != 0) {
		snprintf(err, errlen, "socket activation: descriptor %d: %s",
		    fd, strerror(errno));
		r = WID_E_IO;
		goto out;
	}
	snprintf(ret_path, pathlen, "%s", sun.sun_path);
	*ret_fd = fd;
	r = 0;
out:
	return r;
}
