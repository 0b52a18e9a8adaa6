#!/bin/bash
. "$(dirname "$0")/cgroup-setup.sh"
run() {
  local name=$1; shift
  setsid bash -c "echo \$\$ > $CG/cgroup.procs; echo \$\$ > $CPU/cgroup.procs; exec nice -n 19 sh -c '$*'" </dev/null >/dev/null 2>&1 &
  sleep 1
  local s0=($(head -1 /proc/stat)); local oom0=$(awk '/oom_kill /{print $2}' $CG/memory.oom_control)
  timeout 60 java -cp . Owner $S "$name"
  local s1=($(head -1 /proc/stat)); local oom1=$(awk '/oom_kill /{print $2}' $CG/memory.oom_control)
  echo "  jiffies user=$((s1[1]-s0[1])) nice=$((s1[2]-s0[2])) sys=$((s1[3]-s0[3])) idle=$((s1[4]-s0[4])) irq=$((s1[6]-s0[6])) softirq=$((s1[7]-s0[7])) steal=$((s1[8]-s0[8])) ooms=$((oom1-oom0))"
  killcg
}
timeout 60 java -cp . Owner $S alone
run oomloop 'while :; do head -c 18G /dev/zero | tail > /dev/null; done'
run churn12 'while :; do head -c 12G /dev/zero | tail > /dev/null; done'
run hold12 'python3 -c "
b=bytearray(12<<30)
while True:
    for i in range(0,len(b),4096): b[i]=1
"'
timeout 60 java -cp . Owner $S alone2
killcg; rmdir $CG $CPU
