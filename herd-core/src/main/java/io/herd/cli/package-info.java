/**
 * The {@code herd} command (picocli). Commands talk only to their own node's
 * daemon, over the control socket; {@code init}, {@code join} and {@code demo}
 * also create nodes and start daemons as detached background processes
 * ({@link io.herd.cli.DaemonLauncher}). Errors reach the user as one line,
 * {@code herd: what went wrong; what to do}, with a non-zero exit status.
 * Rendering lives in {@code io.herd.cli.view}.
 */
package io.herd.cli;
