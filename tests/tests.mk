# Unit tests (cmocka): tests/unit/test_X.c -> $(BIN)/test_X, linked with the
# project's libraries. Fuzz targets (libFuzzer, clang): tests/fuzz/fuzz_X.c ->
# build/fuzz/fuzz_X, linked with the sources each names in FUZZ_SRCS_X.
.PHONY: tests fuzz
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BIN)/%,$(UNIT_SRCS))
LOADGEN_LIB ?=

$(BIN)/test_%: $(OBJ)/tests/unit/test_%.o $(AGENT_LIB) $(LOADGEN_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -lcmocka -o $@

FUZZ_OUT    := $(abspath build/fuzz)
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -std=gnu11 -D_GNU_SOURCE \
               -I$(GEN) -iquote bpf $(addprefix -iquote ,$(AGENT_DIRS)) -iquote loadgen
FUZZ_SRCS   := $(wildcard tests/fuzz/fuzz_*.c)

# Each fuzz target lists the project sources it needs on a line
# "// fuzz-srcs: agent/proto.c agent/parse.c" in its own file.
$(FUZZ_OUT)/fuzz_%: tests/fuzz/fuzz_%.c $(wildcard agent/*/*.c agent/*/*.h loadgen/*.c loadgen/*.h bpf/*.h)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) $< $$(sed -n 's|^// fuzz-srcs: ||p' $<) $(LDLIBS) -o $@

fuzz: $(patsubst tests/fuzz/%.c,$(FUZZ_OUT)/%,$(FUZZ_SRCS))

# Stand-ins for other people's programs that share hooks with ours.
TEST_HELPERS := $(BIN)/foreign_attach $(BIN)/foreign.bpf.o
$(BIN)/foreign.bpf.o: tests/helpers/foreign.bpf.c $(GEN)/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@
$(BIN)/foreign_attach: tests/helpers/foreign_attach.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(filter-out -MMD -MP,$(CFLAGS)) $(LDFLAGS) $< -lbpf -lelf -lz -o $@

tests: $(UNIT_BINS) fuzz $(TEST_HELPERS)
