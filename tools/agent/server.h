/* tools/agent/server.h: the listening socket, the epoll loop, the
 * connections and the worker threads. */
#ifndef WID_AGENT_SERVER_H
#define WID_AGENT_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/types.h>

#include "agent.h"

#define WID_MAX_CONNS 4096
#define WID_MAX_CONNS_PER_UID 256

struct wid_conn_state;

struct wid_listener {
	int fd;
	dev_t dev;        /* of the socket inode at path, for removal */
	ino_t ino;
	char path[WID_PATH_MAX];
};

struct wid_uid_count {
	uint32_t uid;
	uint32_t n;
};

struct wid_server {
	struct wid_agent *agent;
	int lfd;
	int ssh_lfd;                   /* ssh-agent protocol listener, -1 */
	int epfd;
	int wakefd;                    /* eventfd: wakes every worker to stop */
	atomic_int stop;
	atomic_int spinning;           /* a worker polls instead of sleeping */
	pthread_t *threads;
	size_t nthreads;
	/* Workers watching the sockets (in or about to enter epoll_wait),
	 * and those parked on park_cv; the rest are serving an event. */
	atomic_uint watching;
	atomic_uint asleep;            /* parked and not yet woken */
	pthread_mutex_t park_lock;     /* guards parking and waking */
	pthread_cond_t park_cv;
	unsigned wakes;                /* wake tokens for parked workers */
	pthread_mutex_t lock;          /* guards the fields below */
	struct wid_conn_state *conns;  /* every open connection */
	size_t nconns;
	size_t max_conns, max_per_uid;
	struct wid_uid_count *uids;    /* connections per allowed uid */
	size_t nuids, cap_uids;
};

/* Checks the socket directory (creating it 0700 when missing), removes a
 * stale socket, binds and listens.  On error writes a message into err. */
int wid_listen(struct wid_listener *l, const char *path, int shared,
               char *err, size_t errlen);
/* Removes the socket if the path still names ours, closes the fd. */
void wid_unlisten(struct wid_listener *l);

/* Starts the worker threads over the listener fd (not owned). */
int wid_server_start(struct wid_server *s, struct wid_agent *a, int lfd);
/* Adds a listener speaking the ssh-agent protocol (sshagent.h) to a
 * started server; the fd is not owned. */
int wid_server_add_ssh(struct wid_server *s, int fd);
/* Stops the workers and closes every connection. */
void wid_server_stop(struct wid_server *s);

#endif
