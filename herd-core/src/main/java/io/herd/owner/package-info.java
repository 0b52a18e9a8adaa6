/**
 * The owner comes back: guests are frozen at once, thawed if the owner goes
 * quiet again within a grace period, otherwise evicted and placed again by
 * their home nodes (openMosix's "the workstation belongs to its owner").
 *
 * <h2>Pipeline</h2>
 * <pre>
 *  InputDevices (/dev/input/event*, blocking reads, root) ─┐ each input wakes the monitor at once
 *  InputFile (-Dherd.ownerInput=FILE, tests: a touch)      ├─▶ OwnerMonitor (and every 100 ms) ─▶ OwnerWatch.observe
 *  LinuxOwnerActivity idle time (1/s) · OwnerLoad (1/s) ───┘                                        │
 *                                                  FREEZE / THAW / EVICT ◀─────────────────────────┘
 *                                                  ─▶ Guests (host.HostJobs): cgroup freezer or SIGSTOP,
 *                                                     kill + Exited{retry, evicted} to the home
 * </pre>
 * {@link io.herd.owner.OwnerWatch} is pure (times are passed in), so its rules
 * are unit-tested on a virtual clock; the monitor only reads and acts. A source
 * that cannot report input as it happens (the test file where its directory
 * cannot be watched) is polled every 10 ms while guests run instead.
 *
 * <h2>The owner's disk and memory</h2>
 * <pre>
 *  IoProbe (4 KiB write + fsync by the daemon, while guests run) ─┐
 *  Pressure (/proc/pressure/{io,memory}, MemAvailable) ───────────┴▶ OwnerMonitor (every 500 ms) ─▶ Backoff.observe
 *        IO_FACTOR (Cgroups.setGuestIoFactor: 1, 1/4, 1/16) / FREEZE / THAW / EVICT ◀──────────────────┘
 * </pre>
 * {@link io.herd.owner.Backoff} is pure like the watch. Guests stay frozen while either the watch
 * or the back-off wants them frozen; the node takes no new guests meanwhile.
 * {@link io.herd.owner.MemoryRoom} is the host's re-check that a guest's {@code --mem} fits beside
 * the owner's reserve.
 *
 * <h2>Vocabulary</h2>
 * <dl>
 *   <dt>active</dt><dd>input within the quiet time, or the owner's own CPU load (all but the guests')
 *       over the threshold.</dd>
 *   <dt>grace</dt><dd>how long frozen guests wait for the owner to go quiet (default 2 min).</dd>
 *   <dt>eviction</dt><dd>a guest killed for its host's owner (or {@code herd expel}, {@code herd home}):
 *       its home places it again and the placement does not count against {@code --max-retries}.
 *       There is no checkpoint yet: it restarts.</dd>
 * </dl>
 */
package io.herd.owner;
