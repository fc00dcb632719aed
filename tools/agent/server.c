/* tools/agent/server.c: the socket, epoll, connections, framing and
 * worker threads.  Every connection fd is non-blocking and registered
 * EPOLLONESHOT, so exactly one worker handles it at a time and nobody
 * waits on a slow client: partial frames and unsent replies stay in the
 * connection until epoll reports progress. */
#include "config.h"

#include <errno.h>
#include <libgen.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "wid/err.h"
#include "wid/proto.h"
#include "handlers.h"
#include "log.h"
#include "peer.h"
#include "server.h"
#include "sshagent.h"

/* epoll data.u64: a connection pointer (16-byte aligned, tag 0) or a
 * tagged small value. */
#define EV_TAG_MASK 15u
#define EV_CONN 0u
/* WID_EV_BIND (1) comes from tasks.h */
#define EV_LISTEN 2u
#define EV_TIMER 3u
#define EV_WAKE 4u
#define EV_LISTEN_SSH 5u

/* Bytes read ahead per recvmsg: a whole request usually (a signature
 * request is under 200 bytes), so the header and the body take one system
 * call.  What follows the request in them is the start of the next one,
 * from the same sender (the kernel does not merge the bytes of two
 * senders into one read). */
#define CONN_IN_MAX 512

/* Requests one connection gets served per epoll event, then the others
 * have their turn: one client pipelining requests does not hold a worker. */
#define FRAMES_PER_TURN 16

/* After serving a request, one worker at a time keeps polling epoll
 * without sleeping for this long: the next request of a client that signs
 * in a loop is then picked up without the tens of microseconds an idle
 * core of a VM takes to wake.  Only right after traffic, so an idle agent
 * uses no CPU; and adaptive: a spin that catches nothing makes this
 * worker skip the next 1, 2, 4 ... SPIN_BACKOFF_MAX chances to spin. */
#define SPIN_NS 50000ull
#define SPIN_BACKOFF_MAX 256u

/* The next number of chances to skip after a spin that caught nothing:
 * 1, 2, 4 ... SPIN_BACKOFF_MAX. */
static unsigned
backoff_next(unsigned n)
{
	return n == 0 ? 1 : n < SPIN_BACKOFF_MAX ? 2 * n : SPIN_BACKOFF_MAX;
}

/* Who watches the sockets.  The kernel wakes a worker asleep in
 * epoll_wait for every event, even while another one polls, and on a VM
 * that wake-up costs more than an ECDSA signature.  So only as many
 * workers watch as the load needs; the others are parked on a condition
 * variable, off epoll's wait queue:
 *  - the first worker watches, the others start parked;
 *  - a worker about to serve something slow (wid_handle_quick says no:
 *    disk, TPM, key generation; expiry; a process exit) while nobody
 *    else watches wakes a parked one first;
 *  - a worker that finds another connection's request already waiting
 *    right after serving one (two clients at once) wakes a parked one
 *    while nobody else watches;
 *  - a worker that served PARK_LONELY events in a row while no other one
 *    was serving parks, if another one still watches (one request at a
 *    time needs one worker).
 * No timeouts: arming a timer for every wait costs a VM exit.  A worker
 * parks only while another one watches, so at worst an event waits for
 * one connection's turn of quick requests (FRAMES_PER_TURN). */
#define PARK_LONELY 64
/* How long a worker waits on the socket of the client it just answered
 * for its next request (await_next). */
#define CONN_SPIN_NS 20000ull

struct wid_conn_state {
	int fd;
	uint32_t uid, gid, pid;       /* SO_PEERCRED at accept */
	struct wid_peer peer;         /* cached for the last request's pid */
	uint8_t hdr[WID_HDR_LEN];
	uint8_t hdr_got;
	uint8_t have_cred;            /* cred below is set for this frame */
	uint8_t close_after;          /* close once the output is sent */
	uint8_t ssh;                  /* speaks the ssh-agent protocol */
	uint8_t *body;                /* exactly body_len bytes */
	uint32_t body_len, body_got;
	struct ucred cred;            /* of the bytes of this frame */
	uint8_t in[CONN_IN_MAX];      /* read ahead, in[in_off..in_len) unused */
	uint16_t in_off, in_len;
	struct ucred in_cred;         /* of the bytes in in[] */
	uint8_t *out;                 /* unsent reply */
	size_t out_len, out_off;
	struct wid_conn_state *prev, *next;
};

