/* tests/fuzz/fuzz_request.c: the agent's request decoders, fed any bytes
 * as one message body.  Every decoder must reject or accept without
 * reading out of bounds; an accepted message must re-encode to the same
 * bytes (the wire format has one encoding). */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wid/buf.h"
#include "wid/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out[WID_MSG_MAX];

static void
same(const struct wid_buf *w, const uint8_t *data, size_t size)
{
	/* w holds frame length + header + body; compare from the header. */
	if (w->err != 0 || w->len - WID_HDR_LEN != size ||
	    memcmp(w->data + WID_HDR_LEN, data, size) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wid_buf r, w;
	struct wid_list_req lr;
	struct wid_sign_req sr;
	struct wid_start_req st;
	struct wid_id_text_req it;
	struct wid_policy_check_req pc;
	struct wid_cert_req cr;
	char id[WID_TASK_ID_MAX + 1];
	uint8_t op;

	wid_buf_reader(&r, data, size);
	if (wid_req_decode_hdr(&r, &op) != 0)
		return 0;
	wid_buf_init(&w, out, sizeof(out));
	wid_req_begin(&w, op);
	switch (op) {
	case WID_OP_LIST:
		if (wid_list_req_decode(&r, &lr) == 0) {
			wid_list_req_encode(&w, &lr);
			same(&w, data, size);
		}
		break;
	case WID_OP_SIGN:
		if (wid_sign_req_decode(&r, &sr) == 0) {
			wid_sign_req_encode(&w, &sr);
			same(&w, data, size);
		}
		break;
	case WID_OP_TASK_START:
		if (wid_start_req_decode(&r, &st) == 0) {
			wid_start_req_encode(&w, &st);
			same(&w, data, size);
		}
		break;
	case WID_OP_TASK_APPROVE:
	case WID_OP_TASK_DENY:
		if (wid_id_text_req_decode(&r, &it) == 0) {
			wid_id_text_req_encode(&w, &it);
			same(&w, data, size);
		}
		break;
	case WID_OP_POLICY_CHECK:
		if (wid_policy_check_req_decode(&r, &pc) == 0) {
			wid_policy_check_req_encode(&w, &pc);
			same(&w, data, size);
		}
		break;
	case WID_OP_CERT_GET:
		if (wid_cert_req_decode(&r, &cr) == 0) {
			wid_cert_req_encode(&w, &cr);
			same(&w, data, size);
		}
		break;
	case WID_OP_TASK_END:
	case WID_OP_ATTEST:
		if (wid_id_decode(&r, id) == 0) {
			wid_id_encode(&w, id);
			same(&w, data, size);
		}
		break;
	default:
		if (wid_get_end(&r) == 0)
			same(&w, data, size);
		break;
	}
	return 0;
}
