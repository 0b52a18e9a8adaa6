package io.herd.security;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What {@code herd token} prints and {@code herd join} consumes: enough to find the token at the CA
 * ({@code id}), prove possession ({@code secret}, stored at the CA only as its SHA-256), and check
 * before sending anything that the server really is this cluster's CA ({@code caPin}).
 *
 * <p>Text form: {@code herd1.} + base64url without padding of a 69-byte layout: version byte (1),
 * id (8), secret (20), CA pin (32), expiry in epoch seconds (8, big-endian). The prefix says what
 * the string is when it turns up in a shell history; the version byte lets the layout change.
 *
 * <p>The record holds a secret: {@link #toString()} leaves it out, and the accessors return copies.
 *
 * @param id      16 lower-case hex digits
 * @param secret  20 random bytes
 * @param caPin   {@link Pins#pin} of the cluster CA's key
 * @param expires when the CA stops accepting the token; whole seconds (finer parts are dropped)
 */
public record JoinToken(String id, byte[] secret, byte[] caPin, Instant expires) {
    public static final String PREFIX = "herd1.";
    static final int ID_BYTES = 8;
    static final int SECRET_BYTES = 20;
    private static final byte LAYOUT_VERSION = 1;
    private static final int ENCODED_BYTES = 1 + ID_BYTES + SECRET_BYTES + Pins.LENGTH + Long.BYTES;
    private static final int ENCODED_CHARS = (ENCODED_BYTES * 8 + 5) / 6;
    private static final Pattern BASE64URL = Pattern.compile("[A-Za-z0-9_-]*=*");
    private static final Pattern ID = Pattern.compile("[0-9a-f]{" + 2 * ID_BYTES + "}");
    private static final Pattern OTHER_FORMAT = Pattern.compile("herd(\\d+)\\.");

    public JoinToken {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(secret, "secret");
        Objects.requireNonNull(caPin, "caPin");
        Objects.requireNonNull(expires, "expires");
        if (!ID.matcher(id).matches()) {
            throw new IllegalArgumentException("token id must be " + 2 * ID_BYTES + " lower-case hex digits");
        }
        if (secret.length != SECRET_BYTES) {
            throw new IllegalArgumentException("token secret must be " + SECRET_BYTES + " bytes");
        }
        if (caPin.length != Pins.LENGTH) {
            throw new IllegalArgumentException("CA pin must be " + Pins.LENGTH + " bytes");
        }
        if (expires.isBefore(Instant.EPOCH)) {
            throw new IllegalArgumentException("token expiry must not be before 1970");
        }
        secret = secret.clone();
        caPin = caPin.clone();
        expires = expires.truncatedTo(ChronoUnit.SECONDS);
    }

    @Override
    public byte[] secret() {
        return secret.clone();
    }

    @Override
    public byte[] caPin() {
        return caPin.clone();
    }

    /** True from the moment of expiry on; the CA applies the same rule. */
    public boolean expiredAt(Instant now) {
        return !now.isBefore(expires);
    }

    public String encode() {
        ByteBuffer b = ByteBuffer.allocate(ENCODED_BYTES);
        b.put(LAYOUT_VERSION);
        b.put(HexFormat.of().parseHex(id));
        b.put(secret);
        b.put(caPin);
        b.putLong(expires.getEpochSecond());
        return PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(b.array());
    }

    /**
     * Parses what the user pasted; surrounding white space is ignored.
     *
     * @throws IllegalArgumentException saying what is wrong with it and what to do; the message
     *                                  never repeats the input, which may hold a valid secret
     */
    public static JoinToken parse(String text) {
        if (text == null || text.isBlank()) {
            throw notAToken("it is empty");
        }
        String s = text.strip();
        if (!s.startsWith(PREFIX)) {
            Matcher m = OTHER_FORMAT.matcher(s);
            if (m.lookingAt()) {
                throw new IllegalArgumentException("this join token has format " + m.group(1)
                        + ", which this version of herd cannot read; install the same herd version as on"
                        + " the CA node");
            }
            throw notAToken("it does not start with \"" + PREFIX + "\"");
        }
        String body = s.substring(PREFIX.length());
        if (!BASE64URL.matcher(body).matches()) {
            throw notAToken("it contains characters that a token never has");
        }
        byte[] raw;
        try {
            raw = Base64.getUrlDecoder().decode(body);
        } catch (IllegalArgumentException e) {
            raw = null; // only a length that no byte count encodes to gets here
        }
        if (raw == null || raw.length != ENCODED_BYTES) {
            throw notAToken(body.length() < ENCODED_CHARS ? "it is too short (cut off while copying?)" : "it is too long");
        }
        ByteBuffer b = ByteBuffer.wrap(raw);
        byte version = b.get();
        if (version != LAYOUT_VERSION) {
            throw notAToken("unknown layout version " + version);
        }
        byte[] id = new byte[ID_BYTES];
        byte[] secret = new byte[SECRET_BYTES];
        byte[] pin = new byte[Pins.LENGTH];
        b.get(id).get(secret).get(pin);
        long expiry = b.getLong();
        if (expiry < 0) {
            throw notAToken("its expiry time is impossible");
        }
        return new JoinToken(HexFormat.of().formatHex(id), secret, pin, Instant.ofEpochSecond(expiry));
    }

    private static IllegalArgumentException notAToken(String why) {
        return new IllegalArgumentException(
                "not a herd join token: " + why + "; copy the whole line printed by `herd token`");
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof JoinToken t
                && id.equals(t.id)
                && MessageDigest.isEqual(secret, t.secret)
                && Arrays.equals(caPin, t.caPin)
                && expires.equals(t.expires);
    }

    @Override
    public int hashCode() {
        return Objects.hash(id, Arrays.hashCode(caPin), expires);
    }

    @Override
    public String toString() {
        return "JoinToken[id=" + id + ", secret=<hidden>, caPin=" + Pins.display(caPin) + ", expires=" + expires + "]";
    }
}
