package io.herd.executor;

/**
 * Receives a job's output as it is produced. Called from the job's two reader
 * threads (one per stream, so the two methods may run concurrently) with
 * chunks of at most {@value ProcessRunner#CHUNK_BYTES} bytes.
 *
 * <p>The buffer is reused once the call returns: copy or send what you need
 * before returning. Blocking here is the intended back-pressure: the reader
 * stops, the pipe fills and the job's writes block, so memory stays flat
 * however much a job prints. A sink that throws loses that chunk (logged
 * once); the reader keeps draining so the job is never stalled by a broken
 * sink.
 */
public interface OutputSink {

    void stdout(byte[] buf, int off, int len);

    void stderr(byte[] buf, int off, int len);

    /** Discards everything. */
    OutputSink DISCARD = new OutputSink() {
        @Override public void stdout(byte[] buf, int off, int len) {}
        @Override public void stderr(byte[] buf, int off, int len) {}
    };
}
