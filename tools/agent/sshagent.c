/* tools/agent/sshagent.c: the ssh-agent protocol over the caller's task
 * keys (see sshagent.h).  One pure function per message: bytes in, framed
 * reply out; the socket plumbing is server.c's.  The decoder is strict: a
 * message that does not parse, or has trailing bytes, is answered with
 * SSH_AGENT_FAILURE and the connection is closed.  Logs name tasks and
 * callers, never signed data. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "wid/err.h"
#include "wid/proto.h"
#include "wid/pubkey.h"
#include "handlers.h"
#include "log.h"
#include "sshagent.h"

/* PKCS#11 mechanism numbers (2.40), recorded with each signature so the
 * log and policy see what was computed: hash-and-sign, as ssh asks. */
#define MECH_SHA256_RSA_PKCS 0x00000040u
#define MECH_SHA512_RSA_PKCS 0x00000042u
#define MECH_ECDSA_SHA256 0x00001044u
#define MECH_ECDSA_SHA384 0x00001045u
#define MECH_EDDSA 0x00001057u

#define IDENTITIES_MAX WID_LIST_MAX
#define CERT_SUFFIX "-cert-v01@openssh.com"
#define CERT_REPLY_MAX (WID_HDR_LEN + 4 + 2 + WID_BLOB_MAX)

/* One identity the caller may use: a visible active task's key. */
struct ident {
	uint64_t serial;
	uint8_t key_type;
	uint8_t flags;
	char id[WID_TASK_ID_MAX + 1];
	uint16_t blob_len;
	uint8_t blob[WID_SSH_BLOB_MAX];
};

struct collect {
	struct ident *v;
	size_t n, cap;
	const uint8_t *want;   /* SIGN: keep only this key blob, then stop */
	size_t want_len;
	int err;
};

/* ---- key blobs, computed once per key ----
 * Parsing an SPKI costs tens of microseconds (OpenSSL 3 decoders); a
 * task's key never changes, so its blob is kept, keyed by serial and
 * checked by CKA_ID so that a slot never answers for another key. */

#define BLOB_SLOTS 256u

struct blob_slot {
	uint64_t serial;
	uint8_t key_id[WID_KEY_ID_LEN];
	uint16_t len;
	uint8_t blob[WID_SSH_BLOB_MAX];
};

static struct blob_slot blob_cache[BLOB_SLOTS];
static pthread_mutex_t blob_lock = PTHREAD_MUTEX_INITIALIZER;

static int
task_blob(const struct wid_task *t, uint8_t *out, size_t size,
          size_t *ret_len)
{
	struct blob_slot *sl = &blob_cache[t->serial % BLOB_SLOTS];
	size_t len = 0;
	int r = 0;

	pthread_mutex_lock(&blob_lock);
	if (sl->serial == t->serial && sl->len > 0 && sl->len <= size &&
	    memcmp(sl->key_id, t->key_id, WID_KEY_ID_LEN) == 0) {
		memcpy(out, sl->blob, sl->len);
		*ret_len = sl->len;
		goto out;
	}
	if ((r = wid_pubkey_ssh_blob(t->spki, t->spki_len, out, size,
	    &len)) != 0)
		goto out;
	*ret_len = len;
	if (len <= sizeof(sl->blob)) {
		sl->serial = t->serial;
		memcpy(sl->key_id, t->key_id, WID_KEY_ID_LEN);
		memcpy(sl->blob, out, len);
		sl->len = (uint16_t)len;
	}
out:
	pthread_mutex_unlock(&blob_lock);
	return r;
}

/* ---- digests, fetched once ---- */

static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static EVP_MD *md_sha256, *md_sha384, *md_sha512;

static void
md_fetch(void)
{
	md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	md_sha384 = EVP_MD_fetch(NULL, "SHA384", NULL);
	md_sha512 = EVP_MD_fetch(NULL, "SHA512", NULL);
}

/* DigestInfo prefixes (RFC 8017 section 9.2, note 1). */
static const uint8_t di_sha256[] = {
	0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
	0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20,
};
static const uint8_t di_sha512[] = {
	0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
	0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40,
};

/* ---- SSH wire format (RFC 4251 section 5) on a wid_buf ---- */

/* Frame: u32 length placeholder, patched by reply_finish. */
static void
reply_begin(struct wid_buf *out, uint8_t type)
{
	wid_buf_reset(out);
	wid_put_u32(out, 0);
	wid_put_u8(out, type);
}

