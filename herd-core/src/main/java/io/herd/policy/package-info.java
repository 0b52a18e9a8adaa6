/**
 * Owner settings of one node, set by its admin and kept in its data
 * directory: {@link io.herd.policy.Labels} ({@code herd label}),
 * {@link io.herd.policy.Policy} ({@code herd policy}) and
 * {@link io.herd.policy.OwnerLock} ({@code herd lock}). Pure values with
 * parsing, validation and an atomic file format; the daemon
 * ({@code io.herd.node.NodeAdmin}) applies them, gossips them and answers
 * the CLI.
 *
 * <h2>Deciding</h2>
 * {@link io.herd.policy.Admission} is the one place that says whether the
 * node takes guests now ({@link io.herd.policy.AcceptRule}: always, after N
 * minutes idle, inside {@link io.herd.policy.Windows}, never; the lock wins)
 * and whether it takes this guest (allow and deny lists of users and of home
 * nodes, guest-mem-max). No I/O and no clock of its own: the time, the zone
 * and the owner's idle time come in, so the tests run it on an injected
 * clock across midnight, weekends and the days clocks change. The host asks
 * it for every offer; the node gossips its answer, so placement skips nodes
 * not taking guests (the scheduler's {@code guests} and {@code policy}
 * filters).
 */
package io.herd.policy;
