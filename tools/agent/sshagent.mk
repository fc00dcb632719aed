# tools/agent/sshagent.mk: the ssh-agent protocol face of wid-agent
# (sshagent.c), part of libwidagent.la like the rest of the agent.
libwidagent_la_SOURCES += \
	tools/agent/sshagent.c \
	tools/agent/sshagent.h \
	$(NULL)