struct worker {
	struct wid_server *s;
	int parked;                   /* starts parked: not the first */
	unsigned await_skip, await_backoff;   /* await_next */
	uint8_t msg[WID_MSG_MAX];     /* replies are built here */
};

static void
ev_set(struct epoll_event *ev, uint32_t events, uint64_t data)
{
	memset(ev, 0, sizeof(*ev));
	ev->events = events;
	ev->data.u64 = data;
}

/* ---- listening socket ---- */

static int
check_dir(const char *dir, int shared, char *err, size_t errlen)
{
	struct stat st;

	if (lstat(dir, &st) != 0) {
		if (errno != ENOENT || mkdir(dir, shared ? 0711 : 0700) != 0 ||
		    lstat(dir, &st) != 0) {
			snprintf(err, errlen, "cannot create socket directory "
			    "%s: %s", dir, strerror(errno));
			return WID_E_IO;
		}
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s is not a directory", dir);
		return WID_E_BADARG;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, errlen, "socket directory %s is owned by uid %u, "
		    "not by us (uid %u)", dir, (unsigned)st.st_uid,
		    (unsigned)geteuid());
		return WID_E_BADARG;
	}
	if ((st.st_mode & 022) != 0) {
		snprintf(err, errlen, "socket directory %s is writable by "
		    "group or others (mode %03o)", dir,
		    (unsigned)(st.st_mode & 0777));
		return WID_E_BADARG;
	}
	return 0;
}

int
wid_listen(struct wid_listener *l, const char *path, int shared, char *err,
           size_t errlen)
{
	struct sockaddr_un sun;
	struct stat st;
	char dirbuf[WID_PATH_MAX];
	int fd = -1, one = 1, r;

	l->fd = -1;
	err[0] = '\0';
	if (path[0] != '/' || strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "socket path must be absolute and "
		    "shorter than %zu bytes: %s", sizeof(sun.sun_path), path);
		return WID_E_BADARG;
	}
	snprintf(dirbuf, sizeof(dirbuf), "%s", path);
	if ((r = check_dir(dirname(dirbuf), shared, err, errlen)) != 0)
		return r;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));

	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s exists and is not a socket",
			    path);
			return WID_E_BADARG;
		}
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sun,
		    sizeof(sun)) == 0) {
			close(fd);
			snprintf(err, errlen, "another agent is listening on "
			    "%s", path);
			return WID_E_EXISTS;
		}
		if (fd >= 0)
			close(fd);
		/* Nobody answers: stale. */
		if (unlink(path) != 0 && errno != ENOENT) {
			snprintf(err, errlen, "cannot remove stale socket %s: "
			    "%s", path, strerror(errno));
			return WID_E_IO;
		}
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		snprintf(err, errlen, "cannot bind %s: %s", path,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		return WID_E_IO;
	}
	/* Connecting needs write access; peers are checked on every request
	 * anyway, so a shared agent opens the socket to everybody. */
	if (chmod(path, shared ? 0666 : 0600) != 0 || lstat(path, &st) != 0 ||
	    listen(fd, SOMAXCONN) != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", path,
		    strerror(errno));
		unlink(path);
		close(fd);
		return WID_E_IO;
	}
	l->fd = fd;
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	snprintf(l->path, sizeof(l->path), "%s", path);
	return 0;
}

void
wid_unlisten(struct wid_listener *l)
{
	struct stat st;

	if (l->fd < 0)
		return;
	if (lstat(l->path, &st) == 0 && st.st_dev == l->dev &&
	    st.st_ino == l->ino)
		unlink(l->path);
	close(l->fd);
	l->fd = -1;
}

/* ---- connection accounting ---- */

