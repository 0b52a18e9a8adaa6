package io.herd.journal;

import java.util.Locale;
import java.util.Map;

/**
 * How a job keeps its progress when it is evicted (its host's owner came back, {@code herd expel},
 * {@code herd home}): {@code --checkpoint signal[:SIG]}, self-checkpointing as in HTCondor.
 *
 * <p>herd sends the job {@code SIG} (default SIGUSR1) on eviction; the job writes its state into
 * its working directory and exits with {@value #EXIT_CODE} within {@value #GRACE_SECONDS} s. The
 * files it wrote or changed go back to its home node and are staged into the next attempt's sandbox,
 * wherever that runs; a {@code --shared} job keeps them in place. A job that exits any other way,
 * or not in time, runs again from its last checkpoint (or from the start). Without {@code --checkpoint}
 * an evicted job is killed and restarted.
 *
 * @param signal the signal that asks for a checkpoint
 */
public record Checkpoint(int signal) {

    /** The exit code that says "my state is written: move me" (HTCondor's {@code checkpoint_exit_code} convention). */
    public static final int EXIT_CODE = 85;
    /** How long a job has, after the signal, to write its state and exit. */
    public static final int GRACE_SECONDS = 30;
    public static final int DEFAULT_SIGNAL = 10;

    private static final Map<String, Integer> SIGNALS = Map.of(
            "HUP", 1, "INT", 2, "QUIT", 3, "USR1", 10, "USR2", 12, "ALRM", 14, "TERM", 15, "XCPU", 24, "WINCH", 28);

    public Checkpoint {
        if (signal < 1 || signal > 64) throw new IllegalArgumentException("checkpoint signal " + signal + " is not a signal (1-64)");
        if (signal == 9 || signal == 19) {
            throw new IllegalArgumentException("checkpoint signal " + signal + " cannot be caught by a job; use USR1, USR2, TERM, …");
        }
    }

    /**
     * {@code none} (or null) is no checkpointing; {@code signal}, {@code signal:USR2},
     * {@code signal:SIGTERM}, {@code signal:12}.
     *
     * @return null for none
     * @throws IllegalArgumentException saying what was wrong and what is accepted
     */
    public static Checkpoint parse(String text) {
        if (text == null || text.isBlank() || text.equals("none")) return null;
        String t = text.trim();
        if (t.equals("signal")) return new Checkpoint(DEFAULT_SIGNAL);
        if (!t.startsWith("signal:")) {
            throw new IllegalArgumentException("--checkpoint '" + text + "': use none, signal (SIGUSR1) or signal:SIG (e.g. signal:USR2)");
        }
        String sig = t.substring("signal:".length()).toUpperCase(Locale.ROOT);
        if (sig.startsWith("SIG")) sig = sig.substring(3);
        Integer n = SIGNALS.get(sig);
        if (n == null && sig.matches("[0-9]{1,2}")) n = Integer.parseInt(sig);
        if (n == null) {
            throw new IllegalArgumentException("--checkpoint '" + text + "': unknown signal '" + sig + "'; use one of "
                    + String.join(", ", new java.util.TreeSet<>(SIGNALS.keySet())) + " or a number");
        }
        return new Checkpoint(n);
    }

    /** The form {@link #parse} reads back: {@code signal:USR1}, or {@code signal:N} for a signal without a name here. */
    public String text() {
        for (Map.Entry<String, Integer> e : SIGNALS.entrySet()) if (e.getValue() == signal) return "signal:" + e.getKey();
        return "signal:" + signal;
    }
}
