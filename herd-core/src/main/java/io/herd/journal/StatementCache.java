package io.herd.journal;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Keeps each connection's prepared statements for reuse. The SQLite driver compiles a
 * statement at every {@code prepareStatement} and frees it at {@code close}; the journal runs
 * the same dozen statements several times per job, and compiling them was an eighth of a busy
 * home daemon's CPU (async-profiler, 2,000-job array).
 *
 * <p>{@link #wrap} returns the connection with {@code prepareStatement(String)} answered from
 * a cache of at most {@link #MAX_STATEMENTS}: closing such a statement clears its parameters
 * and batch and keeps it (its result sets are closed by their own try blocks, which also
 * resets it in the driver). A statement already handed out and not yet closed is not shared:
 * a second request for the same text while the first is open gets a fresh, uncached one.
 * Closing the connection frees every cached statement. A connection is used by one thread at
 * a time (the writer under the write lock, a reader while taken from the pool), so the cache
 * is not synchronised.
 */
final class StatementCache {

    /** Statements kept per connection; the least recently used goes beyond this. */
    static final int MAX_STATEMENTS = 64;

    private StatementCache() {
    }

    static Connection wrap(Connection c) {
        return (Connection) Proxy.newProxyInstance(StatementCache.class.getClassLoader(),
                new Class<?>[] {Connection.class}, new ConnectionHandler(c));
    }

    /** Statements compiled on {@code c} so far, including uncached ones (tests). */
    static long compiled(Connection c) {
        return ((ConnectionHandler) Proxy.getInvocationHandler(c)).compiled;
    }

    private static Object forward(Object target, Method m, Object[] args) throws Throwable {
        try {
            return m.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    private static final class ConnectionHandler implements InvocationHandler {
        private final Connection real;
        private final LinkedHashMap<String, Cached> cache = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Cached> eldest) {
                if (size() <= MAX_STATEMENTS) return false;
                if (!eldest.getValue().inUse) eldest.getValue().free();
                else eldest.getValue().evicted = true;   // freed when its holder closes it
                return true;
            }
        };
        long compiled;

        ConnectionHandler(Connection real) {
            this.real = real;
        }

        @Override
        public Object invoke(Object proxy, Method m, Object[] args) throws Throwable {
            switch (m.getName()) {
                case "prepareStatement":
                    if (args.length == 1) return prepare((String) args[0]);
                    break;
                case "close":
                    for (Iterator<Cached> it = cache.values().iterator(); it.hasNext(); ) {
                        it.next().free();
                        it.remove();
                    }
                    break;
                case "unwrap":
                    if (args[0] == Connection.class) return proxy;
                    break;
                case "equals":
                    return proxy == args[0];
                case "hashCode":
                    return System.identityHashCode(proxy);
                case "toString":
                    return "cached(" + real + ")";
                default:
                    break;
            }
            if (m.getName().startsWith("prepare")) compiled++;
            return forward(real, m, args);
        }

        private PreparedStatement prepare(String sql) throws SQLException {
            Cached c = cache.get(sql);
            if (c != null && c.evicted && !c.inUse) {
                cache.remove(sql);   // could not be reset: compile it again
                c = null;
            }
            if (c != null && c.inUse) {
                compiled++;
                return real.prepareStatement(sql);
            }
            if (c == null) {
                compiled++;
                c = new Cached(real.prepareStatement(sql));
                cache.put(sql, c);
            }
            c.inUse = true;
            return c.proxy;
        }
    }

    /** A cached statement: its proxy's {@code close} hands it back instead of freeing it. */
    private static final class Cached implements InvocationHandler {
        final PreparedStatement real;
        final PreparedStatement proxy;
        boolean inUse;
        boolean evicted;

        Cached(PreparedStatement real) {
            this.real = real;
            this.proxy = (PreparedStatement) Proxy.newProxyInstance(StatementCache.class.getClassLoader(),
                    new Class<?>[] {PreparedStatement.class}, this);
        }

        @Override
        public Object invoke(Object p, Method m, Object[] args) throws Throwable {
            switch (m.getName()) {
                case "close":
                    if (!inUse) return null;
                    inUse = false;
                    if (evicted) {
                        free();
                    } else {
                        try {
                            real.clearParameters();
                            real.clearBatch();
                        } catch (SQLException e) {
                            // A statement that cannot be reset is not reused.
                            evicted = true;
                            free();
                        }
                    }
                    return null;
                case "isClosed":
                    return !inUse || real.isClosed();
                case "equals":
                    return p == args[0];
                case "hashCode":
                    return System.identityHashCode(p);
                default:
                    if (!inUse) throw new SQLException("statement used after close");
                    return forward(real, m, args);
            }
        }

        void free() {
            try {
                real.close();
            } catch (SQLException ignored) {
                // closing the connection frees it anyway
            }
        }
    }
}