static void
reply_finish(struct wid_buf *out)
{
	uint32_t n;

	if (out->err != 0 || out->len < 5) {
		/* Cannot happen for the small replies below; answer
		 * FAILURE rather than a broken frame. */
		wid_buf_reset(out);
		wid_put_u32(out, 1);
		wid_put_u8(out, SSH_AGENT_FAILURE);
		return;
	}
	n = (uint32_t)(out->len - 4);
	out->data[0] = (uint8_t)(n >> 24);
	out->data[1] = (uint8_t)(n >> 16);
	out->data[2] = (uint8_t)(n >> 8);
	out->data[3] = (uint8_t)n;
}

static void
reply_failure(struct wid_buf *out)
{
	reply_begin(out, SSH_AGENT_FAILURE);
	reply_finish(out);
}

int
wid_sshagent_frame_len(const uint8_t hdr[4], uint32_t *ret_len)
{
	uint32_t n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	    (uint32_t)hdr[2] << 8 | hdr[3];

	if (n == 0 || n > WID_SSHAGENT_MSG_MAX)
		return WID_E_PROTO;
	*ret_len = n;
	return 0;
}

int
wid_sshagent_default_path(const char *sock, char *out, size_t size)
{
	const char *slash = strrchr(sock, '/');
	size_t dlen;
	int w;

	if (slash == NULL || size == 0)
		return WID_E_BADARG;
	dlen = (size_t)(slash - sock);
	w = snprintf(out, size, "%.*s/%s", (int)dlen, sock,
	    WID_SSHAGENT_SOCK_NAME);
	if (w < 0 || (size_t)w >= size) {
		out[0] = '\0';
		return WID_E_BADARG;
	}
	return 0;
}

/* ---- the caller's identities ---- */

static int
collect_cb(void *ctx, const struct wid_task *t)
{
	struct collect *c = ctx;
	struct ident *id;
	size_t len = 0;

	if (t->state != WID_STATE_ACTIVE)
		return 0;
	if (c->n == IDENTITIES_MAX)
		return 1;
	if (c->n == c->cap) {
		size_t cap = c->cap == 0 ? 4 : 2 * c->cap;
		struct ident *v = realloc(c->v, cap * sizeof(*v));

		if (v == NULL) {
			c->err = WID_E_NOMEM;
			return 1;
		}
		c->v = v;
		c->cap = cap;
	}
	id = &c->v[c->n];
	if (task_blob(t, id->blob, sizeof(id->blob), &len) != 0)
		return 0;   /* a key ssh cannot name: not an identity */
	if (c->want != NULL && (len != c->want_len ||
	    memcmp(id->blob, c->want, len) != 0))
		return 0;   /* not the key asked for */
	id->blob_len = (uint16_t)len;
	id->serial = t->serial;
	id->key_type = t->key_type;
	id->flags = t->flags;
	memcpy(id->id, t->id, sizeof(id->id));
	c->n++;
	return c->want != NULL;   /* found the key asked for: stop */
}

/* The visible active tasks' keys, in serial order, into ret->v
 * (malloc'ed, freed by the caller); with ret->want set, only the task
 * with that key blob. */
static int
collect(struct wid_agent *a, const struct wid_caller *who,
        struct collect *ret)
{
	uint64_t next = 0;

	ret->n = 0;
	ret->err = 0;
	wid_tasks_list(&a->tasks, who->uid, "", 0, collect_cb, ret, &next);
	if (ret->err != 0)
		return ret->err;
	if (next != 0 && ret->want == NULL)
		wid_warn("ssh-agent: uid %u has more than %d tasks; listing "
		    "the first %d", who->uid, IDENTITIES_MAX, IDENTITIES_MAX);
	return 0;
}

/* The task's OpenSSH certificate as a wire blob, asked of the certificate
 * operations (cert_ops.c) the way a client would: CERT_GET WID_CERT_SSH
 * returns "TYPE BASE64 [COMMENT]".  0 with *ret_len, or an enum wid_err
 * (WID_E_UNSUPPORTED where certificates are not built). */
