/* tests/integration/p11sign.c: test helper that proves an OPEN PKCS#11
 * session loses its key when the task ends or expires, and that the
 * module fails cleanly (no crash) when the agent goes away.
 *
 * usage: p11sign MODULE LABEL ecdsa|rsa COUNT INTERVAL_MS
 *
 * Loads MODULE with dlopen, opens one session on each slot with a token,
 * finds the private key whose CKA_LABEL is LABEL, then COUNT times (with
 * INTERVAL_MS between) calls C_SignInit + C_Sign on the same session and
 * key handle and prints one line per attempt: "sign N CKR_NAME".
 * Exit: 0 when the loop ran (whatever C_Sign returned), 1 when set-up
 * failed (module, slot, key not found), 2 usage.  Never prints key data.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <p11-kit/pkcs11.h>

#define MAX_SLOTS 16

static const struct {
	CK_RV rv;
	const char *name;
} rv_names[] = {
	{ CKR_OK, "CKR_OK" },
	{ CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR" },
	{ CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED" },
	{ CKR_ARGUMENTS_BAD, "CKR_ARGUMENTS_BAD" },
	{ CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR" },
	{ CKR_DEVICE_REMOVED, "CKR_DEVICE_REMOVED" },
	{ CKR_KEY_HANDLE_INVALID, "CKR_KEY_HANDLE_INVALID" },
	{ CKR_MECHANISM_INVALID, "CKR_MECHANISM_INVALID" },
	{ CKR_OBJECT_HANDLE_INVALID, "CKR_OBJECT_HANDLE_INVALID" },
	{ CKR_OPERATION_NOT_INITIALIZED, "CKR_OPERATION_NOT_INITIALIZED" },
	{ CKR_SESSION_CLOSED, "CKR_SESSION_CLOSED" },
	{ CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID" },
	{ CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT" },
	{ CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN" },
	{ CKR_KEY_FUNCTION_NOT_PERMITTED, "CKR_KEY_FUNCTION_NOT_PERMITTED" },
	{ CKR_FUNCTION_REJECTED, "CKR_FUNCTION_REJECTED" },
	{ CKR_CRYPTOKI_NOT_INITIALIZED, "CKR_CRYPTOKI_NOT_INITIALIZED" },
	{ CKR_BUFFER_TOO_SMALL, "CKR_BUFFER_TOO_SMALL" },
	{ CKR_HOST_MEMORY, "CKR_HOST_MEMORY" },
};

static const char *
rv_name(CK_RV rv)
{
	static char hex[32];
	size_t i;

	for (i = 0; i < sizeof(rv_names) / sizeof(rv_names[0]); i++)
		if (rv_names[i].rv == rv)
			return rv_names[i].name;
	snprintf(hex, sizeof(hex), "CKR_0x%lx", (unsigned long)rv);
	return hex;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Finds the private key labelled `label` on any slot; returns its session
 * and handle.  0 on success. */
static int
find_key(CK_FUNCTION_LIST_PTR f, const char *label,
    CK_SESSION_HANDLE *ret_sess, CK_OBJECT_HANDLE *ret_key)
{
	CK_SLOT_ID slots[MAX_SLOTS];
	CK_ULONG nslots = MAX_SLOTS, i, n;
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_LABEL, (void *)label, strlen(label) },
	};
	CK_SESSION_HANDLE sess;
	CK_OBJECT_HANDLE key;
	CK_RV rv;

	if ((rv = f->C_GetSlotList(CK_TRUE, slots, &nslots)) != CKR_OK) {
		fprintf(stderr, "p11sign: C_GetSlotList: %s\n", rv_name(rv));
		return -1;
	}
	for (i = 0; i < nslots; i++) {
		rv = f->C_OpenSession(slots[i], CKF_SERIAL_SESSION, NULL, NULL,
		    &sess);
		if (rv != CKR_OK) {
			fprintf(stderr, "p11sign: C_OpenSession(slot %lu): %s\n",
			    (unsigned long)slots[i], rv_name(rv));
			continue;
		}
		n = 0;
		if (f->C_FindObjectsInit(sess, tmpl, 2) == CKR_OK) {
			if (f->C_FindObjects(sess, &key, 1, &n) != CKR_OK)
				n = 0;
			f->C_FindObjectsFinal(sess);
		}
		if (n == 1) {
			*ret_sess = sess;
			*ret_key = key;
			return 0;
		}
		f->C_CloseSession(sess);
	}
	fprintf(stderr, "p11sign: no private key labelled '%s' in %lu slot(s)\n",
	    label, (unsigned long)nslots);
	return -1;
}

int
main(int argc, char **argv)
{
	CK_C_GetFunctionList getfl;
	CK_FUNCTION_LIST_PTR f = NULL;
	CK_SESSION_HANDLE sess;
	CK_OBJECT_HANDLE key;
	CK_MECHANISM mech = { CKM_ECDSA, NULL, 0 };
	CK_BYTE data[32], sig[1024];
	CK_ULONG siglen;
	CK_RV rv;
	void *dl;
	long count, interval, i;
	char *end;
	int ret = 1;

	if (argc != 6) {
		fprintf(stderr, "usage: p11sign MODULE LABEL ecdsa|rsa COUNT "
		    "INTERVAL_MS\n");
		return 2;
	}
	if (strcmp(argv[3], "ecdsa") == 0)
		mech.mechanism = CKM_ECDSA;           /* data: a digest */
	else if (strcmp(argv[3], "rsa") == 0)
		mech.mechanism = CKM_SHA256_RSA_PKCS; /* data: the message */
	else {
		fprintf(stderr, "p11sign: unknown mechanism '%s'\n", argv[3]);
		return 2;
	}
	errno = 0;
	count = strtol(argv[4], &end, 10);
	if (errno || *end || count < 1 || count > 100000)
		return 2;
	interval = strtol(argv[5], &end, 10);
	if (errno || *end || interval < 0 || interval > 60000)
		return 2;
	memset(data, 0x5a, sizeof(data));

	setvbuf(stdout, NULL, _IOLBF, 0);
	if ((dl = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL)) == NULL) {
		fprintf(stderr, "p11sign: dlopen: %s\n", dlerror());
		return 1;
	}
	*(void **)&getfl = dlsym(dl, "C_GetFunctionList");
	if (getfl == NULL || getfl(&f) != CKR_OK || f == NULL) {
		fprintf(stderr, "p11sign: no C_GetFunctionList\n");
		goto out;
	}
	if ((rv = f->C_Initialize(NULL)) != CKR_OK) {
		fprintf(stderr, "p11sign: C_Initialize: %s\n", rv_name(rv));
		f = NULL;
		goto out;
	}
	if (find_key(f, argv[2], &sess, &key) != 0)
		goto out;
	printf("found %s\n", argv[2]);

	for (i = 1; i <= count; i++) {
		if (i > 1)
			sleep_ms(interval);
		rv = f->C_SignInit(sess, &mech, key);
		if (rv == CKR_OK) {
			siglen = sizeof(sig);
			rv = f->C_Sign(sess, data, sizeof(data), sig, &siglen);
			if (rv == CKR_OK && siglen == 0)
				rv = CKR_GENERAL_ERROR; /* nothing signed */
		}
		printf("sign %ld %s\n", i, rv_name(rv));
	}
	ret = 0;
out:
	if (f != NULL)
		f->C_Finalize(NULL);
	/* No dlclose: a module's atexit handlers may still point into it. */
	return ret;
}
