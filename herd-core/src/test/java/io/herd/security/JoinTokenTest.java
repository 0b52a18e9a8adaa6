package io.herd.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;

class JoinTokenTest {
    private static final String ADVICE = "; copy the whole line printed by `herd token`";

    // Seeded loops: for a fixed-size layout they cover as much as a property test, and a failure
    // reproduces on every run.

    @Test
    void encodeThenParseGivesTheSameToken() {
        Random random = new Random(20261121);
        for (int i = 0; i < 500; i++) {
            byte[] id = bytes(random, 8);
            byte[] secret = bytes(random, 20);
            byte[] pin = bytes(random, 32);
            long expiry = switch (i) {
                case 0 -> 0;
                case 1 -> Long.MAX_VALUE / 1000; // beyond any real date, still a valid Instant
                default -> random.nextLong() >>> 24;
            };
            JoinToken t = new JoinToken(HexFormat.of().formatHex(id), secret, pin, Instant.ofEpochSecond(expiry));
            String text = t.encode();

            assertThat(text).startsWith("herd1.").matches("herd1\\.[A-Za-z0-9_-]{92}");
            JoinToken back = JoinToken.parse("  " + text + "\n");
            assertThat(back).isEqualTo(t);
            assertThat(back.secret()).isEqualTo(secret);
            assertThat(back.caPin()).isEqualTo(pin);
            assertThat(back.expires()).isEqualTo(Instant.ofEpochSecond(expiry));
        }
    }

    @Test
    void everyCutOffTokenIsRejectedClearly() {
        String text = sample().encode();
        for (int keep = 0; keep < text.length(); keep++) {
            String cut = text.substring(0, keep);
            assertThatThrownBy(() -> JoinToken.parse(cut))
                    .as("first %d characters", keep)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("not a herd join token: ")
                    .hasMessageEndingWith(ADVICE);
        }
    }

    @Test
    void everyAlteredCharacterIsDetectedOrChangesTheToken() {
        // base64url has no checksum: a changed character either breaks the layout or yields a
        // different token, which the CA then refuses. It must never parse back to the original.
        JoinToken original = sample();
        String text = original.encode();
        for (int i = 0; i < text.length(); i++) {
            String altered = text.substring(0, i) + (text.charAt(i) == 'A' ? 'B' : 'A') + text.substring(i + 1);
            try {
                assertThat(JoinToken.parse(altered)).isNotEqualTo(original);
            } catch (IllegalArgumentException e) {
                assertThat(e).hasMessageEndingWith(ADVICE);
            }
        }
    }

    @Test
    void garbageIsRejectedWithAReason() {
        assertRejected("", "it is empty");
        assertRejected("hello world", "it does not start with \"herd1.\"");
        assertRejected("herd join 10.0.0.1:7443", "it does not start with \"herd1.\"");
        assertRejected("herd1.this is not base64!", "it contains characters that a token never has");
        assertRejected(sample().encode().substring(0, 60), "it is too short (cut off while copying?)");
        assertRejected(sample().encode() + "AAAA", "it is too long");
    }

    @Test
    void anotherLayoutVersionIsRejected() {
        String text = sample().encode();
        byte[] raw = java.util.Base64.getUrlDecoder().decode(text.substring(6));
        raw[0] = 7;
        assertRejected("herd1." + java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(raw),
                "unknown layout version 7");
    }

    @Test
    void aNewerTokenFormatSaysToUpgrade() {
        assertThatThrownBy(() -> JoinToken.parse("herd2.AAAA"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("format 2")
                .hasMessageContaining("same herd version");
    }

    @Test
    void messagesNeverEchoTheToken() {
        String text = sample().encode();
        String damaged = text.substring(0, text.length() - 3);
        assertThatThrownBy(() -> JoinToken.parse(damaged))
                .message().doesNotContain(damaged.substring(6, 30));
    }

    @Test
    void toStringHidesTheSecret() {
        JoinToken t = sample();
        assertThat(t.toString()).contains(t.id()).contains("<hidden>")
                .doesNotContain(HexFormat.of().formatHex(t.secret()));
    }

    @Test
    void recordCopiesItsArrays() {
        byte[] secret = new byte[20];
        JoinToken t = new JoinToken("00112233445566aa", secret, new byte[32], Instant.EPOCH);
        secret[0] = 9;
        t.secret()[1] = 9;
        assertThat(t.secret()).containsOnly(0);
    }

    @Test
    void expiresAtTheExactSecond() {
        JoinToken t = new JoinToken("00112233445566aa", new byte[20], new byte[32],
                Instant.parse("2026-11-21T10:00:00.750Z"));
        assertThat(t.expires()).isEqualTo(Instant.parse("2026-11-21T10:00:00Z"));
        assertThat(t.expiredAt(Instant.parse("2026-11-21T09:59:59.999Z"))).isFalse();
        assertThat(t.expiredAt(Instant.parse("2026-11-21T10:00:00Z"))).isTrue();
    }

    @Test
    void constructorChecksSizes() {
        assertThatThrownBy(() -> new JoinToken("xyz", new byte[20], new byte[32], Instant.EPOCH))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new JoinToken("00112233445566aa", new byte[19], new byte[32], Instant.EPOCH))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new JoinToken("00112233445566aa", new byte[20], new byte[31], Instant.EPOCH))
                .isInstanceOf(IllegalArgumentException.class);
    }

    private static void assertRejected(String text, String reason) {
        assertThatThrownBy(() -> JoinToken.parse(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("not a herd join token: " + reason + ADVICE);
    }

    private static byte[] bytes(Random random, int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    private static JoinToken sample() {
        byte[] secret = new byte[20];
        byte[] pin = new byte[32];
        for (int i = 0; i < pin.length; i++) {
            pin[i] = (byte) (i * 7);
            if (i < secret.length) {
                secret[i] = (byte) (i * 13 + 1);
            }
        }
        return new JoinToken("0123456789abcdef", secret, pin, Instant.parse("2026-11-21T10:00:00Z"));
    }
}
