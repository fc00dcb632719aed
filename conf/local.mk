# conf/local.mk: configuration files installed with wid: the p11-kit
# module file, the systemd units and sysusers.d entry, bash completion,
# and the documented example configuration and policy.
p11moduleconfdir = $(p11_module_configs)
dist_p11moduleconf_DATA = conf/wid.module

# wid-agent.service names the installed wid-agent: generated at build time.
conf/systemd/wid-agent.service: conf/systemd/wid-agent.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) conf/systemd && \
	sed -e 's|@bindir[@]|$(bindir)|g' \
	    -e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	    $(srcdir)/conf/systemd/wid-agent.service.in >$@.tmp && \
	mv $@.tmp $@
CLEANFILES += conf/systemd/wid-agent.service
EXTRA_DIST += conf/systemd/wid-agent.service.in

if HAVE_SYSTEMD_UNITS
systemdsystemunit_DATA = conf/systemd/wid-agent.service
dist_systemdsystemunit_DATA = conf/systemd/wid-agent.socket
else
noinst_DATA = conf/systemd/wid-agent.service
EXTRA_DIST += conf/systemd/wid-agent.socket
endif

# Installed under other names: sysusers.d wants NAME.conf, bash-completion
# the command's name.
install-data-local: install-conf-renamed
uninstall-local: uninstall-conf-renamed
install-conf-renamed:
	$(MKDIR_P) '$(DESTDIR)$(sysusersdir)' '$(DESTDIR)$(bashcompletiondir)'
	$(INSTALL_DATA) $(srcdir)/conf/systemd/wid.sysusers \
	    '$(DESTDIR)$(sysusersdir)/wid.conf'
	$(INSTALL_DATA) $(srcdir)/conf/wid-tool.bash-completion \
	    '$(DESTDIR)$(bashcompletiondir)/wid-tool'
uninstall-conf-renamed:
	rm -f '$(DESTDIR)$(sysusersdir)/wid.conf' \
	    '$(DESTDIR)$(bashcompletiondir)/wid-tool'
.PHONY: install-conf-renamed uninstall-conf-renamed
EXTRA_DIST += conf/systemd/wid.sysusers conf/wid-tool.bash-completion

# Examples and the TPM drop-in: documentation, not live configuration.
widexampledir = $(docdir)/examples
dist_widexample_DATA = \
	conf/wid.conf.example \
	conf/policy.example \
	conf/systemd/wid-agent-tpm.conf \
	$(NULL)

# Operations: packaging, CI documentation and scripts travel in the
# tarball (make distcheck, tests/ops/packaging.sh builds from it).
EXTRA_DIST += \
	debian/changelog \
	debian/control \
	debian/copyright \
	debian/rules \
	debian/source/format \
	debian/wid.dirs \
	debian/wid.docs \
	debian/wid.install \
	debian/wid.postinst \
	debian/wid-pkcs11.install \
	docs/ci.md \
	$(NULL)
