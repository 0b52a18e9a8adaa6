/**
 * Owner settings of one node, set by its admin and kept in its data
 * directory: {@link io.herd.policy.Labels} ({@code herd label}) and
 * {@link io.herd.policy.Policy} ({@code herd policy}). Pure values with
 * parsing, validation and an atomic file format; the daemon
 * ({@code io.herd.node.NodeAdmin}) applies them, gossips them and answers
 * the CLI.
 */
package io.herd.policy;
