package io.herd.journal;

/**
 * One line of a job's history.
 *
 * @param seq    position in the whole journal; later events have higher numbers
 * @param kind   "submitted", a state name ("placed", "running", "queued", …),
 *               "outputs-recorded" or "outputs-committed"
 * @param detail human-readable particulars ("on node-b, attempt 2"), or null
 */
public record Event(String jobId, long seq, long tsMs, String kind, String detail) {
}