static int
conn_admit_inlock(struct wid_server *s, uint32_t uid)
{
	size_t i;

	if (s->nconns >= s->max_conns) {
		wid_warn("connection limit reached (%zu): refusing uid %u",
		    s->max_conns, uid);
		return 0;
	}
	for (i = 0; i < s->nuids; i++)
		if (s->uids[i].uid == uid)
			break;
	if (i == s->nuids) {
		if (s->nuids == s->cap_uids) {
			size_t n = s->cap_uids == 0 ? 4 : 2 * s->cap_uids;
			struct wid_uid_count *u = realloc(s->uids,
			    n * sizeof(*u));

			if (u == NULL)
				return 0;
			s->uids = u;
			s->cap_uids = n;
		}
		s->uids[i].uid = uid;
		s->uids[i].n = 0;
		s->nuids++;
	}
	if (s->uids[i].n >= s->max_per_uid) {
		wid_warn("per-uid connection limit reached (%zu): refusing "
		    "uid %u", s->max_per_uid, uid);
		return 0;
	}
	s->uids[i].n++;
	s->nconns++;
	return 1;
}

static void
conn_release_inlock(struct wid_server *s, uint32_t uid)
{
	size_t i;

	for (i = 0; i < s->nuids; i++) {
		if (s->uids[i].uid == uid) {
			s->uids[i].n--;
			break;
		}
	}
	s->nconns--;
}

static void
conn_free(struct wid_conn_state *c)
{
	if (c->fd >= 0)
		close(c->fd);
	wid_peer_clear(&c->peer);
	if (c->body != NULL)
		OPENSSL_clear_free(c->body, c->body_len);
	OPENSSL_cleanse(c->in, c->in_len);
	free(c->out);
	free(c);
}

static void
conn_close(struct wid_server *s, struct wid_conn_state *c)
{
	pthread_mutex_lock(&s->lock);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	conn_release_inlock(s, c->uid);
	pthread_mutex_unlock(&s->lock);
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	conn_free(c);
}

static void
conn_rearm(struct wid_server *s, struct wid_conn_state *c, uint32_t events)
{
	struct epoll_event ev;

	ev_set(&ev, events | EPOLLRDHUP | EPOLLONESHOT, (uintptr_t)c);
	if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev) != 0) {
		wid_error("epoll_ctl: %s", strerror(errno));
		conn_close(s, c);
	}
}

static void
do_accept(struct wid_server *s, int lfd)
{
	struct wid_agent *a = s->agent;

	for (;;) {
		struct wid_conn_state *c;
		struct ucred uc;
		socklen_t len = sizeof(uc);
		struct epoll_event ev;
		int fd, one = 1, ok;

		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN)
				wid_error("accept: %s", strerror(errno));
			break;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) != 0 ||
		    setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one,
		    sizeof(one)) != 0) {
			close(fd);
			continue;
		}
		if (!wid_peer_allowed(uc.uid, a->uid, &a->conf)) {
			wid_warn("refused connection from uid %u pid %d: not "
			    "allowed", (unsigned)uc.uid, (int)uc.pid);
			close(fd);
			continue;
		}
		pthread_mutex_lock(&s->lock);
		ok = conn_admit_inlock(s, uc.uid);
		pthread_mutex_unlock(&s->lock);
		if (!ok) {
			close(fd);
			continue;
		}
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			pthread_mutex_lock(&s->lock);
			conn_release_inlock(s, uc.uid);
			pthread_mutex_unlock(&s->lock);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->ssh = lfd == s->ssh_lfd;
		c->uid = uc.uid;
		c->gid = uc.gid;
		c->pid = (uint32_t)uc.pid;
		wid_peer_init(&c->peer);
		pthread_mutex_lock(&s->lock);
		c->next = s->conns;
		if (s->conns != NULL)
			s->conns->prev = c;
		s->conns = c;
		pthread_mutex_unlock(&s->lock);
		ev_set(&ev, EPOLLIN | EPOLLRDHUP | EPOLLONESHOT, (uintptr_t)c);
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
			conn_close(s, c);
	}
}

/* ---- reading ---- */

/* recvmsg with the sender's credentials.  Returns bytes read, 0 on EOF,
 * -1 with errno.  Any descriptors passed to us are closed. */