static int
task_ssh_cert(struct wid_agent *a, const struct wid_caller *who,
              const char *id, uint8_t *blob, size_t size, size_t *ret_len)
{
	struct wid_cert_req req;
	struct wid_buf in, out;
	uint8_t *mem = NULL, *line = NULL, op;
	const uint8_t *p;
	const char *b64, *end;
	uint16_t status, n;
	int r = WID_E_NOMEM, dec;

	*ret_len = 0;
	if ((mem = malloc(CERT_REPLY_MAX)) == NULL ||
	    (line = malloc(WID_BLOB_MAX + 1)) == NULL)
		goto out;
	memset(&req, 0, sizeof(req));
	snprintf(req.id, sizeof(req.id), "%s", id);
	req.kind = WID_CERT_SSH;
	/* The request: header and body, read back by the handler. */
	wid_buf_init(&out, mem, CERT_REPLY_MAX);
	wid_req_begin(&out, WID_OP_CERT_GET);
	wid_cert_req_encode(&out, &req);
	if (out.err != 0 || wid_msg_finish(&out) != 0) {
		r = WID_E_INTERNAL;
		goto out;
	}
	wid_buf_reader(&in, line, out.len - WID_HDR_LEN);
	memcpy(line, mem + WID_HDR_LEN, out.len - WID_HDR_LEN);
	if ((r = wid_req_decode_hdr(&in, &op)) != 0)
		goto out;
	wid_buf_init(&out, mem, CERT_REPLY_MAX);
	if ((r = wid_handle_cert(a, who, WID_OP_CERT_GET, &in, &out)) != 0)
		goto out;
	wid_buf_reader(&in, mem + WID_HDR_LEN, out.len - WID_HDR_LEN);
	if (out.err != 0 ||
	    wid_reply_decode_hdr(&in, WID_OP_CERT_GET, &status) != 0) {
		r = WID_E_PROTO;
		goto out;
	}
	if (status != WID_OK) {
		r = status;
		goto out;
	}
	if (wid_get_blob(&in, &p, &n, WID_BLOB_MAX) != 0 ||
	    wid_get_end(&in) != 0) {
		r = WID_E_PROTO;
		goto out;
	}
	memcpy(line, p, n);
	line[n] = '\0';
	r = WID_E_PROTO;
	if ((b64 = strchr((char *)line, ' ')) == NULL)
		goto out;
	b64++;
	if ((end = strchr(b64, ' ')) == NULL)
		end = b64 + strlen(b64);
	while (end > b64 && (end[-1] == '\n' || end[-1] == '\r'))
		end--;
	if (end == b64 || (size_t)(end - b64) % 4 != 0 ||
	    3 * ((size_t)(end - b64) / 4) > size)
		goto out;
	if ((dec = EVP_DecodeBlock(blob, (const unsigned char *)b64,
	    (int)(end - b64))) < 0)
		goto out;
	/* EVP_DecodeBlock counts '=' padding as zero bytes. */
	if (end[-1] == '=')
		dec--;
	if (end[-2] == '=')
		dec--;
	*ret_len = (size_t)dec;
	r = 0;
out:
	free(mem);
	free(line);
	return r;
}

/* ---- REQUEST_IDENTITIES ---- */

static void
put_identity(struct wid_buf *out, uint32_t *count, const uint8_t *blob,
             size_t blob_len, const char *comment)
{
	/* Keep the frame whole: skip what does not fit (logged). */
	if (out->cap - out->len < 4 + blob_len + 4 + strlen(comment)) {
		wid_warn("ssh-agent: identity %s does not fit in the reply",
		    comment);
		return;
	}
	wid_put_sshstr(out, blob, blob_len);
	wid_put_sshcstr(out, comment);
	(*count)++;
}

static int
op_identities(struct wid_agent *a, const struct wid_caller *who,
              struct wid_buf *out)
{
	struct collect c = { NULL, 0, 0, NULL, 0, 0 };
	uint8_t *cert = NULL;
	uint32_t count = 0;
	size_t i, count_pos, cert_len;
	int r;

	if ((r = collect(a, who, &c)) != 0)
		goto out;
	reply_begin(out, SSH2_AGENT_IDENTITIES_ANSWER);
	count_pos = out->len;
	wid_put_u32(out, 0);   /* patched below */
	for (i = 0; i < c.n; i++) {
		put_identity(out, &count, c.v[i].blob, c.v[i].blob_len,
		    c.v[i].id);
		if ((c.v[i].flags & WID_TASK_HAS_SSH_CERT) == 0)
			continue;
		if (cert == NULL && (cert = malloc(WID_BLOB_MAX)) == NULL) {
			r = WID_E_NOMEM;
			goto out;
		}
		if (task_ssh_cert(a, who, c.v[i].id, cert, WID_BLOB_MAX,
		    &cert_len) == 0)
			put_identity(out, &count, cert, cert_len, c.v[i].id);
	}
	out->data[count_pos] = (uint8_t)(count >> 24);
	out->data[count_pos + 1] = (uint8_t)(count >> 16);
	out->data[count_pos + 2] = (uint8_t)(count >> 8);
	out->data[count_pos + 3] = (uint8_t)count;
	reply_finish(out);
	r = 0;
out:
	free(c.v);
	free(cert);
	if (r != 0)
		reply_failure(out);
	return 0;
}

