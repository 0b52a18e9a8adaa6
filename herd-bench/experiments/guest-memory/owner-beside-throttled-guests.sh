#!/bin/bash
. "$(dirname "$0")/cgroup-setup.sh"
run() {
  local name=$1; local quota=$2; shift 2
  echo $quota > $CPU/cpu.cfs_quota_us
  setsid bash -c "echo \$\$ > $CG/cgroup.procs; echo \$\$ > $CPU/cgroup.procs; exec nice -n 19 sh -c '$*'" </dev/null >/dev/null 2>&1 &
  sleep 1
  local s0=($(head -1 /proc/stat)); local m0=$(cat $CG/memory.max_usage_in_bytes)
  timeout 60 java -cp . Owner $S "$name"
  local s1=($(head -1 /proc/stat));
  echo "  jiffies user=$((s1[1]-s0[1])) nice=$((s1[2]-s0[2])) sys=$((s1[3]-s0[3])) idle=$((s1[4]-s0[4])) steal=$((s1[8]-s0[8])) usage=$(( $(cat $CG/memory.usage_in_bytes) >> 20 ))M"
  killcg 2>/dev/null
}
HOLD='python3 -c "
b=bytearray(12<<30)
while True:
    for i in range(0,len(b),4096): b[i]=1
"'
run hold12-q20 20000 "$HOLD"
run hold12-q5 5000 "$HOLD"
run churn12-q20 20000 'while :; do head -c 12G /dev/zero | tail > /dev/null; done'
killcg; rmdir $CG $CPU
