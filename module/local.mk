# module/local.mk: wid-pkcs11.so, the thin PKCS#11 client of wid-agent.
# The sources are built once into a convenience library (which the unit
# tests link) and the module is that library plus libwidcommon, exporting
# only the three PKCS#11 entry symbols.
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
wid_pkcs11_la_SOURCES =
wid_pkcs11_la_LIBADD = libwidmodule.la libwidcommon.la $(CRYPTO_LIBS) -lpthread
wid_pkcs11_la_LDFLAGS = $(AM_LDFLAGS) -module -avoid-version -shared \
	-no-undefined \
	-export-symbols-regex '^C_(GetFunctionList|GetInterfaceList|GetInterface)$$' \
	$(NULL)
