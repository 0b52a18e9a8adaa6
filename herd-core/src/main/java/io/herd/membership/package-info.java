/**
 * Membership: who is in the cluster and in what state.
 *
 * <p>{@link io.herd.membership.Membership} runs JGroups over its TCP transport
 * with TLS 1.3 and client certificates required on every connection (the
 * cluster CA is the only trust anchor), with TCPPING discovery from the saved
 * peers, MERGE3 to heal partitions, FD_ALL3 + VERIFY_SUSPECT2 to detect crashes
 * (heartbeat 1 s, suspect after 5 s, verify 1 s) and GMS for views. It also
 * carries herd's own messages: load gossip (unicast to chosen peers) and
 * notices (leave, revocation, CRL), and can cut a revoked peer's connections.
 *
 * <p>{@link io.herd.membership.ClusterMap} is pure: it joins the view with what
 * gossip knows into {@link io.herd.membership.NodeView} rows. Vocabulary:
 * <dl>
 * <dt>alive</dt><dd>in the view, fresh information</dd>
 * <dt>suspect</dt><dd>in the view, but the newest information is older than
 *     the suspicion threshold (3 s, growing with cluster size)</dd>
 * <dt>leaving / left</dt><dd>announced a graceful leave; still in / gone from the view</dd>
 * <dt>dead</dt><dd>dropped from the view without a word: crash or partition</dd>
 * <dt>removed</dt><dd>revoked by an admin; not shown, never readmitted with that certificate</dd>
 * </dl>
 */
package io.herd.membership;
