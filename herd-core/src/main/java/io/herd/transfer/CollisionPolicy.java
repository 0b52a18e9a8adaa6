package io.herd.transfer;

/**
 * What committing an output does when its name at home already holds different content.
 *
 * <p>Two cases are never collisions, whatever the policy: the file at home already has the
 * output's exact content (so committing again after a crash is a no-op), and, when the job's
 * staged manifest is given, the file at home is still exactly the input this job was given
 * (the job changed its own input, which is what running it locally would have done).
 *
 * <p><b>Recommended default: {@link #FAIL}</b>, for single jobs and arrays alike. In an array
 * where two jobs produce {@code out.txt}, the first to finish commits it and the second gets
 * an {@link OutputCollisionException} naming the file, before any of its outputs is written,
 * so its job can be reported failed with the reason instead of silently replacing the first
 * job's result. The same rule catches two jobs that both rewrote a shared input (the second
 * finds the file no longer equal to what it was given: a lost update). {@link #RENAME} suits
 * users who want every result kept; {@link #OVERWRITE} is the "last writer wins" of a plain
 * shell, for those who ask for it.
 */
public enum CollisionPolicy {
    /** Replace the file at home, atomically. */
    OVERWRITE,
    /** Refuse: the job's outputs are not committed and the error names every colliding file. */
    FAIL,
    /** Keep both: write the output as {@code name.1} (or the first free {@code name.N}). */
    RENAME;

    /** The policy to use unless the user chose another: {@link #FAIL}. */
    public static final CollisionPolicy RECOMMENDED = FAIL;
}
