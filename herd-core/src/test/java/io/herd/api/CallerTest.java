package io.herd.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CallerTest {

    @Test
    void adminGroupMembershipComesFromEtcGroup(@TempDir Path dir) throws Exception {
        Path group = dir.resolve("group");
        Files.writeString(group, "root:x:0:\nherd:x:990:alice,bob\nusers:x:100:carol\n");
        assertThat(Caller.inGroup("alice", "alice", group)).isTrue();
        assertThat(Caller.inGroup("carol", "users", group)).isFalse();
        assertThat(Caller.inGroup("dave", "herd", group)).isTrue();
        assertThat(Caller.inGroup("alice", "alice", dir.resolve("missing"))).isFalse();
    }

    @Test
    void rootIsAlwaysAdmin() {
        assertThat(Caller.of("root", "root").admin()).isTrue();
    }
}
