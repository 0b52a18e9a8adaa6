package io.herd.cli;

import io.herd.api.proto.JobOutput;
import java.io.IOException;

/** Writes a job's output frames to this process's stdout and stderr. */
final class Output {
    private Output() {}

    static void write(JobOutput o) throws IOException {
        if (!o.getStdout().isEmpty()) {
            o.getStdout().writeTo(System.out);
            System.out.flush();
        }
        if (!o.getStderr().isEmpty()) {
            o.getStderr().writeTo(System.err);
            System.err.flush();
        }
    }
}