/* ---- SIGN_REQUEST ---- */

static int
is_cert_blob(const uint8_t *blob, size_t len)
{
	struct wid_buf b;
	const uint8_t *t;
	size_t n, sl = sizeof(CERT_SUFFIX) - 1;

	wid_buf_reader(&b, blob, len);
	return wid_get_sshstr(&b, &t, &n) == 0 && n > sl &&
	    memcmp(t + n - sl, CERT_SUFFIX, sl) == 0;
}

/* The identity whose key (or certificate) blob is `blob`. */
static int
find_ident(struct wid_agent *a, const struct wid_caller *who,
           const struct collect *c, const uint8_t *blob, size_t len,
           const struct ident **ret)
{
	uint8_t *cert = NULL;
	size_t i, cert_len;
	int r = WID_E_NOTASK;

	*ret = NULL;
	if (!is_cert_blob(blob, len)) {
		for (i = 0; i < c->n; i++) {
			if (c->v[i].blob_len == len &&
			    memcmp(c->v[i].blob, blob, len) == 0) {
				*ret = &c->v[i];
				return 0;
			}
		}
		return WID_E_NOTASK;
	}
	for (i = 0; i < c->n; i++) {
		if ((c->v[i].flags & WID_TASK_HAS_SSH_CERT) == 0)
			continue;
		if (cert == NULL && (cert = malloc(WID_BLOB_MAX)) == NULL) {
			r = WID_E_NOMEM;
			break;
		}
		if (task_ssh_cert(a, who, c->v[i].id, cert, WID_BLOB_MAX,
		    &cert_len) == 0 && cert_len == len &&
		    memcmp(cert, blob, len) == 0) {
			*ret = &c->v[i];
			r = 0;
			break;
		}
	}
	free(cert);
	return r;
}

/* Fills req (data in dbuf) for the key type and flags; *ret_name is the
 * signature algorithm name ssh expects. */
static int
prepare(const struct ident *id, uint32_t flags, const uint8_t *data,
        size_t dlen, uint8_t dbuf[128], struct wid_sign_req *req,
        const char **ret_name)
{
	const EVP_MD *md = NULL;
	const uint8_t *prefix = NULL;
	size_t plen = 0;
	unsigned int mdlen = 0;

	memset(req, 0, sizeof(*req));
	req->serial = id->serial;
	pthread_once(&md_once, md_fetch);
	switch (id->key_type) {
	case WID_KEY_EC_P256:
		*ret_name = "ecdsa-sha2-nistp256";
		md = md_sha256;
		req->alg = WID_SIG_ECDSA;
		req->mechanism = MECH_ECDSA_SHA256;
		break;
	case WID_KEY_EC_P384:
		*ret_name = "ecdsa-sha2-nistp384";
		md = md_sha384;
		req->alg = WID_SIG_ECDSA;
		req->mechanism = MECH_ECDSA_SHA384;
		break;
	case WID_KEY_ED25519:
		if (dlen > WID_SIGN_DATA_MAX)
			return WID_E_LIMIT;
		*ret_name = "ssh-ed25519";
		req->alg = WID_SIG_EDDSA;
		req->mechanism = MECH_EDDSA;
		req->data = data;
		req->data_len = (uint16_t)dlen;
		return 0;
	case WID_KEY_RSA2048:
	case WID_KEY_RSA3072:
		/* ssh-agent.c's order: SHA-256 first.  No flag means
		 * ssh-rsa (SHA-1): refused. */
		if (flags & SSH_AGENT_RSA_SHA2_256) {
			*ret_name = "rsa-sha2-256";
			md = md_sha256;
			prefix = di_sha256;
			plen = sizeof(di_sha256);
			req->mechanism = MECH_SHA256_RSA_PKCS;
		} else if (flags & SSH_AGENT_RSA_SHA2_512) {
			*ret_name = "rsa-sha2-512";
			md = md_sha512;
			prefix = di_sha512;
			plen = sizeof(di_sha512);
			req->mechanism = MECH_SHA512_RSA_PKCS;
		} else
			return WID_E_MECH;
		req->alg = WID_SIG_RSA_PKCS1;
		break;
	default:
		return WID_E_MECH;
	}
	if (md == NULL)
		return WID_E_CRYPTO;
	if (plen > 0)
		memcpy(dbuf, prefix, plen);
	if (EVP_Digest(data, dlen, dbuf + plen, &mdlen, md, NULL) != 1)
		return WID_E_CRYPTO;
	req->data = dbuf;
	req->data_len = (uint16_t)(plen + mdlen);
	return 0;
}

