package io.herd.gossip;

/**
 * Where {@link OwnerActivity} comes from: {@link LinuxOwnerActivity} on a real
 * node, {@link FixedOwnerActivity} in tests and the simulator.
 */
public interface OwnerActivitySource {

    /** The current reading; called about once a second, so it must be cheap and must not throw. */
    OwnerActivity read();
}
