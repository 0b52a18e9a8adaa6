# herd's job launcher: one long-lived bash per node that forks every job (see ShellLauncher).
# Requests on stdin, each NUL-terminated: KEY, then the job's words in single quotes (see
# ShellLauncher.request); after writing one the daemon writes a byte into the named pipe $1,
# which wakes the launcher up. Events on stdout, one line each: "R" once ready, "S KEY PID" once a job is
# forked, "E KEY STATUS" once it has exited (STATUS as a shell gives it: 128+N after death by
# signal N). Its own complaints go to fd 3 (the daemon's log); fd 2 is /dev/null, where bash's
# notices of job control would go. End of stdin ends the launcher; running jobs keep running.
if ((BASH_VERSINFO[0] < 5 || (BASH_VERSINFO[0] == 5 && BASH_VERSINFO[1] < 1))); then
  echo "bash $BASH_VERSION is too old for herd's job launcher (wait -p needs 5.1)" >&2
  exit 2
fi
exec 3>&2 2>/dev/null
declare -A key=()
eof=

# The job's own process, forked: IN OUT ERR MODE NPROCS PROCS... DIR NENV NAME=VALUE... PROGRAM ARGS...
# Output pipes first (the daemon opens their other ends at once), then the job's cgroups, so it is
# in them before it can fork, then stdin, directory, signals and environment; then the program.
job() {
  local in=$1 mode=$4 n=$5
  exec 1>"$2" 4>"$3" || { echo "herd-launcher: cannot open the output pipes $2 $3" >&3; exit 126; }
  shift 5
  while ((n > 0)); do
    echo "$BASHPID" 2>&4 > "$1" || { echo "herd: cannot place the job in cgroup $1" >&4; exit 125; }
    shift; n=$((n - 1))
  done
  exec 0<"$in" || { echo "herd-launcher: cannot open the job's stdin $in" >&4; exit 126; }
  cd -- "$1" 2>&4 || exit 126
  shift
  if [ "$mode" = ignore ]; then
    # the sandbox's own processes sit in the job's process group: they ignore what is sent to
    # the group, and the job gets the signals back at their defaults inside the sandbox
    for s in HUP INT QUIT USR1 USR2 PIPE ALRM TERM TSTP TTIN TTOU XCPU XFSZ VTALRM PROF WINCH; do trap '' $s; done
    s=34; while [ $s -le 64 ]; do trap '' $s; s=$((s + 1)); done
  fi
  unset PWD OLDPWD SHLVL
  n=$1; shift
  # exactly the job's environment (bash's complaints about locales it lacks go to /dev/null)
  while ((n > 0)); do export "$1"; shift; n=$((n - 1)); done
  exec 2>&4 4>&- 3>&- {wake}<&-
  exec "$@"
}

# Reports job $1 if it has exited: a zombie, or reaped already by bash (gone from /proc).
reap_one() {
  local s st
  while :; do
    if { read -r s < "/proc/$1/stat"; } 2>/dev/null; then
      s=${s##*) }
      [[ ${s:0:1} == Z ]] || return 0   # running
    elif [ -e "/proc/$1" ]; then
      continue   # the read was interrupted by a wake-up
    fi
    wait -p wpid "$1"
    st=$?
    [ -n "${wpid-}" ] && break
    ((st > 128)) || break   # 127: bash kept no status; else a wake-up interrupted the wait
  done
  if [ -z "${wpid-}" ] || ((st < 0 || st > 255)); then
    echo "herd-launcher: no exit status for job ${key[$1]} (pid $1): $st" >&3
    st=255
  fi
  printf 'E %s %s\n' "${key[$1]}" "$st"
  unset "key[$1]"
}

# Forks the job of one request, in a process group of its own (job control is on only for the
# fork: under it bash would put away ended jobs it notices, where wait -n no longer sees them).
start() {
  eval "set -- $1"
  local k=$1
  shift
  set -m
  ( job "$@" ) &
  set +m
  key[$!]=$k
  printf 'S %s %s\n' "$k" "$!"
}

# Starts every request already written (read -t 0 only looks); sets eof at end of input.
drain() {
  local req
  while [ -z "$eof" ] && read -t 0; do
    if IFS= read -r -d '' req; then start "$req"; else eof=1; fi
  done
}

# The wake-up: a child that ends when the daemon writes a byte into the wake pipe (after each
# request), so that wait -n returns. Not a signal: one that interrupts wait -n can lose the status
# of a job wait -n has just collected.
# Read-only, so that the daemon's death (its end closed) is end-of-file for the sleeper; opened
# through a read-write descriptor first, which never waits for a writer.
exec {rw}<>"$1"
exec {wake}<"/proc/$BASHPID/fd/$rw"
exec {rw}<&-
sleeper() {
  ( exec 0</dev/null 1>/dev/null 3>&-; read -r -N 1 -u "$wake" _ ) &   # not holding the daemon's pipes
  sleeper=$!
}
sleeper
echo R
while [ -z "$eof" ]; do
  wait -n -p wpid
  st=$?
  if [ -n "${wpid-}" ] && [ -n "${key[$wpid]-}" ]; then
    printf 'E %s %s\n' "${key[$wpid]}" "$st"
    unset "key[$wpid]"
  fi
  # Woken: the sleeper ended, seen by wait -n or put away by bash (gone from /proc).
  if [ "${wpid-}" = "$sleeper" ] || [ ! -e "/proc/$sleeper" ]; then
    while read -t 0 -u "$wake"; do read -r -N 1 -u "$wake" _ || break; done   # wake-ups already written
    drain
    # the daemon also wakes the launcher for jobs whose output has ended: ones bash put away
    for p in "${!key[@]}"; do reap_one "$p"; done
    [ -n "$eof" ] || sleeper
  fi
done
