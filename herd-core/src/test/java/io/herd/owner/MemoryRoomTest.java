package io.herd.owner;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class MemoryRoomTest {

    static final long G = 1L << 30;

    @Test
    void aGuestFitsOnlyBesideTheOwnersReserve() {
        assertThat(MemoryRoom.refusal(8 * G, 20 * G, 6 * G)).isNull();
        assertThat(MemoryRoom.refusal(14 * G, 20 * G, 6 * G)).isNull();
        assertThat(MemoryRoom.refusal(15 * G, 20 * G, 6 * G)).isEqualTo(
                "memory: the job asks for 15 GiB, this node has 20 GiB available and keeps 6144 MiB for its owner (owner-mem-reserve)");
        assertThat(MemoryRoom.refusal(512L << 20, 3 * G, 4 * G)).as("under the reserve already: nothing fits")
                .isEqualTo("memory: the job asks for 512 MiB, this node has 3072 MiB available and keeps 4096 MiB for its owner "
                        + "(owner-mem-reserve)");
        assertThat(MemoryRoom.refusal(0, G, 4 * G)).as("no --mem: the default limit and the back-off").isNull();
        assertThat(MemoryRoom.refusal(8 * G, -1, 4 * G)).as("unknown: the back-off protects").isNull();
    }

    @Test
    void theAvailableMemoryIsReadOnlyForAJobThatAsksForSome() {
        int[] reads = {0};
        java.util.function.LongSupplier available = () -> {
            reads[0]++;
            return 3 * G;
        };
        assertThat(MemoryRoom.refusal(0, available, 4 * G)).isNull();
        assertThat(reads[0]).isZero();
        assertThat(MemoryRoom.refusal(G, available, 4 * G)).startsWith("memory: the job asks for 1024 MiB");
        assertThat(reads[0]).isEqualTo(1);
    }
}
