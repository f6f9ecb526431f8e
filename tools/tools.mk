# Demo services used by the shipped scenarios and their tests.
$(BIN)/idemsvc: tools/idemsvc.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(filter-out -MMD -MP,$(CFLAGS)) $(LDFLAGS) $< -lmicrohttpd -o $@

$(BIN)/idemsvc-dedup: tools/idemsvc.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(filter-out -MMD -MP,$(CFLAGS)) -DDEDUP $(LDFLAGS) $< -lmicrohttpd -o $@

ALL_BINS += $(BIN)/idemsvc $(BIN)/idemsvc-dedup

# The floor of a user-space packet path (tools/bench_latency.sh's "floor").
$(BIN)/nfq_accept: tools/nfq_accept.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(filter-out -MMD -MP,$(CFLAGS)) $(LDFLAGS) $< -lnetfilter_queue -lmnl -o $@

ALL_BINS += $(BIN)/nfq_accept
