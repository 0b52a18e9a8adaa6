/**
 * What the CLI shows about the pool: the {@code herd nodes} table and JSON and
 * the live {@code herd mon} view. Everything here renders
 * {@link io.herd.membership.NodeView} records and nothing else; fetching them
 * is the caller's job, so every view is testable with a list built in the test.
 *
 * <ul>
 *   <li>{@link io.herd.cli.view.Units} — {@code 3.2G}, {@code 3h12m}, {@code 42%}.</li>
 *   <li>{@link io.herd.cli.view.NodesTable} — one line per node; sheds columns
 *       (VERSION, SANDBOX, ADDRESS) rather than wrap on a narrow terminal.</li>
 *   <li>{@link io.herd.cli.view.NodesJson} — the same rows for scripts, raw units.</li>
 *   <li>{@link io.herd.cli.view.MonView} — after openMosix's {@code mosmon}: bars
 *       for load (of cores), memory (used of total) and speed (of the fastest
 *       node), refreshed every second. Layout is the pure
 *       {@code MonView.frame(...)}; {@code run} only deals with keys, time and
 *       the terminal, and restores the terminal however it ends.</li>
 * </ul>
 *
 * Vocabulary: a node is <em>alive</em>, <em>suspect</em> (not heard from
 * lately), <em>dead</em>, <em>leaving</em> or <em>left</em>; only alive nodes
 * get bars and count towards the pool's capacity, the others show their state
 * in words because their figures are stale.
 */
package io.herd.cli.view;
