/* tests/faults/p11fault.c: PKCS#11 client for the fault and hygiene tests.
 * Loads the module with dlopen; never prints key data.
 *
 *   p11fault latency MODULE LABEL N
 *       N signatures with the key labelled LABEL; prints
 *       "ok N median_us M p99_us P max_us X".
 *   p11fault killwait MODULE LABEL READY RESTART
 *       Signs in a loop; creates file READY after the first signature;
 *       when C_Sign fails (the agent was killed) prints
 *       "error CKR_... at NS" (CLOCK_REALTIME ns); then waits (20 s at
 *       most) for file RESTART, which holds the label of a task on the
 *       restarted agent, calls C_Finalize + C_Initialize, finds that key
 *       and signs: "reinit CKR_...".
 *   p11fault sensitive MODULE LABEL
 *       Asks the private key for CKA_VALUE and CKA_PRIVATE_EXPONENT:
 *       prints "CKA_VALUE CKR_..." and "CKA_PRIVATE_EXPONENT CKR_...".
 * Exit: 0 when the scenario ran as described, 1 otherwise, 2 usage. */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

static CK_FUNCTION_LIST_PTR f;

static const char *
rvname(CK_RV rv)
{
	static char buf[32];

	switch (rv) {
	case CKR_OK: return "CKR_OK";
	case CKR_GENERAL_ERROR: return "CKR_GENERAL_ERROR";
	case CKR_FUNCTION_FAILED: return "CKR_FUNCTION_FAILED";
	case CKR_DEVICE_ERROR: return "CKR_DEVICE_ERROR";
	case CKR_DEVICE_REMOVED: return "CKR_DEVICE_REMOVED";
	case CKR_KEY_HANDLE_INVALID: return "CKR_KEY_HANDLE_INVALID";
	case CKR_OBJECT_HANDLE_INVALID: return "CKR_OBJECT_HANDLE_INVALID";
	case CKR_SESSION_HANDLE_INVALID: return "CKR_SESSION_HANDLE_INVALID";
	case CKR_TOKEN_NOT_PRESENT: return "CKR_TOKEN_NOT_PRESENT";
	case CKR_ATTRIBUTE_SENSITIVE: return "CKR_ATTRIBUTE_SENSITIVE";
	case CKR_ATTRIBUTE_TYPE_INVALID: return "CKR_ATTRIBUTE_TYPE_INVALID";
	case CKR_KEY_FUNCTION_NOT_PERMITTED:
		return "CKR_KEY_FUNCTION_NOT_PERMITTED";
	default:
		snprintf(buf, sizeof(buf), "CKR_0x%lx", (unsigned long)rv);
		return buf;
	}
}

static uint64_t
now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
load(const char *module)
{
	CK_C_GetFunctionList gfl;
	void *dl;

	if ((dl = dlopen(module, RTLD_NOW | RTLD_LOCAL)) == NULL ||
	    (gfl = (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList")) == NULL ||
	    gfl(&f) != CKR_OK) {
		fprintf(stderr, "p11fault: cannot load %s\n", module);
		return -1;
	}
	return 0;
}

/* Initializes, opens a session on each slot with a token and finds the
 * private key labelled `label`. */
static CK_RV
open_key(const char *label, CK_SESSION_HANDLE *ret_s, CK_OBJECT_HANDLE *ret_h)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE q[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_LABEL, (void *)label, strlen(label) },
	};
	CK_SLOT_ID slots[8];
	CK_ULONG nslots = 8, n, i;
	CK_RV rv;

	if ((rv = f->C_Initialize(NULL)) != CKR_OK ||
	    (rv = f->C_GetSlotList(CK_TRUE, slots, &nslots)) != CKR_OK)
		return rv;
	for (i = 0; i < nslots; i++) {
		if ((rv = f->C_OpenSession(slots[i], CKF_SERIAL_SESSION, NULL,
		    NULL, ret_s)) != CKR_OK)
			return rv;
		n = 0;
		if ((rv = f->C_FindObjectsInit(*ret_s, q, 2)) != CKR_OK ||
		    (rv = f->C_FindObjects(*ret_s, ret_h, 1, &n)) != CKR_OK ||
		    (rv = f->C_FindObjectsFinal(*ret_s)) != CKR_OK)
			return rv;
		if (n == 1)
			return CKR_OK;
		f->C_CloseSession(*ret_s);
	}
	return CKR_OBJECT_HANDLE_INVALID;
}

