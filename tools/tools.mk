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
