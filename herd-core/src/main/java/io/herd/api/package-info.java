/**
 * The node's two doors.
 *
 * <ul>
 * <li>{@link io.herd.api.NodeRpcServer}: gRPC between nodes, TLS 1.3 always.
 *     {@code JoinService} is the only service a peer without a certificate may
 *     call (it authenticates by join token); every other service passes
 *     {@link io.herd.api.RequireClusterCertificate}, which also re-checks the
 *     revocation list on each call since a TLS session can outlive a revocation.</li>
 * <li>{@link io.herd.api.ControlServer}: the local CLI channel, length-delimited
 *     protobuf frames ({@code control.proto}) over a Unix socket in the data
 *     directory. The caller is whoever the kernel says ({@code SO_PEERCRED});
 *     requests carry no user names. Admin commands need root, the daemon's user
 *     or the {@code herd} group.</li>
 * </ul>
 */
package io.herd.api;
