package io.herd.cli;

import io.herd.cli.view.MonView;
import io.herd.membership.NodeView;
import io.herd.node.DataDir;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.concurrent.Callable;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(name = "mon", description = {"Live view of the cluster: a bar per node for load, memory and speed, refreshed every second.",
        "Keys: q quits, l/m/s/a choose load, memory, speed or all. Prints once when stdout is not a terminal."})
final class MonCommand implements Callable<Integer> {
    @Mixin DataOption data;

    @Override
    public Integer call() throws Exception {
        DataDir dir = data.dir();
        String cluster = Control.status(dir).getClusterName();
        if (System.console() == null) {
            return MonView.printOnce(Control.nodes(dir), System.out, 80);
        }
        MonView view = new MonView(() -> {
            try {
                return Control.nodes(dir);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }, cluster);
        try (Terminal t = TerminalBuilder.builder().system(true).build()) {
            return view.run(t);
        }
    }

}