static ssize_t
recv_cred(int fd, void *buf, size_t n, struct ucred *cred, int *have_cred)
{
	union {
		struct cmsghdr align;
		uint8_t buf[CMSG_SPACE(sizeof(struct ucred)) +
		    CMSG_SPACE(16 * sizeof(int))];
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = n };
	struct msghdr msg;
	struct cmsghdr *cm;
	ssize_t r;

	*have_cred = 0;
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = ctl.buf;
	msg.msg_controllen = sizeof(ctl.buf);
	do
		r = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -1;
	for (cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET)
			continue;
		if (cm->cmsg_type == SCM_CREDENTIALS &&
		    cm->cmsg_len == CMSG_LEN(sizeof(struct ucred))) {
			memcpy(cred, CMSG_DATA(cm), sizeof(*cred));
			*have_cred = 1;
		} else if (cm->cmsg_type == SCM_RIGHTS) {
			size_t i, nfd = (cm->cmsg_len - CMSG_LEN(0)) /
			    sizeof(int);

			for (i = 0; i < nfd; i++) {
				int x;

				memcpy(&x, CMSG_DATA(cm) + i * sizeof(int),
				    sizeof(x));
				close(x);
			}
		}
	}
	return r;
}

enum { FRAME_DONE, FRAME_AGAIN, FRAME_CLOSE };

