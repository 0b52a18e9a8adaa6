package io.herd.array;

import io.herd.journal.JobSpec;
import java.util.ArrayList;
import java.util.List;

/** One array's jobs: the template with each item substituted in the command and the input/output globs. */
public final class Expansion {

    private Expansion() {}

    /** The spec of every job, in item order; job i (0-based) gets {@code {#}} = i + 1. */
    public static List<JobSpec> expand(JobSpec template, List<String> items) {
        if (items.isEmpty()) throw new IllegalArgumentException("an array needs at least one item; " + EachSpec.FORMS);
        if (items.size() > EachSpec.MAX_ITEMS) {
            throw new IllegalArgumentException("an array may hold at most " + EachSpec.MAX_ITEMS + " jobs, not " + items.size());
        }
        List<JobSpec> out = new ArrayList<>(items.size());
        for (int i = 0; i < items.size(); i++) {
            String item = items.get(i);
            int n = i + 1;
            out.add(template.toBuilder()
                    .argv(Placeholders.command(template.argv(), item, n))
                    .inputGlobs(Placeholders.substitute(template.inputGlobs(), item, n))
                    .outputGlobs(Placeholders.substitute(template.outputGlobs(), item, n))
                    .arrayItem(item)
                    .build());
        }
        return out;
    }
}
