package io.herd.journal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StatementCacheTest {

    private Connection c;

    @BeforeEach
    void open() throws SQLException {
        c = StatementCache.wrap(DriverManager.getConnection("jdbc:sqlite::memory:"));
        try (Statement st = c.createStatement()) {
            st.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)");
        }
    }

    @AfterEach
    void close() throws SQLException {
        c.close();
    }

    private void insert(int k, String v) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO t (k, v) VALUES (?, ?)")) {
            ps.setInt(1, k);
            ps.setString(2, v);
            ps.executeUpdate();
        }
    }

    private String value(int k) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT v FROM t WHERE k = ?")) {
            ps.setInt(1, k);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }

    @Test
    void aStatementIsCompiledOnceAndGivesTheRightAnswerEachTime() throws SQLException {
        for (int i = 0; i < 50; i++) insert(i, "v" + i);
        for (int i = 0; i < 50; i++) assertThat(value(i)).isEqualTo("v" + i);
        assertThat(value(99)).isNull();
        assertThat(StatementCache.compiled(c)).isEqualTo(2);
    }

    @Test
    void parametersDoNotCarryOverToTheNextUse() throws SQLException {
        insert(1, "one");
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO t (k, v) VALUES (?, ?)")) {
            ps.setInt(1, 2);   // v left unset: SQLite binds NULL, not the last use's "one"
            ps.executeUpdate();
        }
        assertThat(value(2)).isNull();
        assertThat(value(1)).isEqualTo("one");
    }

    @Test
    void theSameTextWhileTheFirstIsOpenGetsItsOwnStatement() throws SQLException {
        insert(1, "a");
        insert(2, "b");
        try (PreparedStatement outer = c.prepareStatement("SELECT v FROM t WHERE k = ?")) {
            outer.setInt(1, 1);
            try (ResultSet rs = outer.executeQuery()) {
                rs.next();
                assertThat(value(2)).isEqualTo("b");   // same text, nested
                assertThat(rs.getString(1)).isEqualTo("a");
            }
        }
        assertThat(value(1)).isEqualTo("a");
    }

    @Test
    void aClosedStatementCannotBeUsedByItsFormerHolder() throws SQLException {
        PreparedStatement ps = c.prepareStatement("SELECT v FROM t WHERE k = ?");
        ps.close();
        assertThat(ps.isClosed()).isTrue();
        assertThatThrownBy(() -> ps.setInt(1, 1)).isInstanceOf(SQLException.class).hasMessageContaining("after close");
    }

    @Test
    void theLeastRecentlyUsedGoBeyondTheBoundAndAreCompiledAgainWhenNeeded() throws SQLException {
        for (int i = 0; i < StatementCache.MAX_STATEMENTS + 10; i++) {
            try (PreparedStatement ps = c.prepareStatement("SELECT " + i);
                 ResultSet rs = ps.executeQuery()) {
                rs.next();
                assertThat(rs.getInt(1)).isEqualTo(i);
            }
        }
        long before = StatementCache.compiled(c);
        try (PreparedStatement ps = c.prepareStatement("SELECT 0"); ResultSet rs = ps.executeQuery()) {
            rs.next();
            assertThat(rs.getInt(1)).isZero();
        }
        assertThat(StatementCache.compiled(c)).isEqualTo(before + 1);
    }

    @Test
    void aStatementOpenWhileItIsEvictedStillWorksUntilItsHolderClosesIt() throws SQLException {
        insert(7, "seven");
        PreparedStatement held = c.prepareStatement("SELECT v FROM t WHERE k = ?");
        for (int i = 0; i < StatementCache.MAX_STATEMENTS + 1; i++) {
            try (PreparedStatement ps = c.prepareStatement("SELECT " + i)) {
                ps.execute();
            }
        }
        held.setInt(1, 7);
        try (ResultSet rs = held.executeQuery()) {
            rs.next();
            assertThat(rs.getString(1)).isEqualTo("seven");
        }
        held.close();
        assertThat(value(7)).isEqualTo("seven");
    }

    @Test
    void theJournalCompilesNoStatementPerJobOnceWarm(@TempDir Path dir) {
        try (Journal j = Journal.open(dir.resolve("journal.db"), "n1")) {
            JobSpec spec = JobSpec.of(java.util.List.of("true"), "/tmp");
            String warm = j.submit("alice", spec, 1_000);
            runThrough(j, warm);
            long before = j.statementsCompiled();
            assertThat(before).as("the cache is on by default").isPositive();
            for (int i = 0; i < 20; i++) runThrough(j, j.submit("alice", spec, 2_000 + i));
            assertThat(j.statementsCompiled()).isEqualTo(before);
        }
    }

    private static void runThrough(Journal j, String id) {
        j.transition(id, new JobState.Placed("n2", 1), 10);
        j.transition(id, new JobState.Running("n2", 1, 11), 11);
        j.transition(id, new JobState.Done(0, "n2", 12), 12);
        assertThat(j.get(id).orElseThrow().state()).isInstanceOf(JobState.Done.class);
    }
}