/* Best effort: tell a client with a bad frame why it is dropped. */
static void
send_frame_error(int fd)
{
	uint8_t mem[WID_HDR_LEN + 4 + 2 + 64];
	struct wid_buf b;

	wid_buf_init(&b, mem, sizeof(mem));
	wid_reply_error(&b, 0, WID_E_PROTO, "bad frame length");
	if (wid_msg_finish(&b) == 0 &&
	    send(fd, b.data, b.len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		return;
}

/* Fills the read-ahead buffer (empty) with one recvmsg. */
static int
read_more(struct wid_conn_state *c)
{
	ssize_t r;
	int have;

	OPENSSL_cleanse(c->in, c->in_len);
	c->in_off = c->in_len = 0;
	r = recv_cred(c->fd, c->in, sizeof(c->in), &c->in_cred, &have);
	if (r < 0)
		return (errno == EAGAIN || errno == EWOULDBLOCK) ?
		    FRAME_AGAIN : FRAME_CLOSE;
	if (r == 0)
		return FRAME_CLOSE;
	if (!have) {   /* should not happen with SO_PASSCRED */
		c->in_cred.pid = (pid_t)c->pid;
		c->in_cred.uid = c->uid;
		c->in_cred.gid = c->gid;
	}
	c->in_len = (uint16_t)r;
	return FRAME_DONE;
}

/* Reads what is available of the current frame. */
static int
read_frame(struct wid_conn_state *c)
{
	for (;;) {
		uint8_t *dst;
		size_t want, n;
		int r;

		if (c->hdr_got < WID_HDR_LEN) {
			dst = c->hdr + c->hdr_got;
			want = WID_HDR_LEN - c->hdr_got;
		} else {
			if (c->body_got == c->body_len)
				return FRAME_DONE;
			dst = c->body + c->body_got;
			want = c->body_len - c->body_got;
		}
		if (c->in_off == c->in_len && (r = read_more(c)) != FRAME_DONE)
			return r;
		/* Every byte of one request must come from one sender. */
		if (!c->have_cred) {
			c->cred = c->in_cred;
			c->have_cred = 1;
		} else if (c->cred.pid != c->in_cred.pid ||
		    c->cred.uid != c->in_cred.uid ||
		    c->cred.gid != c->in_cred.gid) {
			wid_warn("request bytes from two senders (pid %d and "
			    "%d) on one connection: closing",
			    (int)c->cred.pid, (int)c->in_cred.pid);
			return FRAME_CLOSE;
		}
		n = (size_t)(c->in_len - c->in_off);
		if (n > want)
			n = want;
		memcpy(dst, c->in + c->in_off, n);
		c->in_off += (uint16_t)n;
		if (c->hdr_got < WID_HDR_LEN) {
			c->hdr_got += (uint8_t)n;
			if (c->hdr_got == WID_HDR_LEN) {
				uint32_t len;

				if ((c->ssh ?
				    wid_sshagent_frame_len(c->hdr, &len) :
				    wid_frame_len(c->hdr, &len)) != 0) {
					wid_warn("bad frame length from pid "
					    "%d: closing", (int)c->cred.pid);
					if (!c->ssh)
						send_frame_error(c->fd);
					return FRAME_CLOSE;
				}
				if ((c->body = malloc(len)) == NULL)
					return FRAME_CLOSE;
				c->body_len = len;
				c->body_got = 0;
			}
		} else
			c->body_got += (uint32_t)n;
	}
}

static void
frame_reset(struct wid_conn_state *c)
{
	if (c->body != NULL)
		OPENSSL_clear_free(c->body, c->body_len);
	c->body = NULL;
	c->body_len = c->body_got = 0;
	c->hdr_got = 0;
	c->have_cred = 0;
}

/* ---- writing ---- */

/* Sends what it can; keeps the rest.  -1: connection failed. */
static int
flush_out(struct wid_conn_state *c, const uint8_t *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = send(c->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	if (n == 0) {
		if (c->out != NULL)
			c->out_off = c->out_len;
		return 0;
	}
	if (c->out == NULL) {
		if ((c->out = malloc(n)) == NULL)
			return -1;
		memcpy(c->out, p, n);
		c->out_len = n;
		c->out_off = 0;
	} else
		c->out_off = c->out_len - n;   /* p points into c->out */
	return 0;
}

static int
pending_out(const struct wid_conn_state *c)
{
	return c->out != NULL && c->out_off < c->out_len;
}

/* ---- one request ---- */

static int
serve_frame(struct worker *w, struct wid_conn_state *c)
{
	struct wid_server *s = w->s;
	struct wid_agent *a = s->agent;
	struct wid_caller who;
	struct wid_buf out;
	uint32_t uid = c->cred.uid;
	pid_t pid = c->cred.pid;
	int close_after, r;

	if (!wid_peer_allowed(uid, a->uid, &a->conf)) {
		wid_warn("request from uid %u pid %d refused: not allowed",
		    uid, (int)pid);
		return -1;
	}
	/* pid 0: the sender lives in a pid namespace we cannot see. */
	if (pid != 0 && wid_peer_refresh(&c->peer, pid) != 0) {
		wid_info("request from pid %d dropped: the process is gone",
		    (int)pid);
		return -1;
	}
	who.uid = uid;
	who.gid = c->cred.gid;
	who.pid = (uint32_t)pid;
	who.exe = pid != 0 ? c->peer.exe : NULL;
	who.cgroup = pid != 0 ? c->peer.cgroup : NULL;

	wid_buf_init(&out, w->msg, sizeof(w->msg));
	if (c->ssh)   /* replies framed by the handler */
		close_after = wid_sshagent_handle(a, &who, c->body,
		    c->body_len, &out);
	else
		close_after = wid_handle(a, &who, pid != 0 ? c->peer.pidfd :
		    -1, c->body, c->body_len, &out);
	frame_reset(c);
	if (!c->ssh && wid_msg_finish(&out) != 0) {
		wid_error("reply could not be framed");
		return -1;
	}
	r = flush_out(c, out.data, out.len);
	OPENSSL_cleanse(out.data, out.len);
	if (r != 0)
		return -1;
	c->close_after = (uint8_t)close_after;
	return 0;
}

/* ---- who watches (see PARK_LONELY) ---- */

/* Wakes one parked worker, counted as watching from now on. */
static void
unpark_one(struct wid_server *s)
{
	pthread_mutex_lock(&s->park_lock);
	if (atomic_load(&s->asleep) > 0) {
		atomic_fetch_sub(&s->asleep, 1);
		atomic_fetch_add(&s->watching, 1);
		s->wakes++;
		pthread_cond_signal(&s->park_cv);
	}
	pthread_mutex_unlock(&s->park_lock);
}

/* Called by a worker serving an event: makes sure another one watches. */
static void
ensure_watcher(struct wid_server *s)
{
	if (atomic_load(&s->watching) == 0)
		unpark_one(s);
}

/* The calling watcher parks unless it is the only one.  Returns 1 when
 * woken (watching again), 0 at once when it may not park. */
static int
park(struct wid_server *s)
{
	unsigned n;

	pthread_mutex_lock(&s->park_lock);
	n = atomic_load(&s->watching);
	do {
		if (n < 2) {
			pthread_mutex_unlock(&s->park_lock);
			return 0;
		}
	} while (!atomic_compare_exchange_weak(&s->watching, &n, n - 1));
	atomic_fetch_add(&s->asleep, 1);
	while (s->wakes == 0 && !atomic_load(&s->stop))
		pthread_cond_wait(&s->park_cv, &s->park_lock);
	if (s->wakes > 0)
		s->wakes--;
	pthread_mutex_unlock(&s->park_lock);
	return 1;
}

/* A worker waits CONN_SPIN_NS for the next request of the client it
 * just answered, on that client's socket: a client signing in a loop
 * sends it within microseconds, and reading it at once saves re-arming
 * the socket in epoll and the wait there.  With as many busy clients as
 * cores, each worker keeps to one client and a client and its worker can
 * share a core, taking turns by sched_yield, instead of every request
 * going to whichever worker polls epoll (on this 2-core VM: two signing
 * threads ~15% faster, one thread the same).  Other connections are not
 * starved: a connection gets FRAMES_PER_TURN requests per turn, then its
 * worker polls epoll again.  A wait that catches nothing makes the
 * worker skip the next 1, 2, 4 ... SPIN_BACKOFF_MAX chances, so a client
 * that signs now and then costs no spinning.  1: bytes arrived. */
static int
await_next(struct worker *w, struct wid_conn_state *c)
{
	uint64_t until;

	if (w->await_skip > 0) {
		w->await_skip--;
		return 0;
	}
	until = wid_now_boot() + CONN_SPIN_NS;
	for (;;) {
		/* Yield first: the client has not sent yet, and if it
		 * shares this core it can only send once it runs. */
		sched_yield();
		switch (read_more(c)) {
		case FRAME_DONE:
			w->await_backoff = 0;
			return 1;
		case FRAME_CLOSE:
			return 0;   /* seen again by the next read */
		default:
			break;
		}
		if (wid_now_boot() >= until)
			break;
	}
	w->await_backoff = backoff_next(w->await_backoff);
	w->await_skip = w->await_backoff;
	return 0;
}

static void
conn_event(struct worker *w, struct wid_conn_state *c, uint32_t events)
{
	struct wid_server *s = w->s;
	unsigned n = 0;

	if (events & EPOLLERR)
		goto close;
	if (pending_out(c)) {
		if (flush_out(c, c->out + c->out_off,
		    c->out_len - c->out_off) != 0)
			goto close;
		if (pending_out(c)) {
			conn_rearm(s, c, EPOLLOUT);
			return;
		}
		free(c->out);
		c->out = NULL;
		c->out_len = c->out_off = 0;
	}
	if (c->close_after)
		goto close;
	/* One request, and the next ones already read ahead (epoll does
	 * not report bytes that left the socket) or awaited. */
	do {
		switch (read_frame(c)) {
		case FRAME_AGAIN:
			conn_rearm(s, c, EPOLLIN);
			return;
		case FRAME_CLOSE:
			goto close;
		default:
			break;
		}
		if (!wid_handle_quick(s->agent, c->body, c->body_len, c->ssh))
			ensure_watcher(s);
		if (serve_frame(w, c) != 0)
			goto close;
		if (pending_out(c)) {
			conn_rearm(s, c, EPOLLOUT);
			return;
		}
		if (c->close_after)
			goto close;
		if (++n == FRAMES_PER_TURN) {
			/* The others' turn.  epoll does not see bytes read
			 * ahead, but it sees that the socket is writable. */
			conn_rearm(s, c, c->in_off < c->in_len ? EPOLLOUT :
			    EPOLLIN);
			return;
		}
	} while (c->in_off < c->in_len || await_next(w, c));
	conn_rearm(s, c, EPOLLIN);   /* level-triggered: fires again if more */
	return;
close:
	conn_close(s, c);
}

/* ---- workers ---- */

static void
rearm_fd(struct wid_server *s, int fd, uint64_t tag)
{
	struct epoll_event ev;

	ev_set(&ev, EPOLLIN | EPOLLONESHOT, tag);
	if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, fd, &ev) != 0)
		wid_error("epoll_ctl: %s", strerror(errno));
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct wid_server *s = w->s;
	struct wid_agent *a = s->agent;
	uint64_t spin_until = 0;      /* non-zero: this worker is the spinner */
	unsigned spin_skip = 0, spin_backoff = 0, spin_hit = 0;
	/* The connection just served, until the next poll: finding another
	 * one ready at once means two clients wait together.  (Its own next
	 * request often beats the re-arm; that is no backlog.) */
	uint64_t served = 0;
	unsigned lonely = 0;          /* events served alone in a row */

	if (w->parked)
		park(s);
	while (!atomic_load(&s->stop)) {
		struct epoll_event ev;
		uint64_t tag, u;
		long busy;
		int n, zero = 0;

		n = epoll_wait(s->epfd, &ev, 1, spin_until != 0 ? 0 : -1);
		if (n < 0 && errno != EINTR) {
			wid_error("epoll_wait: %s", strerror(errno));
			break;
		}
		if (n == 0 && spin_until != 0) {
			if (wid_now_boot() >= spin_until) {
				spin_until = 0;
				atomic_store(&s->spinning, 0);
				if (!spin_hit) {
					spin_backoff = backoff_next(spin_backoff);
					spin_skip = spin_backoff;
				}
			} else
				sched_yield();  /* a client on this core runs first */
		}
		if (n <= 0 || atomic_load(&s->stop)) {
			served = 0;
			continue;
		}
		/* Others serving: awake and not watching (approximate). */
		busy = (long)s->nthreads - (long)atomic_load(&s->asleep) -
		    (long)atomic_fetch_sub(&s->watching, 1);
		lonely = busy <= 0 ? lonely + 1 : 0;
		if (served != 0 && ev.data.u64 != served)
			ensure_watcher(s);
		served = 0;
		tag = ev.data.u64 & EV_TAG_MASK;
		switch (tag) {
		case EV_CONN:
			conn_event(w, (struct wid_conn_state *)(uintptr_t)
			    ev.data.u64, ev.events);
			served = ev.data.u64;
			if (spin_until != 0) {
				spin_hit = 1;    /* caught one while spinning */
				spin_backoff = 0;
			} else if (spin_skip > 0) {
				spin_skip--;
				break;
			} else if (atomic_compare_exchange_strong(
			    &s->spinning, &zero, 1))
				spin_hit = 0;
			else
				break;
			spin_until = wid_now_boot() + SPIN_NS;
			break;
		case WID_EV_BIND:
			ensure_watcher(s);
			wid_tasks_end_serial(&a->tasks,
			    ev.data.u64 >> WID_EV_SHIFT, WID_STATE_ENDED,
			    "(bound process exited)");
			break;
		case EV_LISTEN:
			do_accept(s, s->lfd);
			rearm_fd(s, s->lfd, EV_LISTEN);
			break;
		case EV_LISTEN_SSH:
			do_accept(s, s->ssh_lfd);
			rearm_fd(s, s->ssh_lfd, EV_LISTEN_SSH);
			break;
		case EV_TIMER:
			ensure_watcher(s);
			if (read(wid_tasks_timerfd(&a->tasks), &u,
			    sizeof(u)) < 0 && errno != EAGAIN)
				wid_error("timerfd: %s", strerror(errno));
			wid_tasks_expire(&a->tasks, wid_now_boot());
			rearm_fd(s, wid_tasks_timerfd(&a->tasks), EV_TIMER);
			break;
		default:   /* EV_WAKE */
			break;
		}
		atomic_fetch_add(&s->watching, 1);
		if (lonely >= PARK_LONELY && atomic_load(&s->watching) >= 2) {
			if (spin_until != 0) {
				spin_until = 0;
				atomic_store(&s->spinning, 0);
			}
			if (park(s))
				lonely = 0;
		}
	}
	if (spin_until != 0)
		atomic_store(&s->spinning, 0);
	OPENSSL_cleanse(w->msg, sizeof(w->msg));
	free(w);
	return NULL;
}

int
wid_server_start(struct wid_server *s, struct wid_agent *a, int lfd)
{
	struct epoll_event ev;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	size_t i;

	memset(s, 0, sizeof(*s));
	s->agent = a;
	s->lfd = lfd;
	s->ssh_lfd = -1;
	s->wakefd = -1;
	s->max_conns = WID_MAX_CONNS;
	s->max_per_uid = WID_MAX_CONNS_PER_UID;
	atomic_init(&s->stop, 0);
	atomic_init(&s->spinning, 0);
	s->nthreads = ncpu < 2 ? 2 : (size_t)ncpu;
	atomic_init(&s->watching, (unsigned)s->nthreads);
	atomic_init(&s->asleep, 0);
	if (pthread_mutex_init(&s->lock, NULL) != 0 ||
	    pthread_mutex_init(&s->park_lock, NULL) != 0 ||
	    pthread_cond_init(&s->park_cv, NULL) != 0)
		return WID_E_INTERNAL;
	if ((s->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (s->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		goto fail;
	ev_set(&ev, EPOLLIN | EPOLLONESHOT, EV_LISTEN);
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, lfd, &ev) != 0)
		goto fail;
	ev_set(&ev, EPOLLIN | EPOLLONESHOT, EV_TIMER);
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, wid_tasks_timerfd(&a->tasks),
	    &ev) != 0)
		goto fail;
	ev_set(&ev, EPOLLIN, EV_WAKE);   /* level: wakes every worker */
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->wakefd, &ev) != 0)
		goto fail;
	wid_tasks_set_epoll(&a->tasks, s->epfd);
	if ((s->threads = calloc(s->nthreads, sizeof(*s->threads))) == NULL)
		goto fail;
	for (i = 0; i < s->nthreads; i++) {
		struct worker *w = calloc(1, sizeof(*w));

		if (w == NULL)
			goto fail_threads;
		w->s = s;
		w->parked = i > 0;
		if (pthread_create(&s->threads[i], NULL, worker_main, w) != 0) {
			free(w);
			goto fail_threads;
		}
	}
	return 0;
