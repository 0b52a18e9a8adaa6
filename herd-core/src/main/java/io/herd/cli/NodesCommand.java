package io.herd.cli;

import io.herd.cli.view.NodesJson;
import io.herd.cli.view.NodesTable;
import io.herd.membership.NodeView;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "nodes", description = {"Show the cluster map: every node's state, cores, speed, load, memory, owner idle time and guests."})
final class NodesCommand implements Callable<Integer> {
    @Mixin DataOption data;

    @Option(names = "--json", description = "Print a JSON array instead of a table.") boolean json;

    @Override
    public Integer call() throws Exception {
        List<NodeView> nodes = Control.nodes(data.dir());
        if (json) {
            System.out.println(NodesJson.render(nodes));
        } else {
            boolean tty = System.console() != null;
            System.out.print(NodesTable.render(nodes, Terminals.width(tty), tty));
        }
        return 0;
    }
}