static void
put_signature(struct wid_buf *out, const char *name, int key_type,
              const uint8_t *sig, size_t len)
{
	uint8_t inner[64 + 2 * (4 + 1 + WID_SIG_MAX / 2)];
	struct wid_buf b;

	reply_begin(out, SSH2_AGENT_SIGN_RESPONSE);
	wid_buf_init(&b, inner, sizeof(inner));
	wid_put_sshsig(&b, name, key_type == WID_KEY_EC_P256 ||
	    key_type == WID_KEY_EC_P384, sig, len);
	if (b.err != 0)
		out->err = b.err;
	wid_put_sshstr(out, inner, b.len);
	reply_finish(out);
	OPENSSL_cleanse(inner, sizeof(inner));
}

static int
op_sign(struct wid_agent *a, const struct wid_caller *who,
        struct wid_buf *in, struct wid_buf *out)
{
	struct collect c = { NULL, 0, 0, NULL, 0, 0 };
	const struct ident *id = NULL;
	struct wid_sign_req req;
	const uint8_t *blob, *data;
	const char *name = NULL;
	uint8_t dbuf[128], sig[WID_SIG_MAX];
	char reason[WID_REASON_MAX + 1];
	size_t blen, dlen, slen = 0;
	uint32_t flags;
	int r;

	if (wid_get_sshstr(in, &blob, &blen) != 0 ||
	    wid_get_sshstr(in, &data, &dlen) != 0 ||
	    wid_get_u32(in, &flags) != 0 || wid_get_end(in) != 0)
		return WID_E_PROTO;
	if (!is_cert_blob(blob, blen)) {
		c.want = blob;
		c.want_len = blen;
	}
	if ((r = collect(a, who, &c)) != 0)
		goto out;
	if ((r = find_ident(a, who, &c, blob, blen, &id)) != 0) {
		wid_info("ssh-agent: sign refused: uid=%u pid=%u exe=%s: no "
		    "visible active task has this key", who->uid, who->pid,
		    who->exe != NULL ? who->exe : "?");
		goto out;
	}
	if ((r = prepare(id, flags, data, dlen, dbuf, &req, &name)) != 0) {
		wid_warn("ssh-agent: sign refused: task=%s uid=%u pid=%u "
		    "flags=0x%x: %s", id->id, who->uid, who->pid, flags,
		    r == WID_E_MECH ? "ssh-rsa (SHA-1) signatures are not "
		    "made; ask for rsa-sha2-256 or rsa-sha2-512" :
		    r == WID_E_LIMIT ? "data too long for Ed25519" :
		    wid_strerror(r));
		goto out;
	}
	if ((r = wid_sign_for(a, who, &req, sig, &slen, reason,
	    sizeof(reason))) != 0)
		goto out;
	put_signature(out, name, id->key_type, sig, slen);
out:
	if (r != 0)
		reply_failure(out);
	OPENSSL_cleanse(dbuf, sizeof(dbuf));
	OPENSSL_cleanse(sig, sizeof(sig));
	free(c.v);
	return 0;
}

int
wid_sshagent_handle(struct wid_agent *a, const struct wid_caller *who,
                    const uint8_t *msg, size_t len, struct wid_buf *out)
{
	struct wid_buf in;
	uint8_t type = 0;
	int r = 0;

	wid_buf_reader(&in, msg, len);
	if (wid_get_u8(&in, &type) != 0)
		r = WID_E_PROTO;
	else if (type == SSH2_AGENTC_REQUEST_IDENTITIES)
		r = wid_get_end(&in) != 0 ? WID_E_PROTO :
		    op_identities(a, who, out);
	else if (type == SSH2_AGENTC_SIGN_REQUEST)
		r = op_sign(a, who, &in, out);
	else {
		/* Add/remove identities, lock, extensions, SSH1: wid keys
		 * come from tasks only. */
		reply_failure(out);
		return 0;
	}
	if (r == 0)
		return 0;
	wid_warn("ssh-agent: malformed message (type %u, %zu bytes) from "
	    "uid=%u pid=%u: closing", type, len, who->uid, who->pid);
	reply_failure(out);
	return 1;
}
