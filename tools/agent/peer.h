/* tools/agent/peer.h: who is on the other end of a connection, from the
 * kernel: uid/gid/pid (SO_PEERCRED, SCM_CREDENTIALS), and, read race-free
 * through a pidfd, the executable and cgroup (hints, for the log). */
#ifndef WID_AGENT_PEER_H
#define WID_AGENT_PEER_H

#include <stdint.h>
#include <sys/types.h>

#include "conf.h"

struct wid_peer {
	pid_t pid;        /* 0: nothing cached */
	int pidfd;        /* -1 when none */
	char *exe;        /* NULL when unreadable */
	char *cgroup;     /* NULL when unreadable */
};

void wid_peer_init(struct wid_peer *p);
void wid_peer_clear(struct wid_peer *p);
/* Makes p describe the live process `pid`; a cached entry for the same
 * pid costs nothing.  WID_E_DENIED when the process is gone. */
int wid_peer_refresh(struct wid_peer *p, pid_t pid);
/* Same uid as the agent, root, or listed in allow_uids. */
int wid_peer_allowed(uint32_t uid, uint32_t agent_uid,
                     const struct wid_config *c);
/* pidfd_open(2), close-on-exec; -1 with errno on failure. */
int wid_pidfd_open(pid_t pid);
/* 1 when the process behind pidfd has exited. */
int wid_pidfd_exited(int pidfd);

#endif