static CK_RV
sign(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h)
{
	CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };
	CK_BYTE digest[32], sig[512];
	CK_ULONG len = sizeof(sig);
	CK_RV rv;

	memset(digest, 0x11, sizeof(digest));
	if ((rv = f->C_SignInit(s, &m, h)) != CKR_OK)
		return rv;
	return f->C_Sign(s, digest, sizeof(digest), sig, &len);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int
do_latency(const char *label, int n)
{
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE h;
	uint64_t *lat;
	CK_RV rv;
	int i, rc = 1;

	if (n < 1 || (lat = calloc((size_t)n, sizeof(*lat))) == NULL)
		return 2;
	if ((rv = open_key(label, &s, &h)) != CKR_OK) {
		printf("open %s\n", rvname(rv));
		goto out;
	}
	for (i = 0; i < n; i++) {
		uint64_t t0 = now_ns(CLOCK_MONOTONIC);

		if ((rv = sign(s, h)) != CKR_OK) {
			printf("sign %d %s\n", i, rvname(rv));
			goto out;
		}
		lat[i] = now_ns(CLOCK_MONOTONIC) - t0;
	}
	qsort(lat, (size_t)n, sizeof(*lat), cmp_u64);
	printf("ok %d median_us %llu p99_us %llu max_us %llu\n", n,
	    (unsigned long long)lat[n / 2] / 1000,
	    (unsigned long long)lat[(n * 99) / 100] / 1000,
	    (unsigned long long)lat[n - 1] / 1000);
	rc = 0;
out:
	free(lat);
	f->C_Finalize(NULL);
	return rc;
}

static int
do_killwait(const char *label, const char *ready, const char *restart)
{
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE h;
	char label2[128];
	FILE *fp;
	CK_RV rv;
	long n = 0;
	int i;

	if ((rv = open_key(label, &s, &h)) != CKR_OK) {
		printf("open %s\n", rvname(rv));
		return 1;
	}
	while ((rv = sign(s, h)) == CKR_OK) {
		if (n++ == 0 && (fp = fopen(ready, "w")) != NULL)
			fclose(fp);
	}
	printf("error %s at %llu after %ld signatures\n", rvname(rv),
	    (unsigned long long)now_ns(CLOCK_REALTIME), n);
	fflush(stdout);
	if (n == 0)
		return 1;
	/* A call after the failure must fail again, quickly, not hang. */
	rv = sign(s, h);
	printf("again %s\n", rvname(rv));
	for (i = 0; i < 200 && access(restart, R_OK) != 0; i++)
		usleep(100000);
	if ((fp = fopen(restart, "r")) == NULL ||
	    fgets(label2, sizeof(label2), fp) == NULL) {
		printf("no restart file\n");
		return 1;
	}
	fclose(fp);
	label2[strcspn(label2, "\n")] = '\0';
	f->C_Finalize(NULL);
	if ((rv = open_key(label2, &s, &h)) == CKR_OK)
		rv = sign(s, h);
	printf("reinit %s\n", rvname(rv));
	f->C_Finalize(NULL);
	return rv == CKR_OK ? 0 : 1;
}

static int
do_sensitive(const char *label)
{
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE h;
	CK_BYTE buf[1024];
	CK_ATTRIBUTE a;
	CK_ATTRIBUTE_TYPE types[] = { CKA_VALUE, CKA_PRIVATE_EXPONENT };
	const char *names[] = { "CKA_VALUE", "CKA_PRIVATE_EXPONENT" };
	CK_RV rv;
	int i;

	if ((rv = open_key(label, &s, &h)) != CKR_OK) {
		printf("open %s\n", rvname(rv));
		return 1;
	}
	for (i = 0; i < 2; i++) {
		a.type = types[i];
		a.pValue = buf;
		a.ulValueLen = sizeof(buf);
		rv = f->C_GetAttributeValue(s, h, &a, 1);
		printf("%s %s%s\n", names[i], rvname(rv),
		    a.ulValueLen == CK_UNAVAILABLE_INFORMATION ? "" :
		    " (length returned!)");
	}
	f->C_Finalize(NULL);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 4)
		goto usage;
	if (load(argv[2]) != 0)
		return 1;
	if (strcmp(argv[1], "latency") == 0 && argc == 5)
		return do_latency(argv[3], atoi(argv[4]));
	if (strcmp(argv[1], "killwait") == 0 && argc == 6)
		return do_killwait(argv[3], argv[4], argv[5]);
	if (strcmp(argv[1], "sensitive") == 0 && argc == 4)
		return do_sensitive(argv[3]);
usage:
	fprintf(stderr, "usage: p11fault latency|killwait|sensitive MODULE "
	    "LABEL ...\n");
	return 2;
}
