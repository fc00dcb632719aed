/* module/session.c: sessions.  Handles come from a counter that never
 * repeats; the table is small (clients open few sessions). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "module.h"

static void
session_free(struct wid_session *s)
{
	if (s == NULL)
		return;
	wid_sign_end(s);
	EVP_MD_CTX_free(s->mdctx);
	free(s->find.h);
	free(s);
}

CK_RV
wid_session_open_inlock(CK_SLOT_ID slot, CK_FLAGS flags,
    CK_SESSION_HANDLE_PTR ret)
{
	struct wid_session *s, **tab;
	size_t cap;

	if (slot != WID_SLOT_EC && slot != WID_SLOT_ED)
		return CKR_SLOT_ID_INVALID;
	if (!(flags & CKF_SERIAL_SESSION))
		return CKR_SESSION_PARALLEL_NOT_SUPPORTED;
	if (!wid_agent_present_inlock())
		return CKR_TOKEN_NOT_PRESENT;
	if (wid_g.nsessions == wid_g.capsessions) {
		cap = wid_g.capsessions == 0 ? 4 : wid_g.capsessions * 2;
		if (cap > SIZE_MAX / sizeof(*tab) ||
		    (tab = realloc(wid_g.sessions, cap * sizeof(*tab))) == NULL)
			return CKR_HOST_MEMORY;
		wid_g.sessions = tab;
		wid_g.capsessions = cap;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return CKR_HOST_MEMORY;
	if (wid_g.next_session == 0)
		wid_g.next_session = 1;
	s->handle = wid_g.next_session++;
	s->slot = slot;
	s->flags = flags & (CKF_SERIAL_SESSION | CKF_RW_SESSION);
	wid_g.sessions[wid_g.nsessions++] = s;
	*ret = s->handle;
	return CKR_OK;
}

static size_t
session_index(CK_SESSION_HANDLE h)
{
	size_t i;

	for (i = 0; i < wid_g.nsessions; i++)
		if (wid_g.sessions[i]->handle == h)
			return i;
	return SIZE_MAX;
}

struct wid_session *
wid_session_get_inlock(CK_SESSION_HANDLE h)
{
	size_t i = session_index(h);

	return i == SIZE_MAX ? NULL : wid_g.sessions[i];
}

static void
logout_if_last(CK_SLOT_ID slot)
{
	size_t i;

	for (i = 0; i < wid_g.nsessions; i++)
		if (wid_g.sessions[i]->slot == slot)
			return;
	wid_g.logged_in[slot] = 0;
}

CK_RV
wid_session_close_inlock(CK_SESSION_HANDLE h)
{
	size_t i = session_index(h);
	CK_SLOT_ID slot;

	if (i == SIZE_MAX)
		return CKR_SESSION_HANDLE_INVALID;
	slot = wid_g.sessions[i]->slot;
	session_free(wid_g.sessions[i]);
	wid_g.sessions[i] = wid_g.sessions[--wid_g.nsessions];
	logout_if_last(slot);
	return CKR_OK;
}

void
wid_session_close_all_inlock(CK_SLOT_ID slot)
{
	size_t i = 0;

	while (i < wid_g.nsessions) {
		if (wid_g.sessions[i]->slot == slot) {
			session_free(wid_g.sessions[i]);
			wid_g.sessions[i] = wid_g.sessions[--wid_g.nsessions];
		} else
			i++;
	}
	wid_g.logged_in[slot] = 0;
}

CK_RV
wid_session_info_inlock(struct wid_session *s, CK_SESSION_INFO_PTR info)
{
	int rw = (s->flags & CKF_RW_SESSION) != 0;

	memset(info, 0, sizeof(*info));
	info->slotID = s->slot;
	info->flags = s->flags;
	if (wid_g.logged_in[s->slot])
		info->state = rw ? CKS_RW_USER_FUNCTIONS : CKS_RO_USER_FUNCTIONS;
	else
		info->state = rw ? CKS_RW_PUBLIC_SESSION : CKS_RO_PUBLIC_SESSION;
	info->ulDeviceError = 0;
	return CKR_OK;
}

void
wid_sessions_free_inlock(void)
{
	size_t i;

	for (i = 0; i < wid_g.nsessions; i++)
		session_free(wid_g.sessions[i]);
	free(wid_g.sessions);
	wid_g.sessions = NULL;
	wid_g.nsessions = wid_g.capsessions = 0;
	memset(wid_g.logged_in, 0, sizeof(wid_g.logged_in));
}
