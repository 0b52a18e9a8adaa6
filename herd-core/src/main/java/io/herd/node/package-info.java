/**
 * One herd daemon and its data directory.
 *
 * <p>{@link io.herd.node.NodeSetup} creates a node for {@code herd init} (new CA
 * and first node) and {@code herd join} (pin check, CSR, certificate), writing
 * the data directory into a scratch directory that is moved into place only
 * when complete. {@link io.herd.node.Node} wires a running daemon: security,
 * membership, gossip, the gRPC endpoint and the control socket; it is the only
 * place where components meet. {@link io.herd.node.NodeAdmin} keeps the
 * admin's labels and owner policy (loads them, applies the guest CPU cap
 * through cgroups, answers {@code herd label} and {@code herd policy}) in a
 * class of its own. {@link io.herd.node.DataDir} says where each file lives.
 */
package io.herd.node;
