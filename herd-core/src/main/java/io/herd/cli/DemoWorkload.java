package io.herd.cli;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * What {@code herd demo} runs over its pool, as one {@code herd run --each} array from a work
 * directory: the jobs' new files come back there by herd's staging, as they would for a user.
 * Each kind is CPU-bound, so nodes of different speed finish different numbers of jobs.
 */
enum DemoWorkload {
    /** RSA keys, one per job ({@code openssl genrsa -out key{}.pem 2048}), the seeds' first test. */
    GENRSA("genrsa", "openssl"),
    /** A small built-in POV-Ray scene rendered in row ranges ({@code +SR/+ER}), one tile per job. */
    POVRAY("povray", "povray"),
    /** A shell arithmetic loop: deterministic, about 1 s at full speed on a 2020s core, needs only sh. */
    BUILTIN("builtin", "sh"),
    /** Only the cluster. */
    NONE("none", null);

    /** Iterations of the builtin loop; dash does about 400,000 a second on one core. */
    static final int BUILTIN_STEPS = 400_000;
    static final int IMAGE_WIDTH = 320;
    static final int IMAGE_HEIGHT = 240;

    final String name;
    final String program;

    DemoWorkload(String name, String program) {
        this.name = name;
        this.program = program;
    }

    /** {@code --workload}: a name, or {@code auto} for povray, else genrsa, else builtin, by what is installed. */
    static DemoWorkload parse(String value) {
        if (value.equals("auto")) {
            if (onPath("povray")) return POVRAY;
            if (onPath("openssl")) return GENRSA;
            return BUILTIN;
        }
        for (DemoWorkload w : values()) {
            if (w.name.equals(value)) {
                if (w.program != null && !onPath(w.program)) {
                    throw new CliException("--workload " + value + " needs " + w.program + ", which is not installed here;"
                            + " install it or use --workload builtin", 2);
                }
                return w;
            }
        }
        throw new CliException("unknown --workload '" + value + "': use genrsa, povray, builtin, none or auto", 2);
    }

