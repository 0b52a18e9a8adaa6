package io.herd.cli.view;

import io.herd.membership.NodeView;
import org.jline.terminal.Attributes;
import org.jline.terminal.Size;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;
import org.jline.utils.InfoCmp.Capability;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

class MonViewRunTest {

    private static final Duration PROMPTLY = Duration.ofSeconds(3);
    /** Refresh interval, in ms, for tests that need a second refresh but not the 1 s wait. */
    private static final long FAST = 50;

    private final ByteArrayOutputStream screen = new ByteArrayOutputStream();
    private Terminal terminal;

    private Terminal terminal(InputStream in, String type) throws IOException {
        terminal = TerminalBuilder.builder().system(false).streams(in, screen).type(type)
                .encoding(StandardCharsets.UTF_8).size(new Size(80, 24)).build();
        return terminal;
    }

    @AfterEach
    void close() throws IOException {
        keyboard.close(); // lets the terminal's input pump see the end at once instead of polling for it
        if (terminal != null) {
            terminal.close();
        }
    }

    private String screen() {
        return screen.toString(StandardCharsets.UTF_8);
    }

    /** Runs the view on another thread, so the test can type while it runs. */
    private CompletableFuture<Integer> start(MonView view, Terminal t) {
        return CompletableFuture.supplyAsync(() -> view.run(t));
    }

    /** Input that stays open, as a real keyboard does; keys are typed with {@link #type}. */
    private final PipedOutputStream keyboard = new PipedOutputStream();

    private InputStream keyboard() throws IOException {
        return new PipedInputStream(keyboard);
    }

    private void type(String keys) throws IOException {
        keyboard.write(keys.getBytes(StandardCharsets.UTF_8));
        keyboard.flush();
    }

    /** Waits until the terminal has been sent {@code text}; on timeout the message shows what it got. */
    private void awaitScreen(String text) {
        await().atMost(PROMPTLY).untilAsserted(() -> assertThat(screen()).contains(text));
    }

    @Test
    void qQuitsPromptlyAndRestoresTheTerminal() throws Exception {
        Terminal t = terminal(keyboard(), "xterm");
        Attributes before = new Attributes(t.getAttributes());
        type("q");

        int code = assertTimeoutPreemptively(PROMPTLY, () -> new MonView(TestNodes::four, "lab").run(t));

        assertThat(code).isZero();
        String screen = screen();
        assertThat(screen).contains("herd · lab · 4 nodes", "alpha*", "q quit");
        // xterm: alternate screen on, cursor hidden ... cursor shown, alternate screen off
        int frameAt = screen.indexOf("q quit");
        assertThat(screen.indexOf("\u001B[?1049h")).isBetween(0, frameAt);
        assertThat(screen.indexOf("\u001B[?25l")).isBetween(0, frameAt);
        assertThat(screen.lastIndexOf("\u001B[?25h")).isGreaterThan(frameAt);
        assertThat(screen.lastIndexOf("\u001B[?1049l")).isGreaterThan(frameAt);
        Attributes after = t.getAttributes();
        assertThat(after.getLocalFlags()).isEqualTo(before.getLocalFlags());
        assertThat(after.getInputFlags()).isEqualTo(before.getInputFlags());
        assertThat(after.getControlChars()).isEqualTo(before.getControlChars());
    }

    @Test
    void escQuits() throws Exception {
        Terminal t = terminal(keyboard(), "xterm");
        type("\u001B");
        int code = assertTimeoutPreemptively(PROMPTLY, () -> new MonView(TestNodes::four, "lab").run(t));
        assertThat(code).isZero();
    }

    @Test
    void ctrlCQuits() throws Exception {
        Terminal t = terminal(keyboard(), "xterm");
        CompletableFuture<Integer> run = start(new MonView(TestNodes::four, "lab"), t);
        awaitScreen("q quit");
        type("\u0003");
        assertThat(run.get(PROMPTLY.toMillis(), TimeUnit.MILLISECONDS)).isZero();
    }

    @Test
    void refreshesEverySecondWithoutSpinning() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        Supplier<List<NodeView>> source = () -> {
            calls.incrementAndGet();
            return TestNodes.four();
        };
        Terminal t = terminal(keyboard(), "xterm");
        long started = System.nanoTime();
        CompletableFuture<Integer> run = start(new MonView(source, "lab"), t);

        await().atMost(PROMPTLY).until(() -> calls.get() >= 2);
        long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        type("q");

