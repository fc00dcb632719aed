/* tests/unit/test_module_agent.h: a wid-agent stand-in for module tests: real
 * protocol codec, real OpenSSL keys, one thread per connection, counters
 * and failure injection.  Header-only, included by one test program. */
#ifndef WID_FAKE_AGENT_H
#define WID_FAKE_AGENT_H

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "wid/buf.h"
#include "wid/err.h"
#include "wid/proto.h"

#define FA_MAXKEYS 8

struct fa_key {
	struct wid_task task;
	EVP_PKEY *pkey;
};

struct fake_agent {
	pthread_mutex_t lock;
	char dir[64];
	char path[108];
	int lfd;
	pthread_t thread;
	struct fa_key keys[FA_MAXKEYS];
	size_t nkeys;
	/* counters and the last SIGN request */
	unsigned nlist, nsign, nconn;
	struct wid_sign_req last;
	uint8_t last_data[WID_SIGN_DATA_MAX];
	/* injection: status for the next SIGN, or drop the connection */
	int fail_next;
	int drop_next;
	unsigned page_size;
	/* the task filter of the last LIST ("" for all) */
	char last_list_task[WID_TASK_ID_MAX + 1];
	/* rendezvous: when > 0, each SIGN waits (up to 3 s, outside `lock`)
	 * until this many SIGNs have arrived; rv_met counts those that saw
	 * them all.  Proves that round trips run in parallel. */
	unsigned rv_target, rv_arrived, rv_met;
	pthread_mutex_t rv_lock;
	pthread_cond_t rv_cond;
};

static struct fake_agent fa = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.rv_lock = PTHREAD_MUTEX_INITIALIZER,
	.rv_cond = PTHREAD_COND_INITIALIZER,
};

static void
fa_rendezvous(void)
{
	struct timespec until;
	int met = 1;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 3;
	pthread_mutex_lock(&fa.rv_lock);
	if (fa.rv_target > 0) {
		fa.rv_arrived++;
		pthread_cond_broadcast(&fa.rv_cond);
		while (fa.rv_arrived < fa.rv_target && met)
			met = pthread_cond_timedwait(&fa.rv_cond, &fa.rv_lock,
			    &until) == 0;
		if (fa.rv_arrived >= fa.rv_target)
			fa.rv_met++;
	}
	pthread_mutex_unlock(&fa.rv_lock);
}

static int
fa_recv(int fd, uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t r = recv(fd, p, n, 0);

		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int
fa_sign(struct fa_key *k, const struct wid_sign_req *q, uint8_t *sig,
    size_t *siglen)
{
	EVP_PKEY_CTX *ctx = NULL;
	EVP_MD_CTX *mctx = NULL;
	uint8_t der[WID_SIG_MAX];
	size_t derlen = sizeof(der);
	int ok = 0;

	if (q->alg == WID_SIG_EDDSA) {
		mctx = EVP_MD_CTX_new();
		ok = EVP_DigestSignInit(mctx, NULL, NULL, NULL, k->pkey) == 1 &&
		    EVP_DigestSign(mctx, sig, siglen, q->data, q->data_len) == 1;
		EVP_MD_CTX_free(mctx);
		return ok ? 0 : -1;
	}
	ctx = EVP_PKEY_CTX_new(k->pkey, NULL);
	if (ctx == NULL || EVP_PKEY_sign_init(ctx) != 1)
		goto out;
	if (q->alg == WID_SIG_RSA_PKCS1 &&
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1)
		goto out;
	if (q->alg == WID_SIG_RSA_PSS) {
		const char *h = q->hash == WID_HASH_SHA256 ? "SHA256" :
		    q->hash == WID_HASH_SHA384 ? "SHA384" :
		    q->hash == WID_HASH_SHA512 ? "SHA512" : "SHA1";
		if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) != 1 ||
		    EVP_PKEY_CTX_set_signature_md(ctx, EVP_get_digestbyname(h)) != 1 ||
		    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_get_digestbyname(h)) != 1 ||
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, (int)q->salt) != 1)
			goto out;
	}
	if (EVP_PKEY_sign(ctx, der, &derlen, q->data, q->data_len) != 1)
		goto out;
	if (q->alg == WID_SIG_ECDSA) {
		const unsigned char *p = der;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
		int fl = (EVP_PKEY_get_bits(k->pkey) + 7) / 8;

		if (es == NULL)
			goto out;
		BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, fl);
		BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + fl, fl);
		*siglen = 2 * (size_t)fl;
		ECDSA_SIG_free(es);
	} else {
		memcpy(sig, der, derlen);
		*siglen = derlen;
	}
	ok = 1;
out:
	EVP_PKEY_CTX_free(ctx);
	return ok ? 0 : -1;
}

