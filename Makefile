# Faultline build. `make` builds everything into $(BUILD); `make test` installs
# what is missing, builds with ASan/UBSan into build/test and runs every test.
# V=1 shows the full commands.

BUILD     ?= build
OUT       := $(abspath $(BUILD))
BIN       := $(OUT)/bin
OBJ       := $(OUT)/obj
GEN       := $(OUT)/include
CC        ?= gcc
CLANG     ?= clang
BPFTOOL   ?= bpftool
ARCH      := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
MULTIARCH := $(shell $(CC) -dumpmachine)

CFLAGS    ?= -O2 -g
CFLAGS    += -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter \
             -D_GNU_SOURCE -I$(GEN) -iquote bpf -iquote loadgen -MMD -MP
LDLIBS    := -lbpf -lelf -lz -ldeflate -ljansson -lcurl -lmnl -lnetfilter_queue -lseccomp -lm -lpthread
ifeq ($(SAN),1)
CFLAGS    += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS   += -fsanitize=address,undefined
endif
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -I$(GEN) -Ibpf \
              -I/usr/include/$(MULTIARCH) -Wall -Werror -Wno-unused-function

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.PHONY: all deps test unit fuzz bench demo clean format install matrix

# Fragments add their binaries to ALL_BINS and their tests to TEST_BINS.
ALL_BINS  :=
TEST_BINS :=
BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(OUT)/bpf/%.bpf.o,$(BPF_SRCS))
SKELS     := $(patsubst bpf/%.bpf.c,$(GEN)/%.skel.h,$(BPF_SRCS))

all: $(BPF_OBJS) $(SKELS) binaries

include $(wildcard agent/agent.mk loadgen/loadgen.mk tools/tools.mk tests/tests.mk)

binaries: $(ALL_BINS)

$(GEN)/vmlinux.h:
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

$(BPF_OBJS): $(OUT)/bpf/%.bpf.o: bpf/%.bpf.c $(GEN)/vmlinux.h $(wildcard bpf/*.h)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(SKELS): $(GEN)/%.skel.h: $(OUT)/bpf/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

# Every user-space object waits for the skeletons: any file may include one.
$(OBJ)/%.o: %.c | $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

deps:
	@bash tools/deps.sh

test: deps
	@$(MAKE) --no-print-directory BUILD=build/test SAN=1 all tests
	@FL_BIN=$(abspath build/test/bin) FL_FUZZ=$(abspath build/fuzz) bash tests/run.sh

# The kernel matrix (tools/matrix/, docs/kernel-matrix.md): Debian's 6.1
# under qemu runs the kernel tests with this build (not sanitized).
matrix: deps all $(TEST_HELPERS)
	@bash tools/matrix/run.sh full
	@python3 tools/matrix/report.py build/matrix/results/full >docs/kernel-matrix.md
	@echo "wrote docs/kernel-matrix.md"

# Each benchmark runs side by side with its reference tool and prints what
# docs/benchmarks.md records. BENCH=drop|loadgen|reconcile|errno|latency|trace|trace_requests runs one.
BENCH ?= drop loadgen reconcile errno latency trace trace_requests
bench: deps all
	@for b in $(BENCH); do \
		case $$b in \
		drop) FL_BIN=$(BIN) bash tools/bench.sh ;; \
		loadgen) FL_BIN=$(BIN) bash tools/bench_loadgen.sh ;; \
		reconcile) FL_BIN=$(BIN) bash tools/bench_reconcile.sh ;; \
		errno) FL_BIN=$(BIN) bash tools/bench_errno.sh ;; \
		latency) FL_BIN=$(BIN) bash tools/bench_latency.sh ;; \
		trace) FL_BIN=$(BIN) bash tools/bench_trace.sh ;; \
		trace_requests) FL_BIN=$(BIN) bash tools/bench_trace_requests.sh ;; \
		*) echo "make bench: unknown BENCH '$$b' (drop, loadgen, reconcile, errno, latency, trace, trace_requests)"; exit 2 ;; \
		esac || exit $$?; \
	done

demo: deps all
	@FL_BIN=$(BIN) bash tools/demo.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build

-include $(shell find $(OBJ) -name '*.d' 2>/dev/null)
