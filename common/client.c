/* common/client.c: connect to the agent and make one call at a time:
 * one send, and usually one recv for the whole reply (briefly spinning
 * before sleeping in poll, see WID_SPIN_NS). */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "wid/client.h"
#include "wid/err.h"

int
wid_sock_path(const char *explicit_path, char out[WID_PATH_MAX])
{
	const char *p = explicit_path;
	const char *rt;
	int n;

	out[0] = '\0';
	if (p == NULL || p[0] == '\0')
		p = getenv(WID_SOCK_ENV);
	if (p != NULL && p[0] != '\0')
		n = snprintf(out, WID_PATH_MAX, "%s", p);
	else if ((rt = getenv("XDG_RUNTIME_DIR")) != NULL && rt[0] == '/')
		n = snprintf(out, WID_PATH_MAX, "%s/wid/agent.sock", rt);
	else
		n = snprintf(out, WID_PATH_MAX, "%s", WID_SYSTEM_SOCK);
	if (n < 0 || n >= WID_PATH_MAX) {
		out[0] = '\0';
		return WID_E_BADARG;
	}
	return 0;
}

void
wid_conn_init(struct wid_conn *c)
{
	c->fd = -1;
	wid_buf_init(&c->buf, c->msg, sizeof(c->msg));
}

int
wid_conn_open(struct wid_conn *c, const char *path)
{
	struct sockaddr_un sun;
	int fd;

	wid_conn_close(c);
	if (path == NULL || strlen(path) >= sizeof(sun.sun_path))
		return WID_E_BADARG;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return WID_E_IO;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		close(fd);
		return WID_E_UNAVAILABLE;
	}
	c->fd = fd;
	return 0;
}

void
wid_conn_close(struct wid_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

struct wid_buf *
wid_conn_req(struct wid_conn *c, uint8_t op)
{
	wid_buf_init(&c->buf, c->msg, sizeof(c->msg));
	wid_req_begin(&c->buf, op);
	return &c->buf;
}

static int
send_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return WID_E_IO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* How long a caller spins on a non-blocking recv before it sleeps in
 * poll(), right after sending a request.  An idle core on a VM takes tens
 * of microseconds to wake; a reply that comes within this window is picked
 * up without that cost.  Bounded, and only while a reply is awaited: an
 * idle client uses no CPU.  Adaptive, per thread: a spin that misses (a
 * reply slower than usual, or a busy machine where spinning only steals
 * CPU from the agent) makes the next 1, 2, 4 ... WID_SPIN_BACKOFF_MAX
 * calls sleep at once; a spin that catches its reply resets that. */
#define WID_SPIN_NS 50000L
#define WID_SPIN_MAX_NS 1000000L
#define WID_SPIN_BACKOFF_MAX 256u

/* The spin lasts 1.5 times the recent reply time (a moving average per
 * thread), at least WID_SPIN_NS and at most WID_SPIN_MAX_NS: a signature
 * that takes the agent 40 us (Ed25519) or 700 us (RSA-2048) is then
 * waited for awake, not after a sleep and a wake-up that cost more than
 * the signature on a VM. */
static __thread unsigned spin_skip, spin_backoff;
static __thread long reply_ns;

static long
ns_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1000000000L +
	    (now.tv_nsec - t0->tv_nsec);
}

/* Reads one reply frame (length prefix included) into p[0..cap): usually
 * one recv.  The agent sends nothing unasked, so bytes past the frame are
 * a protocol error.  Returns the frame's body length in *ret_len. */
static int
recv_frame(int fd, uint8_t *p, size_t cap, uint32_t *ret_len)
{
	struct timespec start, deadline;
	size_t got = 0, want = WID_HDR_LEN;
	uint32_t len = 0;
	long elapsed;
	int spin = spin_skip == 0;
	long spin_ns = reply_ns + reply_ns / 2;

	*ret_len = 0;
	spin_ns = spin_ns < WID_SPIN_NS ? WID_SPIN_NS :
	    spin_ns > WID_SPIN_MAX_NS ? WID_SPIN_MAX_NS : spin_ns;
	if (!spin)
		spin_skip--;
	clock_gettime(CLOCK_MONOTONIC, &start);
	/* Right after the send the reply is not there yet: yielding first
	 * lets an agent sharing this core answer now, instead of after a
	 * read that finds nothing. */
	if (spin)
		sched_yield();
	deadline = start;
	deadline.tv_sec += WID_CALL_TIMEOUT;
	while (got < want) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		struct timespec now;
		ssize_t r;
		long ms;

		r = recv(fd, p + got, cap - got, MSG_DONTWAIT);
		if (r > 0) {
			got += (size_t)r;
			if (len == 0 && got >= WID_HDR_LEN) {
				if (wid_frame_len(p, &len) != 0)
					return WID_E_PROTO;
				want = WID_HDR_LEN + len;
			}
			if (got > want && len != 0)
				return WID_E_PROTO;
			continue;
		}
		if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR))
			return WID_E_IO;
		if (errno == EINTR)
			continue;
		if (spin && ns_since(&start) < spin_ns) {
			sched_yield();
			continue;
		}
		if (spin) {   /* missed: sleep at once for the next calls */
			spin_backoff = spin_backoff == 0 ? 1 :
			    spin_backoff < WID_SPIN_BACKOFF_MAX ?
			    2 * spin_backoff : WID_SPIN_BACKOFF_MAX;
			spin_skip = spin_backoff;
			spin = 0;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		ms = (deadline.tv_sec - now.tv_sec) * 1000 +
		    (deadline.tv_nsec - now.tv_nsec) / 1000000;
		if (ms <= 0)
			return WID_E_IO;
		r = poll(&pfd, 1, (int)ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return WID_E_IO;
	}
	if (spin)
		spin_backoff = 0;
	elapsed = ns_since(&start);
	reply_ns = reply_ns == 0 ? elapsed : (7 * reply_ns + elapsed) / 8;
	*ret_len = len;
	return 0;
}

int
wid_conn_call(struct wid_conn *c, uint16_t *ret_status)
{
	uint8_t op;
	uint32_t len;
	int r;

	*ret_status = WID_E_IO;
	if (c->fd < 0)
		return WID_E_IO;
	if (c->buf.len < WID_HDR_LEN + 4 || wid_msg_finish(&c->buf) != 0)
		return WID_E_PROTO;
	op = c->msg[WID_HDR_LEN + 1];
	if ((r = send_all(c->fd, c->msg, c->buf.len)) != 0)
		goto fail;
	/* The request may hold data to sign: wipe what was written. */
	OPENSSL_cleanse(c->msg, c->buf.len);
	if ((r = recv_frame(c->fd, c->msg, sizeof(c->msg), &len)) != 0)
		goto fail;
	wid_buf_reader(&c->buf, c->msg + WID_HDR_LEN, len);
	if ((r = wid_reply_decode_hdr(&c->buf, op, ret_status)) != 0)
		goto fail;
	return 0;
fail:
	OPENSSL_cleanse(c->msg, c->buf.len);
	wid_buf_reset(&c->buf);
	wid_conn_close(c);
	return r;
}
