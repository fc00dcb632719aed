/* wid/buf.h: a bounded byte buffer over caller-owned memory, used to write
 * and read protocol messages.  It never allocates.  Any overflow on write
 * or underflow on read sets `err` and turns later calls into no-ops, so a
 * sequence of puts or gets is checked once at its end. */
#ifndef WID_BUF_H
#define WID_BUF_H

#include <stddef.h>
#include <stdint.h>

struct wid_buf {
	uint8_t *data;
	size_t cap;   /* bytes available at data */
	size_t len;   /* bytes written (writer) or held (reader) */
	size_t pos;   /* read position */
	int err;      /* 0, or WID_E_PROTO after any bounds failure */
};

void wid_buf_init(struct wid_buf *b, void *data, size_t cap);
/* A reader over `len` bytes already at `data`. */
void wid_buf_reader(struct wid_buf *b, const void *data, size_t len);
void wid_buf_reset(struct wid_buf *b);
/* Overwrites the bytes it holds (written, or read over) with zeros:
 * signatures, digests.  Not the rest of the capacity: the module wipes
 * every reply, and zeroing 64 KiB per signature cost more than the
 * round trip's system calls and emptied the L1 cache. */
void wid_buf_wipe(struct wid_buf *b);

void wid_put_u8(struct wid_buf *b, uint8_t v);
void wid_put_u16(struct wid_buf *b, uint16_t v);
void wid_put_u32(struct wid_buf *b, uint32_t v);
void wid_put_u64(struct wid_buf *b, uint64_t v);
void wid_put_bytes(struct wid_buf *b, const void *p, size_t n);
/* u16 length, then bytes; err if n > 0xffff. */
void wid_put_blob(struct wid_buf *b, const void *p, size_t n);
/* As a blob; NULL writes an empty string. */
void wid_put_str(struct wid_buf *b, const char *s);

int wid_get_u8(struct wid_buf *b, uint8_t *v);
int wid_get_u16(struct wid_buf *b, uint16_t *v);
int wid_get_u32(struct wid_buf *b, uint32_t *v);
int wid_get_u64(struct wid_buf *b, uint64_t *v);
/* Points *p at the next n bytes without copying. */
int wid_get_ref(struct wid_buf *b, const uint8_t **p, size_t n);
/* A blob of at most max bytes, referenced in place. */
int wid_get_blob(struct wid_buf *b, const uint8_t **p, uint16_t *n, size_t max);
/* A string of at most max bytes without NUL, copied NUL-terminated into
 * out (which holds max + 1 bytes). */
int wid_get_str(struct wid_buf *b, char *out, size_t max);
/* 0 when no error happened and every byte was consumed. */
int wid_get_end(const struct wid_buf *b);

/* The SSH wire format (RFC 4251 section 5) on the same buffer: a string is
 * a u32 length and bytes; an mpint is a string holding a non-negative
 * big-endian number with no leading zero byte, but one zero byte when the
 * top bit is set. */
void wid_put_sshstr(struct wid_buf *b, const void *p, size_t n);
void wid_put_sshcstr(struct wid_buf *b, const char *s);
/* p, n: big-endian unsigned bytes (leading zeros are dropped). */
void wid_put_mpint(struct wid_buf *b, const uint8_t *p, size_t n);
/* The contents of an SSH signature blob (RFC 4253 section 6.6): string
 * name, string signature.  ecdsa: sig is r || s (halves of equal length),
 * written as a string holding mpint r, mpint s (RFC 5656 section 3.1.2). */
void wid_put_sshsig(struct wid_buf *b, const char *name, int ecdsa,
                    const uint8_t *sig, size_t len);
/* References the string in place. */
int wid_get_sshstr(struct wid_buf *b, const uint8_t **ret_p, size_t *ret_n);

#endif
