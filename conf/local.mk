# conf/local.mk: configuration files installed with wid.
p11moduleconfdir = $(p11_module_configs)
dist_p11moduleconf_DATA = conf/wid.module
