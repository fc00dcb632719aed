/* module/token.c: the two slots, their tokens and their mechanisms. */
#include "config.h"

#include <string.h>

#include "wid/proto.h"
#include "module.h"

static const CK_MECHANISM_TYPE mechs_ec[] = {
	CKM_ECDSA, CKM_ECDSA_SHA256, CKM_ECDSA_SHA384,
	CKM_RSA_PKCS, CKM_SHA256_RSA_PKCS, CKM_SHA384_RSA_PKCS,
	CKM_SHA512_RSA_PKCS, CKM_RSA_PKCS_PSS, CKM_SHA256_RSA_PKCS_PSS,
	CKM_SHA384_RSA_PKCS_PSS, CKM_SHA512_RSA_PKCS_PSS,
};
static const CK_MECHANISM_TYPE mechs_ed[] = { CKM_EDDSA };

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void
pad(CK_UTF8CHAR *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	memset(dst, ' ', size);
	memcpy(dst, src, n < size ? n : size);
}

CK_RV
wid_get_slot_list_inlock(CK_BBOOL present, CK_SLOT_ID_PTR list,
    CK_ULONG_PTR count)
{
	CK_ULONG n = 2;

	if (present && !wid_agent_present_inlock())
		n = 0;
	if (list == NULL) {
		*count = n;
		return CKR_OK;
	}
	if (*count < n) {
		*count = n;
		return CKR_BUFFER_TOO_SMALL;
	}
	if (n > 0) {
		list[0] = WID_SLOT_EC;
		list[1] = WID_SLOT_ED;
	}
	*count = n;
	return CKR_OK;
}

CK_RV
wid_slot_info_inlock(CK_SLOT_ID slot, CK_SLOT_INFO_PTR info)
{
	if (slot != WID_SLOT_EC && slot != WID_SLOT_ED)
		return CKR_SLOT_ID_INVALID;
	memset(info, 0, sizeof(*info));
	pad(info->slotDescription, sizeof(info->slotDescription),
	    slot == WID_SLOT_EC ? "wid agent (EC, RSA task keys)" :
	    "wid agent (Ed25519 task keys)");
	pad(info->manufacturerID, sizeof(info->manufacturerID), "wid");
	info->flags = CKF_REMOVABLE_DEVICE;
	if (wid_agent_present_inlock())
		info->flags |= CKF_TOKEN_PRESENT;
	info->hardwareVersion.major = 0;
	info->hardwareVersion.minor = 1;
	info->firmwareVersion.major = 0;
	info->firmwareVersion.minor = 1;
	return CKR_OK;
}

CK_RV
wid_token_info_inlock(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR info)
{
	size_t i;
	CK_ULONG n = 0, rw = 0;

	if (slot != WID_SLOT_EC && slot != WID_SLOT_ED)
		return CKR_SLOT_ID_INVALID;
	if (!wid_agent_present_inlock())
		return CKR_TOKEN_NOT_PRESENT;
	for (i = 0; i < wid_g.nsessions; i++) {
		if (wid_g.sessions[i]->slot != slot)
			continue;
		n++;
		if (wid_g.sessions[i]->flags & CKF_RW_SESSION)
			rw++;
	}
	memset(info, 0, sizeof(*info));
	pad(info->label, sizeof(info->label),
	    slot == WID_SLOT_EC ? "wid" : "wid-ed25519");
	pad(info->manufacturerID, sizeof(info->manufacturerID), "wid");
	pad(info->model, sizeof(info->model), "wid-agent");
	pad(info->serialNumber, sizeof(info->serialNumber),
	    slot == WID_SLOT_EC ? "wid-1" : "wid-2");
	info->flags = CKF_TOKEN_INITIALIZED | CKF_WRITE_PROTECTED;
	info->ulMaxSessionCount = CK_EFFECTIVELY_INFINITE;
	info->ulSessionCount = n;
	info->ulMaxRwSessionCount = CK_EFFECTIVELY_INFINITE;
	info->ulRwSessionCount = rw;
	info->ulMaxPinLen = 0;
	info->ulMinPinLen = 0;
	info->ulTotalPublicMemory = CK_UNAVAILABLE_INFORMATION;
	info->ulFreePublicMemory = CK_UNAVAILABLE_INFORMATION;
	info->ulTotalPrivateMemory = CK_UNAVAILABLE_INFORMATION;
	info->ulFreePrivateMemory = CK_UNAVAILABLE_INFORMATION;
	info->hardwareVersion.minor = 1;
	info->firmwareVersion.minor = 1;
	memset(info->utcTime, ' ', sizeof(info->utcTime));
	return CKR_OK;
}