fail_threads:
	s->nthreads = i;
	wid_server_stop(s);
	return WID_E_INTERNAL;
fail:
	wid_error("server setup: %s", strerror(errno));
	s->nthreads = 0;
	wid_server_stop(s);
	return WID_E_INTERNAL;
}

int
wid_server_add_ssh(struct wid_server *s, int fd)
{
	struct epoll_event ev;

	s->ssh_lfd = fd;
	ev_set(&ev, EPOLLIN | EPOLLONESHOT, EV_LISTEN_SSH);
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		wid_error("ssh-agent listener: %s", strerror(errno));
		s->ssh_lfd = -1;
		return WID_E_INTERNAL;
	}
	return 0;
}

void
wid_server_stop(struct wid_server *s)
{
	struct wid_conn_state *c;
	uint64_t one = 1;
	size_t i;

	atomic_store(&s->stop, 1);
	if (s->wakefd >= 0 && write(s->wakefd, &one, sizeof(one)) < 0)
		wid_error("eventfd: %s", strerror(errno));
	pthread_mutex_lock(&s->park_lock);
	pthread_cond_broadcast(&s->park_cv);
	pthread_mutex_unlock(&s->park_lock);
	for (i = 0; i < s->nthreads; i++)
		pthread_join(s->threads[i], NULL);
	free(s->threads);
	s->threads = NULL;
	s->nthreads = 0;
	if (s->agent != NULL)
		wid_tasks_set_epoll(&s->agent->tasks, -1);
	while ((c = s->conns) != NULL) {
		s->conns = c->next;
		conn_free(c);
	}
	free(s->uids);
	s->uids = NULL;
	if (s->wakefd >= 0)
		close(s->wakefd);
	if (s->epfd >= 0)
		close(s->epfd);
	s->wakefd = s->epfd = -1;
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->park_cv);
	pthread_mutex_destroy(&s->park_lock);
}
