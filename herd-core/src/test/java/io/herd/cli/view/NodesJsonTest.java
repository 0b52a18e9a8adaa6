package io.herd.cli.view;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.herd.membership.NodeView;
import org.junit.jupiter.api.Test;

import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static io.herd.cli.view.TestNodes.G;
import static io.herd.cli.view.TestNodes.node;
import static org.assertj.core.api.Assertions.assertThat;

class NodesJsonTest {

    private final ObjectMapper mapper = new ObjectMapper();

    @Test
    void oneObjectPerNodeSortedByNameWithTheRecordsComponentNamesAsKeys() throws Exception {
        JsonNode array = mapper.readTree(NodesJson.render(TestNodes.four()));

        assertThat(array.isArray()).isTrue();
        assertThat(array).extracting(n -> n.get("name").asText())
                .containsExactly("alpha", "bravo", "charlie", "delta");
        List<String> components = Arrays.stream(NodeView.class.getRecordComponents())
                .map(RecordComponent::getName).filter(c -> !c.equals("policyStamp") && !c.equals("ownerMemReserveBytes")).toList();
        assertThat(components).contains("guests", "guestsReason", "name", "address", "state", "cores", "speed", "load", "cpuPercent",
                "memFreeBytes", "ownerIdleSeconds", "guestJobs", "version");
        // The policy stamp and the owner's reserve are placement's business, not a script's.
        assertThat(array.get(0).has("policyStamp")).isFalse();
        assertThat(array.get(0).has("ownerMemReserveBytes")).isFalse();
        assertThat(array.get(0).get("guests").asText()).isEqualTo("yes");
        for (JsonNode object : array) {
            List<String> keys = new ArrayList<>();
            object.fieldNames().forEachRemaining(keys::add);
            assertThat(keys).containsExactlyInAnyOrderElementsOf(components);
        }
    }

    @Test
    void numbersAreJsonNumbersInRawUnits() throws Exception {
        NodeView big = node("big").cores(64).speed(2.5).load(1.25).cpu(12.5).mem(48 * G, 256 * G)
                .ownerIdle(-1, false).guests(3, 8).build();
        JsonNode o = mapper.readTree(NodesJson.render(List.of(big))).get(0);

        assertThat(o.get("name").isTextual()).isTrue();
        assertThat(o.get("address").isTextual()).isTrue();
        assertThat(o.get("state").asText()).isEqualTo("alive");
        assertThat(o.get("cores").isIntegralNumber()).isTrue();
        assertThat(o.get("cores").asInt()).isEqualTo(64);
        assertThat(o.get("speed").isNumber()).isTrue();
        assertThat(o.get("speed").asDouble()).isEqualTo(2.5);
        assertThat(o.get("load").asDouble()).isEqualTo(1.25);
        assertThat(o.get("cpuPercent").asDouble()).isEqualTo(12.5);
        assertThat(o.get("memFreeBytes").isIntegralNumber()).isTrue();
        assertThat(o.get("memFreeBytes").asLong()).isEqualTo(48 * G); // more than an int holds
        assertThat(o.get("ownerIdleSeconds").asLong()).isEqualTo(-1);
        assertThat(o.get("guestJobs").asInt()).isEqualTo(3);
        assertThat(o.get("version").isTextual()).isTrue();
        assertThat(o.get("self").isBoolean()).isTrue();
    }

    @Test
    void roundTripsToTheSameRecords() throws Exception {
        List<NodeView> nodes = TestNodes.four();
        NodeView[] back = mapper.readValue(NodesJson.render(nodes), NodeView[].class);
        assertThat(back).containsExactlyElementsOf(nodes.stream().sorted(Text.BY_NAME).toList());
    }

    @Test
    void emptyListIsAnEmptyArray() throws Exception {
        assertThat(mapper.readTree(NodesJson.render(List.of())).size()).isZero();
    }
}