CK_RV
wid_mech_list(CK_SLOT_ID slot, CK_MECHANISM_TYPE_PTR list, CK_ULONG_PTR count)
{
	const CK_MECHANISM_TYPE *m;
	CK_ULONG n;

	if (slot == WID_SLOT_EC) {
		m = mechs_ec;
		n = NELEM(mechs_ec);
	} else if (slot == WID_SLOT_ED) {
		m = mechs_ed;
		n = NELEM(mechs_ed);
	} else
		return CKR_SLOT_ID_INVALID;
	if (list == NULL) {
		*count = n;
		return CKR_OK;
	}
	if (*count < n) {
		*count = n;
		return CKR_BUFFER_TOO_SMALL;
	}
	memcpy(list, m, n * sizeof(*m));
	*count = n;
	return CKR_OK;
}

CK_RV
wid_mech_info(CK_SLOT_ID slot, CK_MECHANISM_TYPE type,
    CK_MECHANISM_INFO_PTR info)
{
	if (slot != WID_SLOT_EC && slot != WID_SLOT_ED)
		return CKR_SLOT_ID_INVALID;
	memset(info, 0, sizeof(*info));
	info->flags = CKF_SIGN;
	if (slot == WID_SLOT_ED) {
		if (type != CKM_EDDSA)
			return CKR_MECHANISM_INVALID;
		info->ulMinKeySize = 255;
		info->ulMaxKeySize = 255;
		return CKR_OK;
	}
	switch (type) {
	case CKM_ECDSA:
	case CKM_ECDSA_SHA256:
	case CKM_ECDSA_SHA384:
		info->ulMinKeySize = 256;
		info->ulMaxKeySize = 384;
		info->flags |= CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS;
		return CKR_OK;
	case CKM_RSA_PKCS:
	case CKM_SHA256_RSA_PKCS:
	case CKM_SHA384_RSA_PKCS:
	case CKM_SHA512_RSA_PKCS:
	case CKM_RSA_PKCS_PSS:
	case CKM_SHA256_RSA_PKCS_PSS:
	case CKM_SHA384_RSA_PKCS_PSS:
	case CKM_SHA512_RSA_PKCS_PSS:
		info->ulMinKeySize = 2048;
		info->ulMaxKeySize = 3072;
		return CKR_OK;
	default:
		return CKR_MECHANISM_INVALID;
	}
}

/* Whether mechanism m may be used with a key of the given wid key type. */
int
wid_mech_allowed(int key_type, CK_MECHANISM_TYPE m)
{
	switch (key_type) {
	case WID_KEY_EC_P256:
	case WID_KEY_EC_P384:
		return m == CKM_ECDSA || m == CKM_ECDSA_SHA256 ||
		    m == CKM_ECDSA_SHA384;
	case WID_KEY_ED25519:
		return m == CKM_EDDSA;
	case WID_KEY_RSA2048:
	case WID_KEY_RSA3072:
		return m == CKM_RSA_PKCS || m == CKM_SHA256_RSA_PKCS ||
		    m == CKM_SHA384_RSA_PKCS || m == CKM_SHA512_RSA_PKCS ||
		    m == CKM_RSA_PKCS_PSS || m == CKM_SHA256_RSA_PKCS_PSS ||
		    m == CKM_SHA384_RSA_PKCS_PSS || m == CKM_SHA512_RSA_PKCS_PSS;
	default:
		return 0;
	}
}

/* CKA_ALLOWED_MECHANISMS of a key. */
CK_RV
wid_allowed_mechs(int key_type, CK_MECHANISM_TYPE *out, size_t cap,
    size_t *ret_n)
{
	const CK_MECHANISM_TYPE *m = key_type == WID_KEY_ED25519 ? mechs_ed :
	    mechs_ec;
	size_t i, n = key_type == WID_KEY_ED25519 ? NELEM(mechs_ed) :
	    NELEM(mechs_ec), k = 0;

	*ret_n = 0;
	for (i = 0; i < n; i++) {
		if (!wid_mech_allowed(key_type, m[i]))
			continue;
		if (k == cap)
			return CKR_GENERAL_ERROR;
		out[k++] = m[i];
	}
	*ret_n = k;
	return CKR_OK;
}
