package dev.danmaku.standalone;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.danmaku.standalone.demo.DemoRoom;
import java.net.URI;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The demo room's simulated viewers are real clients: a viewer of the room sees them chat and like. */
class DemoRoomTest {

    @Test
    void simulatedViewersChatAndLikeInTheDemoRoom() {
        Cluster cluster = Cluster.get();
        String room = Cluster.room("demo");
        try (WsClient viewer = WsClient.connect(cluster.portB(), "room=" + room);
             DemoRoom demo = DemoRoom.start(URI.create("http://localhost:" + cluster.portA()), room, 4, 10)) {
            await().atMost(Duration.ofSeconds(30)).until(() -> demo.connected() == 4);
            viewer.awaitFrame(f -> f.path("type").asString().equals("batch") && !f.path("comments").isEmpty(),
                    Duration.ofSeconds(30));
            viewer.awaitFrame(f -> f.path("type").asString().equals("batch") && f.path("likes").path("delta").asInt() > 0,
                    Duration.ofSeconds(60));
            assertThat(viewer.comments(room)).allSatisfy(c -> assertThat(c.path("id").asString()).startsWith("demo-"));
        }
    }
}
