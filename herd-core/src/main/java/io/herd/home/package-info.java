/**
 * The home node's side of jobs: the journal is the truth, the live queue holds
 * what waits, one dispatch loop offers each job to its best host and runs each
 * attempt as a stream to that host; a lost host puts the job back in the queue
 * until its retries are used up, then it is held with the reason. Where this
 * home's jobs run briefly on a host (under {@code JobManager.AHEAD_RUN_MS} on
 * average), a job waiting for that host's next free slot is sent ahead, one per
 * slot: the host holds the start ({@code JobLaunch.wait_for_slot_millis}, up
 * to two seconds) and starts it the moment a slot frees, rather than the slot
 * idling for the round trip of the last job's end and the next job's start.
 */
package io.herd.home;
