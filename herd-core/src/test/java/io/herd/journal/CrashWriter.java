package io.herd.journal;

import io.herd.journal.JobState.Done;
import io.herd.journal.JobState.Placed;
import io.herd.journal.JobState.Queued;
import io.herd.journal.JobState.Running;

import java.nio.file.Path;
import java.util.Collections;
import java.util.List;

/**
 * Child process for {@link JournalCrashTest}: writes jobs through their whole life as fast
 * as it can until it is killed. Every kind of write is in the loop: submits, arrays,
 * transitions, requeues, outputs, CPU time.
 */
public final class CrashWriter {
    public static void main(String[] args) {
        Path file = Path.of(args[0]);
        try (Journal j = Journal.open(file, args[1])) {
            JobSpec spec = JobSpec.of(List.of("povray", "+Iscene.pov"), "/w");
            long now = 1;
            for (int i = 0; ; i++) {
                now++;
                if (i % 2 == 0) {
                    j.submitArray("ann", spec, Collections.nCopies(16, spec), now);
                }
                String id = j.submit(i % 2 == 0 ? "ann" : "bob", spec, now);
                int attempt = 1;
                if (i % 7 == 0) {
                    j.transition(id, new Placed("h1", 1), now);
                    j.transition(id, new Queued("host h1 lost"), now);
                    attempt = 2;
                }
                j.transition(id, new Placed("h2", attempt), now);
                j.transition(id, new Running("h2", attempt, now), now);
                if (i % 2 == 0) j.addCpu(id, 10); // ann's
                if (i % 3 == 0) {
                    j.recordOutputs(id, attempt, List.of(
                            new OutputFile("tile" + i + ".png", "%064x".formatted(i), i),
                            new OutputFile("log/" + i + ".txt", "%064x".formatted(i + 1), 1)), now);
                    j.commitOutputs(id, attempt, now);
                }
                if (i % 5 != 4) j.transition(id, new Done(0, "h2", now), now); // some stay running
            }
        }
    }
}
