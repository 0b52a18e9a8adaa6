package io.herd.owner;

import io.herd.gossip.OwnerActivity;
import io.herd.gossip.OwnerActivitySource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The daemon's side of {@link OwnerWatch}: every {@code pollMillis} (10 ms) while guests run
 * (every {@value #IDLE_POLL_MILLIS} ms while none does: nothing to freeze, fewer wake-ups on the owner's machine) it
 * reads the owner's input sources, about once a second the idle time from
 * logind and the terminals and the owner's own load, hands them to the watch
 * and carries out its decisions on the {@link Guests}. Its own thread, so a
 * slow gossip round or dispatch never delays a freeze.
 *
 * <p>Configured by daemon system properties ({@code HERD_DAEMON_OPTS}):
 * <pre>
 *   herd.ownerGrace=2m            frozen guests are evicted after this (0 = at once)
 *   herd.ownerQuiet=30s           no input for this long = the owner is idle again (thaw)
 *   herd.ownerLoadThreshold=1.5   the owner's own load (cores) that counts as activity; 0 = off (default)
 *   herd.ownerInput=FILE          the test input source: a touch of FILE (relative to the data
 *                                 directory) is owner input; the machine's own sources are then ignored.
 *                                 Its directory (created if missing) is watched with inotify: give it
 *                                 one of its own, e.g. owner/input
 *   herd.ownerPollMillis=10       how often the fast sources are read
 *   herd.ownerWatch=off           no watch at all (a server without an owner)
 * </pre>
 */
public final class OwnerMonitor implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(OwnerMonitor.class);
    private static final long SLOW_MILLIS = 1000;

    private final OwnerWatch watch;
    private final List<OwnerInput> inputs;
    private final OwnerActivitySource idle;
    private final OwnerLoad load;
    private final Guests guests;
    private final long pollMillis;
    private final ScheduledExecutorService thread;
    /** The slow readings (loginctl, /proc/stat) on their own thread, so they never delay a freeze. */
    private final ScheduledExecutorService slow;
    private volatile boolean acceptsGuests = true;
    private volatile String state = OwnerWatch.State.LENT.name();
    private volatile long idleInput = OwnerInput.NEVER;
    private volatile double ownerLoad = Double.NaN;

    /** The disk and memory back-off, or null (see {@link #enableBackoff}). */
    private Backoff backoff;
    private java.util.function.Supplier<Backoff.Settings> backoffSettings;
    private Pressure pressure;
    private java.util.function.DoubleSupplier probe;
    private java.util.function.BooleanSupplier guestsRunning;
    private java.util.function.DoubleConsumer ioFactor;
    /** All guests' anonymous memory (-1 unknown) and the setter of their CPU share; see {@link #enableMemRate}. */
    private java.util.function.LongSupplier guestAnon = () -> -1;
    private java.util.function.DoubleConsumer cpuFactor = f -> { };
    private ScheduledExecutorService backoffThread;
    /** Owner thread only: the back-off holds the guests frozen. */
    private boolean backoffFrozen;
    private volatile String backoffState = "off";
    private boolean probeFailed;

    /**
     * @param inputs fast input sources (the test file, input devices)
     * @param idle   the once-a-second idle-time source, or null
     * @param load   the owner's load, or null when the watch has no threshold
     */
    public OwnerMonitor(OwnerWatch.Settings settings, List<OwnerInput> inputs, OwnerActivitySource idle, OwnerLoad load,
                        Guests guests, long pollMillis) {
        this.watch = new OwnerWatch(settings);
        this.inputs = List.copyOf(inputs);
        this.idle = idle;
        this.load = settings.loadThreshold() > 0 ? load : null;
        this.guests = guests;
        this.pollMillis = pollMillis;
        this.thread = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "herd-owner");
            t.setDaemon(true);
            t.setPriority(Thread.MAX_PRIORITY);
            return t;
        });
        this.slow = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "herd-owner-idle");
            t.setDaemon(true);
            return t;
        });
        for (OwnerInput in : this.inputs) in.onInput(this::inputSeen);
    }

    private final java.util.concurrent.atomic.AtomicBoolean tickQueued = new java.util.concurrent.atomic.AtomicBoolean();

    /**
     * An input source saw the owner's input, on its own thread: while guests are lent, a round
     * runs now (at most one queued), so the freeze does not wait for the next poll. Once the
     * owner holds the guests, input only pushes the thaw back, which the regular rounds see.
     */
    private void inputSeen() {
        if (!OwnerWatch.State.LENT.name().equals(state) || !tickQueued.compareAndSet(false, true)) return;
        try {
            thread.execute(() -> {
                tickQueued.set(false);
                tickSafely();
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            tickQueued.set(false);   // closed
        }
    }

    /**
     * The monitor the daemon runs, from its system properties (see the class comment);
     * null when {@code herd.ownerWatch=off}.
     *
     * @param dataDir the node's data directory (a relative {@code herd.ownerInput} is resolved there)
     * @param machine the machine's idle-time source (logind, terminals)
     * @throws IllegalArgumentException for a bad property value, naming it
     */
    public static OwnerMonitor fromSystemProperties(Path dataDir, OwnerActivitySource machine, OwnerLoad load, Guests guests) {
        if ("off".equalsIgnoreCase(System.getProperty("herd.ownerWatch", "on"))) return null;
        Duration grace = property("herd.ownerGrace", OwnerWatch.Settings.DEFAULT_GRACE);
        Duration quiet = property("herd.ownerQuiet", OwnerWatch.Settings.DEFAULT_QUIET);
        double threshold;
        try {
            threshold = Double.parseDouble(System.getProperty("herd.ownerLoadThreshold", "0"));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("herd.ownerLoadThreshold must be a number of cores: " + e.getMessage());
        }
        long poll = Long.getLong("herd.ownerPollMillis", 10);
        OwnerWatch.Settings settings = new OwnerWatch.Settings(grace, quiet, threshold);
        String file = System.getProperty("herd.ownerInput");
        List<OwnerInput> inputs = new ArrayList<>();
        OwnerActivitySource idle = machine;
        if (file != null && !file.isBlank()) {
            Path input = dataDir.resolve(file);
            try {
                Files.createDirectories(input.toAbsolutePath().getParent());   // to be watched (owner/input)
            } catch (java.io.IOException e) {
                log.debug("cannot create the directory of {}: {}; it is polled", input, e.toString());
            }
            inputs.add(new InputFile(input));
            idle = null;   // a test drives the owner alone
        } else {
            inputs.add(new InputDevices(Path.of("/dev/input")));
        }
        return new OwnerMonitor(settings, inputs, idle, load, guests, Math.max(1, poll));
    }

    private static Duration property(String name, Duration def) {
        String v = System.getProperty(name);
        if (v == null || v.isBlank()) return def;
        try {
            return OwnerWatch.parseDuration(v);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(name + ": " + e.getMessage(), e);
        }
    }

    /**
     * Adds the disk and memory back-off ({@link Backoff}): every {@value #BACKOFF_MILLIS} ms it reads
     * the pressure and available memory and, while guests run, the owner's write + fsync latency,
     * and freezes, thaws, evicts or throttles the guests. Call before {@link #start}.
     *
     * @param settings      the back-off's settings from the policy, read each round (a change starts afresh)
     * @param probe         the owner's write + fsync latency in ms, NaN when it cannot be measured ({@link IoProbe})
     * @param guestsRunning whether any guest runs now (no probe, and nothing to blame, otherwise)
     * @param ioFactor      sets the share of the guests' I/O budget
     */
    public void enableBackoff(java.util.function.Supplier<Backoff.Settings> settings, Pressure pressure,
                              java.util.function.DoubleSupplier probe,
                              java.util.function.BooleanSupplier guestsRunning, java.util.function.DoubleConsumer ioFactor) {
        this.backoffSettings = settings;
        this.pressure = pressure;
        this.probe = probe;
        this.guestsRunning = guestsRunning;
        this.ioFactor = ioFactor;
        this.backoffThread = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "herd-owner-backoff");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Lets the back-off hold guests' new memory to {@code guest-mem-rate} while the owner uses the
     * CPU, by cutting the guests' CPU share. Call after {@link #enableBackoff}, before {@link #start}.
     *
     * @param guestAnonBytes all guests' anonymous memory, bytes; -1 when unknown
     * @param cpuFactor      sets the share of the guests' CPU (1 = all the policy gives)
     */
    public void enableMemRate(java.util.function.LongSupplier guestAnonBytes, java.util.function.DoubleConsumer cpuFactor) {
        this.guestAnon = guestAnonBytes;
        this.cpuFactor = cpuFactor;
    }

    static final long BACKOFF_MILLIS = 500;
    /** How often the back-off reads; shorter in tests. */
    long backoffMillis = BACKOFF_MILLIS;

    /** The back-off's state for logs and status: off, normal, io 1/4, io 1/16, frozen (io), frozen (memory). */
    public String backoffState() {
        return backoffState;
    }

    /** One back-off round, on the back-off thread: readings (the probe may block on a busy disk), then decisions on the owner thread. */
    void backoffRound() {
        Backoff.Settings want = backoffSettings.get();
        if (backoff == null || !backoff.settings().equals(want)) {
            Backoff old = backoff;
            backoff = new Backoff(want);
            if (old != null && (old.frozen() || old.ioFactor() < 1 || old.cpuFactor() < 1)) {
                thread.execute(() -> carryOut(List.of(new Backoff.Decision(Backoff.Action.IO_FACTOR, 1, "back-off settings changed"),
                        new Backoff.Decision(Backoff.Action.CPU_FACTOR, 1, "back-off settings changed"),
                        new Backoff.Decision(Backoff.Action.THAW, 0, "thawed: back-off settings changed"))));
            }
        }
        long now = System.nanoTime();
        pressure.sample(now);
        boolean guests = guestsRunning.getAsBoolean();
        double latency;
        if (!guests) {
            latency = 0;   // nothing to blame: a held level steps back
        } else if (want.ioLatencyMillis() > 0 && (!pressure.hasPsi() || backoff.ioFactor() < 1 || !(pressure.ioSome() < 0.01))) {
            latency = probe.getAsDouble();
            if (Double.isNaN(latency) && !probeFailed) {
                probeFailed = true;
                log.warn("cannot time the owner's disk writes (the probe file cannot be written); no I/O back-off");
            }
        } else {
            latency = Double.NaN;
        }
        List<Backoff.Decision> ds = backoff.observe(new Backoff.Reading(now / 1_000_000, latency, pressure.memSome(),
                pressure.memAvailable()));
        backoffState = backoff.state();
        if (!ds.isEmpty()) thread.execute(() -> carryOut(ds));
    }

    /** Carries out the back-off's decisions, together with the watch's: guests stay frozen while either wants it. */
    private void carryOut(List<Backoff.Decision> ds) {
        for (Backoff.Decision d : ds) {
            boolean ownerHolds = watch.state() != OwnerWatch.State.LENT;
            List<String> jobs = List.of();
            switch (d.action()) {
                case IO_FACTOR -> {
                    try {
                        ioFactor.accept(d.factor());
                    } catch (RuntimeException e) {   // the freeze that may follow must still happen
                        log.warn("cannot set the guests' I/O budget to {} of the policy's: {}", d.factor(), e.toString());
                    }
                }
                case CPU_FACTOR -> {
                    try {
                        cpuFactor.accept(d.factor());
                    } catch (RuntimeException e) {
                        log.warn("cannot set the guests' CPU share to {} of the policy's: {}", d.factor(), e.toString());
                    }
                }
                case FREEZE -> {
                    backoffFrozen = true;
                    if (!ownerHolds) jobs = guests.freezeAll(d.reason());
                }
                case THAW -> {
                    backoffFrozen = false;
                    if (!ownerHolds) jobs = guests.thawAll(d.reason());
                }
                case EVICT -> {
                    backoffFrozen = false;
                    jobs = guests.evictAll(d.reason());
                }
            }
            acceptsGuests = watch.acceptsGuests() && !backoffFrozen;
            log.info("back-off: {} {}", d.reason(), jobs);
        }
    }

    /** How often the guests' memory growth is read: a guest faulting in 1 GB/s takes ~100 MB between two reads. */
    static final long GROWTH_MILLIS = 100;

    /**
     * One reading of the guests' memory growth, on the back-off thread (after the round's, never beside it).
     * While no guest runs there is no guest memory to read: the reading is 0 without reading the
     * guests' memory.stat ten times a second on an idle node, and a CPU cut still steps back.
     */
    void growthRound() {
        Backoff b = backoff;
        if (b == null) return;   // the first round makes it
        long anon = guestsRunning.getAsBoolean() ? guestAnon.getAsLong() : 0;
        Backoff.Decision d = b.observeGrowth(System.nanoTime() / 1_000_000, anon, ownerLoad);
        if (d != null) {
            backoffState = b.state();
            thread.execute(() -> carryOut(List.of(d)));
        }
    }

    private void growthSafely() {
        try {
            growthRound();
        } catch (RuntimeException e) {
            log.warn("memory growth reading failed: {}", e.toString());
        }
    }

    private void backoffSafely() {
        try {
            backoffRound();
        } catch (RuntimeException e) {
            log.warn("back-off round failed: {}", e.toString());
        }
    }

    public void start() {
        log.info("owner watch: guests frozen on the owner's input{}, thawed after {} quiet, evicted after a grace of {}; polling every {} ms",
                load == null ? "" : " or own load over " + watch.settings().loadThreshold() + " cores",
                OwnerWatch.format(watch.settings().quiet()), OwnerWatch.format(watch.settings().grace()), pollMillis);
        if (idle != null || load != null) slow.scheduleWithFixedDelay(this::readSlowly, 0, SLOW_MILLIS, TimeUnit.MILLISECONDS);
        thread.schedule(this::tickAndReschedule, pollMillis, TimeUnit.MILLISECONDS);
        if (backoffThread != null) {
            log.info("disk and memory back-off with {}; I/O from the owner's write+fsync latency, memory from {}",
                    pressure.hasPsi() ? "pressure stall information" : "no pressure stall information on this kernel",
                    pressure.hasPsi() ? "MemAvailable and /proc/pressure/memory" : "MemAvailable");
            backoffThread.scheduleWithFixedDelay(this::backoffSafely, backoffMillis, backoffMillis, TimeUnit.MILLISECONDS);
            backoffThread.scheduleWithFixedDelay(this::growthSafely, GROWTH_MILLIS, GROWTH_MILLIS, TimeUnit.MILLISECONDS);
        }
    }

    /** False while the owner is back (guests frozen or evicted): the host takes no new guests. */
    public boolean acceptsGuests() {
        return acceptsGuests;
    }

    /**
     * Why no guests are taken now: the owner is back, or the back-off holds them (memory or disk).
     * Short enough for gossip to carry whole ({@link io.herd.gossip.GuestAccess#MAX_REASON_CHARS}).
     */
    public String whyNoGuests() {
        return !OwnerWatch.State.LENT.name().equals(state) || !backoffState.startsWith("frozen") ? "the owner is back"
                : "guests " + backoffState;
    }

    /** lent, frozen or evicted. */
    public String state() {
        return state.toLowerCase(java.util.Locale.ROOT);
    }

    /** How often the input is read while no guest runs (and the owner is not holding them). */
    static final long IDLE_POLL_MILLIS = 100;

    /**
     * The next tick's delay: fast while there is a guest to freeze or the owner holds them, slow
     * otherwise. Slow always when every input source reports input as it happens ({@link
     * OwnerInput#notifies()}): the rounds then only time the quiet before a thaw and the grace
     * before an eviction, and the guests' CPU is not spent on a daemon polling 100 times a second.
     */
    long nextDelayMillis() {
        boolean busy = watch.state() != OwnerWatch.State.LENT || backoffFrozen || guests.any();
        return busy && !inputsNotify() ? pollMillis : Math.max(pollMillis, IDLE_POLL_MILLIS);
    }

    private boolean inputsNotify() {
        for (OwnerInput in : inputs) if (!in.notifies()) return false;
        return true;
    }

    private void tickAndReschedule() {
        tickSafely();
        try {
            thread.schedule(this::tickAndReschedule, nextDelayMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // closed
        }
    }

    private void tickSafely() {
        try {
            tick();
        } catch (RuntimeException e) {
            log.warn("owner watch round failed: {}", e.toString());
        }
    }

    private boolean reniced;

    /**
     * The owner's input must be acted on even when the machine is saturated (by the guests
     * themselves, at nice 19, or by the owner): the polling thread asks for nice -10 once, which
     * a root daemon may have (nice is per thread on Linux). Best effort.
     */
    private void renice() {
        reniced = true;
        try {
            String tid = Path.of("/proc/thread-self").toRealPath().getFileName().toString();
            Process p = new ProcessBuilder("renice", "-n", "-10", "-p", tid).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (p.waitFor() != 0) log.debug("could not raise the owner watch's priority (not root?)");
        } catch (java.io.IOException | RuntimeException e) {
            log.debug("could not raise the owner watch's priority: {}", e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    void tick() {
        if (!reniced) renice();
        long now = OwnerInput.nowMillis();
        long last = OwnerInput.NEVER;
        for (OwnerInput in : inputs) last = Math.max(last, in.lastInputMillis());
        last = Math.max(last, idleInput);
        Optional<OwnerWatch.Decision> d = watch.observe(now, last, ownerLoad);
        state = watch.state().name();
        acceptsGuests = watch.acceptsGuests() && !backoffFrozen;
        if (d.isEmpty()) return;
        OwnerWatch.Decision decision = d.get();
        if (decision.action() == OwnerWatch.Action.THAW && backoffFrozen) {
            log.info("{}: guests stay frozen, the back-off holds them ({})", decision.reason(), backoffState);
            return;
        }
        if (decision.action() == OwnerWatch.Action.FREEZE && backoffFrozen) return;   // frozen already
        long t0 = System.nanoTime();
        List<String> jobs = switch (decision.action()) {
            case FREEZE -> guests.freezeAll(decision.reason());
            case THAW -> guests.thawAll(decision.reason());
            case EVICT -> guests.evictAll(decision.reason());
        };
        log.info("{}: {} {} in {} ms ({} ms after the input was seen)", decision.reason(),
                decision.action().name().toLowerCase(java.util.Locale.ROOT), jobs, (System.nanoTime() - t0) / 1_000_000,
                last == OwnerInput.NEVER ? "-" : Long.toString(OwnerInput.nowMillis() - last));
    }

    /** Idle time from logind and the terminals, and the owner's load: about once a second. */
    private void readSlowly() {
        if (idle != null) {
            OwnerActivity a;
            try {
                a = idle.read();
            } catch (RuntimeException e) {
                a = OwnerActivity.UNKNOWN;
            }
            // Seconds of resolution: input "0 s ago" is input now.
            idleInput = a.idleSeconds() < 0 ? OwnerInput.NEVER : OwnerInput.nowMillis() - a.idleSeconds() * 1000;
        }
        if (load != null) {
            try {
                ownerLoad = load.sample();
            } catch (RuntimeException e) {
                ownerLoad = Double.NaN;
            }
        }
    }

    @Override
    public void close() {
        if (backoffThread != null) backoffThread.shutdownNow();
        if (probe instanceof AutoCloseable c) {
            try {
                c.close();
            } catch (Exception e) {
                log.debug("probe close: {}", e.toString());
            }
        }
        slow.shutdownNow();
        thread.shutdownNow();
        inputs.forEach(OwnerInput::close);
    }
}
