/* tests/fuzz/fuzz_reply.c: the client's reply decoders (what the module
 * and the tool parse from the agent), fed any bytes as one reply. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include "wid/buf.h"
#include "wid/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wid_buf r;
	struct wid_task t;
	struct wid_status st;
	struct wid_decision d;
	const uint8_t *sig;
	char reason[WID_REASON_MAX + 1];
	uint16_t status, count, n, i;
	uint64_t next;
	uint8_t op;

	if (size < 1)
		return 0;
	op = data[0] % WID_OP__MAX;  /* the op the client asked */
	wid_buf_reader(&r, data + 1, size - 1);
	if (wid_reply_decode_hdr(&r, op, &status) != 0)
		return 0;
	if (status != 0) {
		(void)wid_reason_decode(&r, reason, sizeof(reason));
		return 0;
	}
	switch (op) {
	case WID_OP_LIST:
		if (wid_get_u16(&r, &count) != 0 || count > WID_LIST_MAX)
			return 0;
		for (i = 0; i < count; i++)
			if (wid_task_decode(&r, &t) != 0)
				return 0;
		(void)wid_get_u64(&r, &next);
		(void)wid_get_end(&r);
		break;
	case WID_OP_TASK_START:
		if (wid_task_decode(&r, &t) == 0)
			(void)wid_get_end(&r);
		break;
	case WID_OP_SIGN:
		if (wid_get_blob(&r, &sig, &n, WID_SIG_MAX) == 0)
			(void)wid_get_end(&r);
		break;
	case WID_OP_CERT_GET:
	case WID_OP_ATTEST:
	case WID_OP_POLICY_RELOAD:
		if (wid_get_blob(&r, &sig, &n, WID_BLOB_MAX) == 0)
			(void)wid_get_end(&r);
		break;
	case WID_OP_POLICY_CHECK:
		(void)wid_decision_decode(&r, &d);
		break;
	case WID_OP_STATUS:
		(void)wid_status_decode(&r, &st);
		break;
	default:
		break;
	}
	return 0;
}
