package io.herd.host;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.transfer.Manifest;
import io.herd.transfer.Manifest.FileEntry;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A resumed attempt's sandbox: its inputs with its last checkpoint laid over them. */
class ResumeOverlayTest {

    static FileEntry f(String path, char sha) {
        return new FileEntry(path, String.valueOf(sha).repeat(64), 1, 0644);
    }

    @Test
    void checkpointFilesAreAddedAndReplaceInputsOfTheSamePath() {
        Manifest inputs = new Manifest(List.of(f("scene.pov", 'a'), f("state", 'b')));
        Manifest checkpoint = new Manifest(List.of(f("state", 'c'), f("out/part1.png", 'd')));
        Manifest staged = HostJobs.overlay(inputs, checkpoint);
        assertThat(staged.files()).containsExactlyInAnyOrder(f("scene.pov", 'a'), f("state", 'c'), f("out/part1.png", 'd'));
        assertThat(HostJobs.overlay(inputs, Manifest.EMPTY).files()).containsExactlyInAnyOrderElementsOf(inputs.files());
    }
}
