package io.herd.cli;

import io.herd.node.DataDir;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code --data DIR}, taken by every command so several nodes can live on one machine. */
public final class DataOption {
    @Option(names = "--data", paramLabel = "DIR",
            description = "Node data directory (default: $HERD_DATA, else /var/lib/herd as root, ~/.local/share/herd otherwise).")
    Path data;

    public DataDir dir() {
        return DataDir.resolve(data);
    }
}
