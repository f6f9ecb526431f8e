#!/bin/bash
# Inside the guest: the probe, then the tests of the suite.
suite=$1 R=$2
export FL_BIN=$PWD/build/bin
. tests/lib.sh
start_agentd
ctl doctor --json >"$R/doctor.json"
ctl doctor >"$R/doctor.txt"
stop_agentd