    static boolean onPath(String program) {
        String path = System.getenv("PATH");
        if (path == null) return false;
        for (String d : path.split(File.pathSeparator)) {
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, program))) return true;
        }
        return false;
    }

    /** One line saying what the array does, before it starts. */
    String describe(int jobs) {
        return switch (this) {
            case GENRSA -> jobs + " RSA keys, one per job: openssl genrsa -out key{}.pem 2048";
            case POVRAY -> tiles(jobs).size() + " tiles of a " + IMAGE_WIDTH + "x" + IMAGE_HEIGHT
                    + " POV-Ray scene, one row range per job: povray +SR.. +ER..";
            case BUILTIN -> jobs + " CPU-bound jobs, one per item: a shell loop of " + BUILTIN_STEPS
                    + " arithmetic steps (about 1 s each on a free core)";
            case NONE -> "nothing";
        };
    }

    /** Writes what the jobs need into {@code work} and returns the array, as {@code herd run --each} would parse it. */
    JobOptions prepare(Path work, int jobs) throws IOException {
        JobOptions o = new JobOptions();
        o.cwd = work;
        o.cpus = 1;
        o.maxRetries = 3;
        switch (this) {
            case GENRSA -> {
                o.each = "1.." + jobs;
                o.command = List.of("openssl", "genrsa", "-out", "key{}.pem", "2048");
                o.needs = List.of("openssl");
            }
            case POVRAY -> {
                Files.writeString(work.resolve("scene.pov"), SCENE);
                o.each = String.join(",", tiles(jobs));
                o.inputs = List.of("scene.pov");
                o.needs = List.of("povray");
                // +SR/+ER from the item "FIRST-LAST"; POV-Ray's chatter goes to the sandbox's private /tmp
                // and is shown only when the render fails.
                o.command = List.of("sh", "-c", "first=${1%-*}; last=${1#*-}; tile=$(printf 'tile%02d.png' \"$2\");"
                        + " povray -D +FN +A0.1 +W" + IMAGE_WIDTH + " +H" + IMAGE_HEIGHT
                        + " +SR$first +ER$last +Iscene.pov +O$tile 2>/tmp/povray.log"
                        + " || { tail -n 5 /tmp/povray.log >&2; exit 1; }", "sh", "{}", "{#}");
            }
            case BUILTIN -> {
                o.each = "1.." + jobs;
                o.command = List.of("sh", "-c", "i=0; s=$1; while [ $i -lt " + BUILTIN_STEPS + " ]; do"
                        + " s=$(( (s * 31 + i) % 1000003 )); i=$((i + 1)); done; echo \"job $1: checksum $s\"", "sh", "{}");
            }
            case NONE -> throw new IllegalStateException("no workload to prepare");
        }
        return o;
    }

    /** The row ranges {@code FIRST-LAST} (1-based, inclusive) that split the image into at most {@code jobs} tiles. */
    static List<String> tiles(int jobs) {
        int rows = (IMAGE_HEIGHT + Math.min(jobs, IMAGE_HEIGHT) - 1) / Math.min(jobs, IMAGE_HEIGHT);
        List<String> out = new ArrayList<>();
        for (int first = 1; first <= IMAGE_HEIGHT; first += rows) {
            out.add(first + "-" + Math.min(IMAGE_HEIGHT, first + rows - 1));
        }
        return out;
    }

    /** Lines about what came back into {@code work}, after the array. */
    List<String> report(Path work, int jobs) throws IOException {
        List<String> lines = new ArrayList<>();
        switch (this) {
            case GENRSA -> {
                List<Path> keys = files(work, "key", ".pem");
                long valid = 0;
                for (Path k : keys) if (Files.readString(k).contains("PRIVATE KEY-----")) valid++;
                lines.add(String.format(Locale.ROOT, "%d of %d keys came back into %s by herd's staging%s; %d %s a PEM private key",
                        keys.size(), jobs, work, span(keys), valid, valid == 1 ? "is" : "are"));
            }
            case POVRAY -> {
                List<Path> tiles = files(work, "tile", ".png");
                long bytes = 0;
                for (Path t : tiles) bytes += Files.size(t);
                lines.add(String.format(Locale.ROOT, "%d of %d tiles came back into %s by herd's staging%s, %.0f KB in all",
                        tiles.size(), tiles(jobs).size(), work, span(tiles), bytes / 1024.0));
            }
            case BUILTIN -> lines.add("each job printed its checksum above (the same item always gives the same checksum)");
            case NONE -> { }
        }
        return lines;
    }

    private static String span(List<Path> files) {
        if (files.isEmpty()) return "";
        String first = files.get(0).getFileName().toString();
        return files.size() == 1 ? " (" + first + ")" : " (" + first + " … " + files.get(files.size() - 1).getFileName() + ")";
    }

    /** Files PREFIX*SUFFIX in {@code dir}, in natural order (key2 before key10). */
    private static List<Path> files(Path dir, String prefix, String suffix) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> {
                String n = p.getFileName().toString();
                return n.startsWith(prefix) && n.endsWith(suffix) && Files.isRegularFile(p);
            }).sorted((a, b) -> {
                String x = a.getFileName().toString();
                String y = b.getFileName().toString();
                return x.length() != y.length() ? Integer.compare(x.length(), y.length()) : x.compareTo(y);
            }).toList();
        }
    }

    /** A few spheres over a checkered plane: reflections and shadows, a second or so per tile at 320x240. */
    static final String SCENE = """
            // herd demo: rendered in row ranges (+SR/+ER), one tile per job
            #version 3.7;
            global_settings { assumed_gamma 1.0 max_trace_level 8 }
            camera { location <0, 2.2, -7> look_at <0, 0.8, 0> angle 50 }
            light_source { <-6, 10, -8> color rgb 1.0 }
            light_source { <8, 6, -4> color rgb 0.4 }
            sky_sphere { pigment { gradient y color_map { [0 color rgb <0.9, 0.9, 1.0>] [1 color rgb <0.3, 0.45, 0.8>] } } }
            plane { y, 0 pigment { checker color rgb 0.9 color rgb 0.15 scale 0.8 } finish { reflection 0.15 } }
            #declare I = 0;
            #while (I < 7)
              sphere { <-3 + I, 0.5 + 0.25 * mod(I, 3), 1.5 * sin(I)>, 0.5 + 0.1 * mod(I, 2)
                pigment { color rgb <mod(I, 2), 0.4 + 0.08 * I, 1 - 0.12 * I> }
                finish { phong 0.8 reflection 0.35 } }
              #declare I = I + 1;
            #end
            sphere { <0, 1.4, 2.5>, 1.3 pigment { color rgbf <1, 1, 1, 0.9> } finish { reflection 0.1 phong 1 } interior { ior 1.5 } }
            """;
}
