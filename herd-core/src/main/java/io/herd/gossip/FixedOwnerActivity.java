package io.herd.gossip;

import java.util.Objects;

/**
 * An {@link OwnerActivitySource} that says what it is told: for tests, the
 * simulator, and servers without an owner ({@code new FixedOwnerActivity(OwnerActivity.UNKNOWN)}).
 */
public final class FixedOwnerActivity implements OwnerActivitySource {

    private volatile OwnerActivity activity;

    public FixedOwnerActivity(OwnerActivity activity) {
        this.activity = Objects.requireNonNull(activity, "activity");
    }

    public FixedOwnerActivity(long idleSeconds, boolean ownerPresent) {
        this(new OwnerActivity(idleSeconds, ownerPresent));
    }

    /** Changes what later {@link #read()}s return: the owner arrives or leaves in a simulation. */
    public void set(OwnerActivity next) {
        this.activity = Objects.requireNonNull(next, "next");
    }

    @Override
    public OwnerActivity read() {
        return activity;
    }
}
