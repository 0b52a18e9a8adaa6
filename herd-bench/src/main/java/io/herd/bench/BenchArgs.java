package io.herd.bench;

/** The benches' {@code --name value} options. */
final class BenchArgs {

    private BenchArgs() {
    }

    static String stringArg(String[] args, String name, String def) {
        for (int i = 0; i < args.length - 1; i++) if (args[i].equals(name)) return args[i + 1];
        return def;
    }

    static int intArg(String[] args, String name, int def) {
        return Integer.parseInt(stringArg(args, name, Integer.toString(def)));
    }
}
