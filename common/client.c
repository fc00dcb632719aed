/* common/client.c: connect to the agent and make one call at a time. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

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

static int
recv_all(int fd, uint8_t *p, size_t n, const struct timespec *deadline)
{
	while (n > 0) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		struct timespec now;
		long ms;
		ssize_t r;

		clock_gettime(CLOCK_MONOTONIC, &now);
		ms = (deadline->tv_sec - now.tv_sec) * 1000 +
		    (deadline->tv_nsec - now.tv_nsec) / 1000000;
		if (ms <= 0)
			return WID_E_IO;
		r = poll(&pfd, 1, (int)ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return WID_E_IO;
		r = recv(fd, p, n, 0);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			return WID_E_IO;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int
wid_conn_call(struct wid_conn *c, uint16_t *ret_status)
{
	struct timespec deadline;
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
	wid_buf_wipe(&c->buf);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += WID_CALL_TIMEOUT;
	if ((r = recv_all(c->fd, c->msg, WID_HDR_LEN, &deadline)) != 0)
		goto fail;
	if ((r = wid_frame_len(c->msg, &len)) != 0)
		goto fail;
	if ((r = recv_all(c->fd, c->msg, len, &deadline)) != 0)
		goto fail;
	wid_buf_reader(&c->buf, c->msg, len);
	c->buf.cap = sizeof(c->msg);
	if ((r = wid_reply_decode_hdr(&c->buf, op, ret_status)) != 0)
		goto fail;
	return 0;
fail:
	wid_conn_close(c);
	return r;
}
