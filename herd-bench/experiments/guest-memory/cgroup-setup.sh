# Shared by both experiments: builds the owner, makes the guest cgroups (14 GiB, cpu.shares 2), kills what is left in them.
cd "$(dirname "$0")" && javac -d /tmp/herd-memx Owner.java && cd /tmp/herd-memx
CG=/sys/fs/cgroup/memory/memx; mkdir -p $CG; echo $((14<<30)) > $CG/memory.limit_in_bytes
CPU=/sys/fs/cgroup/cpu/memx; mkdir -p $CPU; echo 2 > $CPU/cpu.shares
S=${S:-12}
killcg() { for i in 1 2 3 4 5; do for p in $(cat $CG/cgroup.procs); do kill -9 $p 2>/dev/null; done; sleep 0.5; [ -z "$(cat $CG/cgroup.procs)" ] && return; done; }
