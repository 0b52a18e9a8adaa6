package io.herd.cli.view;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import io.herd.membership.NodeView;

import java.io.UncheckedIOException;
import java.util.List;

/**
 * {@code herd nodes --json}: a pretty-printed JSON array, one object per node,
 * sorted by name. The keys are exactly the component names of {@link NodeView},
 * numbers are JSON numbers in their raw units (bytes, seconds, 0..100 percent)
 * so that scripts never have to parse {@code 3.2G}.
 */
public final class NodesJson {

    private static final ObjectWriter WRITER = new ObjectMapper().writerWithDefaultPrettyPrinter();

    private NodesJson() {
    }

    public static String render(List<NodeView> nodes) {
        try {
            return WRITER.writeValueAsString(Text.sorted(nodes));
        } catch (JsonProcessingException e) {
            // A record of strings and numbers always serialises; this would be a bug here.
            throw new UncheckedIOException("cannot write the node list as JSON", e);
        }
    }
}