        assertThat(run.get(PROMPTLY.toMillis(), TimeUnit.MILLISECONDS)).isZero();
        // First call at start, then one per second: the second comes after about 1 s, not sooner.
        assertThat(elapsedMillis).isGreaterThanOrEqualTo(950);
        assertThat(calls.get()).isLessThanOrEqualTo(3);
    }

    @Test
    void keysSwitchWhatIsShownAndArrowsScroll() throws Exception {
        Terminal t = terminal(keyboard(), "xterm");
        CompletableFuture<Integer> run = start(new MonView(() -> TestNodes.many(30), "lab"), t);
        awaitScreen("↓ 23 more");

        type("\u001B[6~"); // PgDn: the next 7 nodes of three rows each
        awaitScreen("↑ 7 above   ↓ 16 more");

        type("m"); // memory only: one row per node, 21 on the page
        awaitScreen("memory · ");
        awaitScreen("↑ 7 above   ↓ 2 more");

        type("\u001BOA"); // Up, as xterm sends it in keypad mode
        awaitScreen("↑ 6 above   ↓ 3 more");

        type("q");
        assertThat(run.get(PROMPTLY.toMillis(), TimeUnit.MILLISECONDS)).isZero();
    }

    @Test
    void redrawsForTheNewSizeOnResize() throws Exception {
        Terminal t = terminal(keyboard(), "xterm");
        CompletableFuture<Integer> run = start(new MonView(() -> TestNodes.many(30), "lab"), t);
        awaitScreen("↓ 23 more");

        t.setSize(new Size(100, 40));
        t.raise(Terminal.Signal.WINCH);
        // 40 rows hold 12 nodes of three rows each; the key help moves to row 40.
        await().atMost(Duration.ofMillis(500)).until(() -> screen().contains("↓ 18 more"));
        assertThat(screen()).contains("\u001B[40;1Hq quit");

        type("q");
        assertThat(run.get(PROMPTLY.toMillis(), TimeUnit.MILLISECONDS)).isZero();
    }

    @Test
    void aFailingSourceIsShownAndTheViewKeepsRunning() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        Supplier<List<NodeView>> source = () -> {
            if (calls.incrementAndGet() > 1) {
                throw new IllegalStateException("daemon not reachable on /run/herd.sock");
            }
            return TestNodes.four();
        };
        Terminal t = terminal(keyboard(), "xterm");
        CompletableFuture<Integer> run = start(new MonView(source, "lab", FAST), t);

        awaitScreen("daemon not reachable");
        assertThat(run).isNotDone();
        type("q");
        assertThat(run.get(PROMPTLY.toMillis(), TimeUnit.MILLISECONDS)).isZero();
    }

    @Test
    void terminalIsRestoredWhenTheViewDiesOfAnError() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        Supplier<List<NodeView>> source = () -> {
            if (calls.incrementAndGet() > 1) {
                throw new AssertionError("boom"); // an Error is not shown as a problem line: it ends the view
            }
            return TestNodes.four();
        };
        Terminal t = terminal(keyboard(), "xterm");
        Attributes before = new Attributes(t.getAttributes());

        Throwable thrown = assertTimeoutPreemptively(PROMPTLY, () -> {
            try {
                new MonView(source, "lab", FAST).run(t);
                return null;
            } catch (AssertionError e) {
                return e;
            }
        });

        assertThat(thrown).hasMessage("boom");
        String screen = screen();
        assertThat(screen.lastIndexOf("\u001B[?1049l")).isGreaterThan(screen.indexOf("q quit"));
        assertThat(screen.lastIndexOf("\u001B[?25h")).isGreaterThan(screen.indexOf("q quit"));
        assertThat(t.getAttributes().getLocalFlags()).isEqualTo(before.getLocalFlags());
    }

    @Test
    void endOfInputEndsTheView() throws Exception {
        Terminal t = terminal(new ByteArrayInputStream(new byte[0]), "xterm");
        int code = assertTimeoutPreemptively(PROMPTLY, () -> new MonView(TestNodes::four, "lab").run(t));
        assertThat(code).isZero();
    }

    @Test
    void dumbTerminalGetsOnePlainFrame() throws Exception {
        Terminal t = terminal(keyboard(), Terminal.TYPE_DUMB);
        int code = assertTimeoutPreemptively(PROMPTLY, () -> new MonView(TestNodes::four, "lab").run(t));
        assertThat(code).isZero();
        assertThat(screen()).contains("herd · lab · 4 nodes", "charlie  dead").doesNotContain("\u001B", "q quit");
    }
}
