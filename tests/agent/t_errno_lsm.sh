#!/usr/bin/env bash
# errno faults on BPF LSM hooks, on a kernel that allows them (the kernel
# matrix: Debian's 6.1; our machines refuse lsm programs and skip):
#  - openat under a path, for one pid, with no --backend: the agent chooses
#    lsm where fmod_ret is missing (as doctor says); that pid's opens under
#    the path fail with EACCES, its open elsewhere and another process's
#    open under the path succeed; the fault counts what it failed.
#  - write for one pid with EIO (--backend lsm): its writes fail, another's
#    do not.
#  - clear: the same pid opens the file again.
. "$(dirname "$0")/../lib.sh"
need_root errno_lsm

start_agentd || { fail errno_lsm_agentd_starts; exit 1; }
have_backend errno_lsm lsm || exit 0
TMP=$(mktemp -d /tmp/fl-errno-lsm.XXXXXX)
at_exit "rm -rf $TMP"
mkdir "$TMP/data"
echo inside >"$TMP/data/f"
echo outside >"$TMP/g"
# A helper that waits for $TMP/go.N, then runs step N and reports each
# result as a folder $TMP/r.N/WHAT=ok|ERRNO (mkdir, not write: its writes may
# be what fails).
cat >"$TMP/helper.py" <<'PY'
import errno, os, sys, time
tmp = sys.argv[1]
for n, step in enumerate(sys.argv[2:]):
    for _ in range(600):
        if os.path.exists(f"{tmp}/go.{n}"): break
        time.sleep(0.05)
    os.mkdir(f"{tmp}/r.{n}.tmp")
    for what in step.split(","):
        try:
            if what == "write":
                fd = os.open(f"{tmp}/w.{n}", os.O_WRONLY | os.O_CREAT)
                try: os.write(fd, b"x")
                finally: os.close(fd)
            else:
                open(f"{tmp}/{what}").close()
            res = "ok"
        except OSError as e:
            res = errno.errorcode[e.errno]
        os.mkdir(f"{tmp}/r.{n}.tmp/{what.replace('/', '_')}={res}")
    os.rename(f"{tmp}/r.{n}.tmp", f"{tmp}/r.{n}")
PY
python3 "$TMP/helper.py" "$TMP" data/f,g write data/f &
HPID=$!
at_exit "kill $HPID"
step() { # N: let the helper run step N, wait for its result
	touch "$TMP/go.$1"
	wait_until 30 test -d "$TMP/r.$1"
}
field_of() { ctl list --json | python3 -c "import json,sys; print([f for f in json.load(sys.stdin) if f['id'] == $1][0]['$2'])"; }

want=$(ctl doctor --json | python3 -c "
import json, sys
f = json.load(sys.stdin)['facts']
print('fmod_ret' if f['fmod_ret']['ok'] else 'lsm')")
id=$(ctl inject errno --syscall openat --errno EACCES --path "$TMP/data/" --pid "$HPID" --for 5m)
[ -n "$id" ] || { fail errno_lsm_open_inject; tail -5 "$FL_RUN/agentd.log"; exit 1; }
check errno_lsm_open_backend_as_doctor test "$(field_of "$id" backend)" = "$want"
step 0
check errno_lsm_open_under_path_fails test -d "$TMP/r.0/data_f=EACCES"
check errno_lsm_open_elsewhere_ok test -d "$TMP/r.0/g=ok"
check errno_lsm_open_other_process_ok grep -qx inside "$TMP/data/f"
check errno_lsm_open_counted test "$(field_of "$id" injected)" -ge 1
ctl clear "$id" >/dev/null

id=$(ctl inject errno --syscall write --errno EIO --pid "$HPID" --backend lsm --for 5m)
[ -n "$id" ] || { fail errno_lsm_write_inject; tail -5 "$FL_RUN/agentd.log"; exit 1; }
step 1
check errno_lsm_write_fails test -d "$TMP/r.1/write=EIO"
check errno_lsm_write_other_process_ok bash -c "echo y >$TMP/other"
ctl clear "$id" >/dev/null

step 2
check errno_lsm_clear_open_ok test -d "$TMP/r.2/data_f=ok"
wait "$HPID"
check errno_lsm_nothing_left test "$(ctl list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" -eq 0
stop_agentd
