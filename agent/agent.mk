# agentd, agentctl and libfaultline.a (everything in agent/ that is not a main).
AGENT_MAINS    := agent/agentd.c agent/agentctl.c
AGENT_LIB_SRCS := $(filter-out $(AGENT_MAINS),$(wildcard agent/*.c))
AGENT_LIB      := $(OUT)/libfaultline.a

$(AGENT_LIB): $(patsubst %.c,$(OBJ)/%.o,$(AGENT_LIB_SRCS))
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BIN)/agentd $(BIN)/agentctl: $(BIN)/%: $(OBJ)/agent/%.o $(AGENT_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@
$(BIN)/agentctl: $(OUT)/libloadgen.a # reconcile reads ledgers (LOADGEN_LIB, defined later)

ALL_BINS += $(BIN)/agentd $(BIN)/agentctl
