/* tests/fuzz/fuzz_spki.c: wid_spki_parse and the OpenSSH line, PEM and
 * fingerprint made from it, on any bytes (what a rogue agent could put in
 * a task's SPKI).  An SPKI that parses must give an OpenSSH line, a PEM
 * and a fingerprint; one that does not must give none of them. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wid/err.h"
#include "wid/pubkey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char line[4096], pem[4096], fp[WID_FINGERPRINT_LEN + 1];
	struct wid_spki k;
	int r, ok;

	r = wid_spki_parse(data, size, &k);
	ok = r == 0;
	if (ok && (k.kind < WID_SPKI_EC || k.kind > WID_SPKI_RSA ||
	    k.key_len > sizeof(k.key) || k.n_len > sizeof(k.n) ||
	    k.e_len > sizeof(k.e)))
		abort();
	if (!ok && r != WID_E_BADARG && r != WID_E_UNSUPPORTED)
		abort();
	r = wid_pubkey_ssh(data, size, "c", line, sizeof(line));
	if ((r == 0) != ok && !(ok && r == WID_E_LIMIT))
		abort();
	r = wid_pubkey_pem(data, size, pem, sizeof(pem));
	if ((r == 0) != ok && !(ok && r == WID_E_LIMIT))
		abort();
	if (r == 0 && (strncmp(pem, "-----BEGIN PUBLIC KEY-----\n", 27) != 0 ||
	    strstr(pem, "-----END PUBLIC KEY-----\n") == NULL))
		abort();
	r = wid_pubkey_fingerprint(data, size, fp, sizeof(fp));
	if ((r == 0) != ok && !(ok && r == WID_E_LIMIT))
		abort();
	return 0;
}
