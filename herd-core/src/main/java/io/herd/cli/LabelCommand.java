package io.herd.cli;

import io.herd.api.proto.ControlRequest;
import io.herd.api.proto.LabelReply;
import io.herd.api.proto.LabelRequest;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

@Command(name = "label", description = {"Label this node, for placement constraints such as --on 'label==fast'.",
        "A label is 1 to 32 of a-z 0-9 _ . - starting with a letter or digit; a node carries at most 8."},
        subcommands = {LabelCommand.Add.class, LabelCommand.Rm.class, LabelCommand.Ls.class})
final class LabelCommand implements Runnable {
    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                "missing subcommand: try `herd label add NAME...`, `herd label rm NAME...` or `herd label ls`");
    }

    static LabelReply call(DataOption data, LabelRequest.Op op, List<String> names) throws Exception {
        return Control.call(data.dir(), ControlRequest.newBuilder()
                .setLabel(LabelRequest.newBuilder().setOp(op).addAllNames(names)).build()).getLabels();
    }

    @Command(name = "add", description = "Add labels to this node (admin only); other nodes see them within seconds.")
    static final class Add implements Callable<Integer> {
        @Mixin DataOption data;
        @Parameters(arity = "1..*", paramLabel = "NAME", description = "Labels to add, e.g. fast gpu.a100.") List<String> names;

        @Override
        public Integer call() throws Exception {
            System.out.println(LabelCommand.call(data, LabelRequest.Op.ADD, names).getMessage());
            return 0;
        }
    }

    @Command(name = "rm", description = "Remove labels from this node (admin only).")
    static final class Rm implements Callable<Integer> {
        @Mixin DataOption data;
        @Parameters(arity = "1..*", paramLabel = "NAME", description = "Labels to remove.") List<String> names;

        @Override
        public Integer call() throws Exception {
            System.out.println(LabelCommand.call(data, LabelRequest.Op.REMOVE, names).getMessage());
            return 0;
        }
    }

    @Command(name = "ls", description = "List this node's labels, one a line.")
    static final class Ls implements Callable<Integer> {
        @Mixin DataOption data;

        @Override
        public Integer call() throws Exception {
            for (String l : LabelCommand.call(data, LabelRequest.Op.LIST, List.of()).getLabelsList()) System.out.println(l);
            return 0;
        }
    }
}
