# man/local.mk: the manual pages, written by hand in man(7).
dist_man1_MANS = man/wid-tool.1
dist_man5_MANS = man/wid.conf.5 man/wid-policy.5
dist_man8_MANS = man/wid-agent.8 man/wid-pkcs11.8
