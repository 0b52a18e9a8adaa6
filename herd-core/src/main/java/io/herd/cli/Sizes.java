package io.herd.cli;

/** Parses sizes the way people type them: {@code 512M}, {@code 4G}, {@code 1.5G}, {@code 1024}. */
final class Sizes {
    private Sizes() {}

    static long parse(String text, String option) {
        String t = text.trim().toUpperCase().replaceAll("I?B$", "");
        long mult = 1;
        if (!t.isEmpty()) {
            switch (t.charAt(t.length() - 1)) {
                case 'K' -> mult = 1L << 10;
                case 'M' -> mult = 1L << 20;
                case 'G' -> mult = 1L << 30;
                case 'T' -> mult = 1L << 40;
                default -> mult = 1;
            }
            if (mult > 1) t = t.substring(0, t.length() - 1);
        }
        try {
            double v = Double.parseDouble(t);
            if (v <= 0 || Double.isNaN(v) || Double.isInfinite(v)) throw new NumberFormatException();
            return (long) (v * mult);
        } catch (NumberFormatException e) {
            throw new CliException("bad " + option + " '" + text + "': use a size such as 512M or 4G", 2);
        }
    }
}
