/* common/buf.c: bounded big-endian reader and writer (see wid/buf.h). */
#include "config.h"

#include <string.h>

#include <openssl/crypto.h>

#include "wid/buf.h"
#include "wid/err.h"

void
wid_buf_init(struct wid_buf *b, void *data, size_t cap)
{
	b->data = data;
	b->cap = cap;
	b->len = 0;
	b->pos = 0;
	b->err = 0;
}

void
wid_buf_reader(struct wid_buf *b, const void *data, size_t len)
{
	/* The reader never writes through data. */
	b->data = (uint8_t *)(uintptr_t)data;
	b->cap = len;
	b->len = len;
	b->pos = 0;
	b->err = 0;
}

void
wid_buf_reset(struct wid_buf *b)
{
	b->len = 0;
	b->pos = 0;
	b->err = 0;
}

void
wid_buf_wipe(struct wid_buf *b)
{
	if (b->data != NULL && b->len > 0)
		OPENSSL_cleanse(b->data, b->len);
	wid_buf_reset(b);
}

static uint8_t *
reserve(struct wid_buf *b, size_t n)
{
	uint8_t *p;

	if (b->err != 0 || n > b->cap - b->len) {
		b->err = WID_E_PROTO;
		return NULL;
	}
	p = b->data + b->len;
	b->len += n;
	return p;
}

void
wid_put_u8(struct wid_buf *b, uint8_t v)
{
	uint8_t *p = reserve(b, 1);

	if (p != NULL)
		p[0] = v;
}

void
wid_put_u16(struct wid_buf *b, uint16_t v)
{
	uint8_t *p = reserve(b, 2);

	if (p != NULL) {
		p[0] = (uint8_t)(v >> 8);
		p[1] = (uint8_t)v;
	}
}

void
wid_put_u32(struct wid_buf *b, uint32_t v)
{
	uint8_t *p = reserve(b, 4);
	int i;

	if (p != NULL)
		for (i = 0; i < 4; i++)
			p[i] = (uint8_t)(v >> (24 - 8 * i));
}

void
wid_put_u64(struct wid_buf *b, uint64_t v)
{
	uint8_t *p = reserve(b, 8);
	int i;

	if (p != NULL)
		for (i = 0; i < 8; i++)
			p[i] = (uint8_t)(v >> (56 - 8 * i));
}

void
wid_put_bytes(struct wid_buf *b, const void *src, size_t n)
{
	uint8_t *p = reserve(b, n);

	if (p != NULL && n > 0)
		memcpy(p, src, n);
}

void
wid_put_blob(struct wid_buf *b, const void *src, size_t n)
{
	if (n > 0xffff) {
		b->err = WID_E_PROTO;
		return;
	}
	wid_put_u16(b, (uint16_t)n);
	wid_put_bytes(b, src, n);
}

void
wid_put_str(struct wid_buf *b, const char *s)
{
	wid_put_blob(b, s, s == NULL ? 0 : strlen(s));
}

int
wid_get_ref(struct wid_buf *b, const uint8_t **p, size_t n)
{
	if (b->err != 0 || n > b->len - b->pos) {
		b->err = WID_E_PROTO;
		*p = NULL;
		return WID_E_PROTO;
	}
	*p = b->data + b->pos;
	b->pos += n;
	return 0;
}

int
wid_get_u8(struct wid_buf *b, uint8_t *v)
{
	const uint8_t *p;

	*v = 0;
	if (wid_get_ref(b, &p, 1) != 0)
		return WID_E_PROTO;
	*v = p[0];
	return 0;
}

int
wid_get_u16(struct wid_buf *b, uint16_t *v)
{
	const uint8_t *p;

	*v = 0;
	if (wid_get_ref(b, &p, 2) != 0)
		return WID_E_PROTO;
	*v = (uint16_t)((p[0] << 8) | p[1]);
	return 0;
}

int
wid_get_u32(struct wid_buf *b, uint32_t *v)
{
	const uint8_t *p;

	*v = 0;
	if (wid_get_ref(b, &p, 4) != 0)
		return WID_E_PROTO;
	*v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
	return 0;
}

int
wid_get_u64(struct wid_buf *b, uint64_t *v)
{
	uint32_t hi, lo;

	*v = 0;
	if (wid_get_u32(b, &hi) != 0 || wid_get_u32(b, &lo) != 0)
		return WID_E_PROTO;
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}

int
wid_get_blob(struct wid_buf *b, const uint8_t **p, uint16_t *n, size_t max)
{
	*p = NULL;
	if (wid_get_u16(b, n) != 0)
		return WID_E_PROTO;
	if (*n > max) {
		b->err = WID_E_PROTO;
		*n = 0;
		return WID_E_PROTO;
	}
	return wid_get_ref(b, p, *n);
}

int
wid_get_str(struct wid_buf *b, char *out, size_t max)
{
	const uint8_t *p;
	uint16_t n;

	out[0] = '\0';
	if (wid_get_blob(b, &p, &n, max) != 0)
		return WID_E_PROTO;
	if (n > 0 && memchr(p, '\0', n) != NULL) {
		b->err = WID_E_PROTO;
		return WID_E_PROTO;
	}
	if (n > 0)
		memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

int
wid_get_end(const struct wid_buf *b)
{
	return (b->err == 0 && b->pos == b->len) ? 0 : WID_E_PROTO;
}

void
wid_put_sshstr(struct wid_buf *b, const void *p, size_t n)
{
	if (n > UINT32_MAX) {
		b->err = WID_E_PROTO;
		return;
	}
	wid_put_u32(b, (uint32_t)n);
	wid_put_bytes(b, p, n);
}

void
wid_put_sshcstr(struct wid_buf *b, const char *s)
{
	wid_put_sshstr(b, s, strlen(s));
}

void
wid_put_mpint(struct wid_buf *b, const uint8_t *p, size_t n)
{
	while (n > 0 && p[0] == 0) {
		p++;
		n--;
	}
	if (n > 0 && (p[0] & 0x80) != 0) {
		if (n >= UINT32_MAX) {
			b->err = WID_E_PROTO;
			return;
		}
		wid_put_u32(b, (uint32_t)n + 1);
		wid_put_u8(b, 0);
		wid_put_bytes(b, p, n);
	} else
		wid_put_sshstr(b, p, n);
}

void
wid_put_sshsig(struct wid_buf *b, const char *name, int ecdsa,
               const uint8_t *sig, size_t len)
{
	uint8_t rs[2 * (4 + 1 + 66)];      /* up to P-521 */
	struct wid_buf e;

	wid_put_sshcstr(b, name);
	if (!ecdsa) {
		wid_put_sshstr(b, sig, len);
		return;
	}
	wid_buf_init(&e, rs, sizeof(rs));
	if (len % 2 != 0 || len / 2 > 66)
		e.err = WID_E_PROTO;
	else {
		wid_put_mpint(&e, sig, len / 2);
		wid_put_mpint(&e, sig + len / 2, len / 2);
	}
	if (e.err != 0)
		b->err = e.err;
	else
		wid_put_sshstr(b, rs, e.len);
}

int
wid_get_sshstr(struct wid_buf *b, const uint8_t **ret_p, size_t *ret_n)
{
	uint32_t n;

	*ret_n = 0;
	if (wid_get_u32(b, &n) != 0 || wid_get_ref(b, ret_p, n) != 0)
		return WID_E_PROTO;
	*ret_n = n;
	return 0;
}
