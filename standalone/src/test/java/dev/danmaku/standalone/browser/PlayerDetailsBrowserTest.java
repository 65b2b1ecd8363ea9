package dev.danmaku.standalone.browser;

import static org.assertj.core.api.Assertions.assertThat;

import com.microsoft.playwright.Page;
import dev.danmaku.standalone.Cluster;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Parts of issue #5's player and dashboard no other browser test covered: the input's length
 * counter (code points, as the server counts, against {@code welcome}'s limit) and the viewer
 * count on the player and the dashboard.
 */
class PlayerDetailsBrowserTest {

    private static final Page.WaitForFunctionOptions WAIT = new Page.WaitForFunctionOptions().setTimeout(60_000);
    private static Cluster cluster;
    @RegisterExtension
    static final Chromium chromium = new Chromium();

    @BeforeAll
    static void start() {
        cluster = Cluster.get();
    }

    @Test
    void theLengthCounterCountsCodePointsAgainstTheServersLimit() {
        String room = Cluster.room("browser-counter");
        Page page = chromium.open("http://localhost:" + cluster.portA() + "/live.html?room=" + room, "viewer",
                SignIn.dev(cluster.portA(), "Kim", "viewer", List.of()));
        page.waitForFunction("() => window.danmaku && window.danmaku.client.state === 'open'", null, WAIT);
        page.fill("#text", "弹幕😀");  // three code points, four UTF-16 units
        page.waitForFunction("() => /^3 \\/ \\d+$/.test(document.querySelector('#counter').textContent)", null, WAIT);
        int max = Integer.parseInt(page.locator("#counter").textContent().split(" / ")[1]);
        assertThat(page.evaluate("() => document.querySelector('#counter').classList.contains('over')")).isEqualTo(false);
        assertThat(page.locator("#send").isDisabled()).isFalse();
        page.fill("#text", "弹".repeat(max + 1)); // one over (one UTF-16 unit each: within the input's maxlength)
        page.waitForFunction("() => document.querySelector('#counter').classList.contains('over')", null, WAIT);
        assertThat(page.locator("#counter").textContent()).isEqualTo((max + 1) + " / " + max);
        assertThat(page.locator("#send").isDisabled()).isTrue();
    }

    @Test
    void theViewerCountShowsOnThePlayerAndTheDashboard() {
        String room = Cluster.room("browser-viewers");
        Page player = chromium.open("http://localhost:" + cluster.portA() + "/live.html?room=" + room);
        Page dashboard = chromium.open("http://localhost:" + cluster.portA() + "/streamer.html?room=" + room,
                "streamer:" + room, SignIn.dev(cluster.portA(), "Lee", "streamer", List.of(room)));
        // presence goes gateway -> Kafka -> aggregator, which then sends the count in joined/batch
        player.waitForFunction("() => /^[1-9]\\d* watching$/.test(document.querySelector('#viewers').textContent)",
                null, WAIT);
        dashboard.waitForFunction("() => /^[1-9]\\d*$/.test(document.querySelector('#viewers').textContent)",
                null, WAIT);
    }
}
