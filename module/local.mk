# module/local.mk: wid-pkcs11.so, the thin PKCS#11 client of wid-agent.
# The sources are built twice (p11-kit's pattern): into a convenience
# library that the unit tests link, instrumented in sanitizer builds, and
# into the shipped module, never instrumented, because the programs that
# load it (ssh, openssl, p11-kit, curl...) do not carry the ASan runtime.
# The module exports only the three PKCS#11 entry symbols.
WID_MODULE_SOURCES = \
	module/module.h \
	module/agent.c \
	module/cert.c \
	module/module.c \
	module/object.c \
	module/rv.c \
	module/session.c \
	module/sign.c \
	module/token.c \
	$(NULL)

noinst_LTLIBRARIES += libwidmodule.la
libwidmodule_la_SOURCES = $(WID_MODULE_SOURCES)
libwidmodule_la_CFLAGS = $(AM_CFLAGS) $(P11KIT_CFLAGS) -fvisibility=hidden

p11moduledir = $(p11_module_path)
p11module_LTLIBRARIES = wid-pkcs11.la
wid_pkcs11_la_SOURCES = $(WID_MODULE_SOURCES) $(libwidcommon_la_SOURCES)
wid_pkcs11_la_CFLAGS = $(WID_CFLAGS) $(CRYPTO_CFLAGS) $(P11KIT_CFLAGS) -fvisibility=hidden
wid_pkcs11_la_LIBADD = $(CRYPTO_LIBS) -lpthread
wid_pkcs11_la_LDFLAGS = $(WID_LDFLAGS) -module -avoid-version -shared \
	-no-undefined \
	-export-symbols-regex '^C_(GetFunctionList|GetInterfaceList|GetInterface)$$' \
	$(NULL)