static void
fa_handle(struct wid_buf *in, uint8_t op, struct wid_buf *out)
{
	if (op == WID_OP_LIST) {
		struct wid_list_req lr;
		size_t i, cnt = 0, limit = fa.page_size ? fa.page_size : 256;
		uint64_t next = 0;
		size_t cpos;

		if (wid_list_req_decode(in, &lr) != 0) {
			wid_reply_error(out, op, WID_E_PROTO, "bad list");
			return;
		}
		fa.nlist++;
		memcpy(fa.last_list_task, lr.task, sizeof(fa.last_list_task));
		wid_reply_begin(out, op, WID_OK);
		cpos = out->len;
		wid_put_u16(out, 0);
		for (i = 0; i < fa.nkeys; i++) {
			struct wid_task *t = &fa.keys[i].task;

			if (t->serial < lr.cursor)
				continue;
			if (lr.task[0] != '\0' && strcmp(lr.task, t->id) != 0)
				continue;
			if (cnt == limit) {
				next = t->serial;
				break;
			}
			wid_task_encode(out, t);
			cnt++;
		}
		out->data[cpos] = (uint8_t)(cnt >> 8);
		out->data[cpos + 1] = (uint8_t)cnt;
		wid_put_u64(out, next);
	} else if (op == WID_OP_SIGN) {
		struct wid_sign_req q;
		uint8_t sig[WID_SIG_MAX];
		size_t siglen = sizeof(sig), i;
		struct fa_key *k = NULL;

		if (wid_sign_req_decode(in, &q) != 0) {
			wid_reply_error(out, op, WID_E_PROTO, "bad sign");
			return;
		}
		fa.nsign++;
		fa.last = q;
		memcpy(fa.last_data, q.data, q.data_len);
		fa.last.data = fa.last_data;
		if (fa.fail_next) {
			wid_reply_error(out, op, (uint16_t)fa.fail_next, NULL);
			fa.fail_next = 0;
			return;
		}
		for (i = 0; i < fa.nkeys; i++)
			if (fa.keys[i].task.serial == q.serial)
				k = &fa.keys[i];
		if (k == NULL || k->task.state != WID_STATE_ACTIVE) {
			wid_reply_error(out, op, WID_E_NOTASK, NULL);
			return;
		}
		if (fa_sign(k, &q, sig, &siglen) != 0) {
			wid_reply_error(out, op, WID_E_CRYPTO, NULL);
			return;
		}
		wid_reply_begin(out, op, WID_OK);
		wid_put_blob(out, sig, siglen);
	} else
		wid_reply_error(out, op, WID_E_UNSUPPORTED, NULL);
}

static void *
fa_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	static __thread uint8_t inb[WID_MSG_MAX], outb[WID_MSG_MAX];

	for (;;) {
		struct wid_buf in, out;
		uint32_t len;
		uint8_t op;
		int drop;

		if (fa_recv(fd, inb, WID_HDR_LEN) != 0 ||
		    wid_frame_len(inb, &len) != 0 || fa_recv(fd, inb, len) != 0)
			break;
		if (len > 1 && inb[1] == WID_OP_SIGN)
			fa_rendezvous();
		pthread_mutex_lock(&fa.lock);
		drop = fa.drop_next;
		fa.drop_next = 0;
		wid_buf_reader(&in, inb, len);
		wid_buf_init(&out, outb, sizeof(outb));
		if (!drop) {
			if (wid_req_decode_hdr(&in, &op) != 0)
				wid_reply_error(&out, 0, WID_E_PROTO, NULL);
			else
				fa_handle(&in, op, &out);
			wid_msg_finish(&out);
		}
		pthread_mutex_unlock(&fa.lock);
		if (drop || send(fd, outb, out.len, MSG_NOSIGNAL) != (ssize_t)out.len)
			break;
	}
	close(fd);
	return NULL;
}

/* Connections accepted so far (read under the fake agent's lock). */
static unsigned
fa_nconn(void)
{
	unsigned n;

	pthread_mutex_lock(&fa.lock);
	n = fa.nconn;
	pthread_mutex_unlock(&fa.lock);
	return n;
}

static void *
fa_accept(void *arg)
{
	for (;;) {
		pthread_t t;
		int fd = accept(fa.lfd, NULL, NULL);

		if (fd < 0)
			break;
		pthread_mutex_lock(&fa.lock);
		fa.nconn++;
		pthread_mutex_unlock(&fa.lock);
		if (pthread_create(&t, NULL, fa_conn, (void *)(intptr_t)fd) != 0)
			close(fd);
		else
			pthread_detach(t);
	}
	return NULL;
}

static struct fa_key *
fa_add(const char *id, int key_type, int state, uint64_t serial)
{
	struct fa_key *k = &fa.keys[fa.nkeys++];
	struct wid_task *t = &k->task;
	unsigned char *p;
	int len;

	memset(k, 0, sizeof(*k));
	switch (key_type) {
	case WID_KEY_EC_P256:
		k->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case WID_KEY_EC_P384:
		k->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
		break;
	case WID_KEY_ED25519:
		k->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	default:
		k->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		break;
	}
	snprintf(t->id, sizeof(t->id), "%s", id);
	t->state = (uint8_t)state;
	t->key_type = (uint8_t)key_type;
	t->serial = serial;
	memset(t->key_id, (int)serial, WID_KEY_ID_LEN);
	t->created = 1700000000;      /* 2023-11-14 */
	t->expires = 1700000000 + 3600;
	t->executor_uid = WID_UID_NONE;
	p = t->spki;
	len = i2d_PUBKEY(k->pkey, &p);
	t->spki_len = (uint16_t)(len > 0 ? len : 0);
	return k;
}

static int
fa_start(void)
{
	struct sockaddr_un sun;

	snprintf(fa.dir, sizeof(fa.dir), "/tmp/wid-test-XXXXXX");
	if (mkdtemp(fa.dir) == NULL)
		return -1;
	snprintf(fa.path, sizeof(fa.path), "%s/agent.sock", fa.dir);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, fa.path, strlen(fa.path));
	fa.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fa.lfd < 0 || bind(fa.lfd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    listen(fa.lfd, 16) != 0)
		return -1;
	return pthread_create(&fa.thread, NULL, fa_accept, NULL) == 0 ? 0 : -1;
}

static void
fa_stop(void)
{
	size_t i;

	shutdown(fa.lfd, SHUT_RDWR);
	close(fa.lfd);
	pthread_join(fa.thread, NULL);
	unlink(fa.path);
	rmdir(fa.dir);
	for (i = 0; i < fa.nkeys; i++)
		EVP_PKEY_free(fa.keys[i].pkey);
	fa.nkeys = 0;
}

#endif
