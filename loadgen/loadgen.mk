# loadgen and libloadgen.a (everything in loadgen/ but the main). It links
# only the two agent objects it uses (parse, log), so that agent work in
# progress never breaks it.
LOADGEN_MAIN     := loadgen/main.c
LOADGEN_LIB_SRCS := $(filter-out $(LOADGEN_MAIN),$(wildcard loadgen/*.c))
LOADGEN_LIB      := $(OUT)/libloadgen.a
LOADGEN_AGENT    := $(OBJ)/agent/common/parse.o $(OBJ)/agent/common/log.o

$(LOADGEN_LIB): $(patsubst %.c,$(OBJ)/%.o,$(LOADGEN_LIB_SRCS)) $(LOADGEN_AGENT)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BIN)/loadgen: $(OBJ)/loadgen/main.o $(LOADGEN_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

ALL_BINS += $(BIN)/loadgen
.PHONY: loadgen
loadgen: $(BIN)/loadgen
