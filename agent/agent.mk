# agentd, agentctl and libfaultline.a (everything in agent/ that is not a main).
# agent/ is laid out by role; every folder is on the quote include path, so a
# file includes "fault.h" wherever it lives.
AGENT_DIRS     := $(sort $(dir $(wildcard agent/*/*.c)))
AGENT_MAINS    := agent/daemon/agentd.c agent/ctl/agentctl.c
AGENT_LIB_SRCS := $(filter-out $(AGENT_MAINS),$(wildcard agent/*/*.c))
AGENT_LIB      := $(OUT)/libfaultline.a
CFLAGS         += $(addprefix -iquote ,$(AGENT_DIRS))

$(AGENT_LIB): $(patsubst %.c,$(OBJ)/%.o,$(AGENT_LIB_SRCS))
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BIN)/agentd: $(OBJ)/agent/daemon/agentd.o $(AGENT_LIB)
$(BIN)/agentctl: $(OBJ)/agent/ctl/agentctl.o $(AGENT_LIB)
$(BIN)/agentd $(BIN)/agentctl:
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@
$(BIN)/agentctl: $(OUT)/libloadgen.a # reconcile reads ledgers (LOADGEN_LIB, defined later)

ALL_BINS += $(BIN)/agentd $(BIN)/agentctl
