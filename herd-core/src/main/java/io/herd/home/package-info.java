/**
 * The home node's side of jobs: the journal is the truth, the live queue holds
 * what waits, one dispatch loop offers each job to its best host and runs each
 * attempt as a stream to that host; a lost host puts the job back in the queue
 * until its retries are used up, then it is held with the reason.
 */
package io.herd.home;
