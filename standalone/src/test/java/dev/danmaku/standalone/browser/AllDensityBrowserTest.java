package dev.danmaku.standalone.browser;

import static org.assertj.core.api.Assertions.assertThat;

import com.microsoft.playwright.Page;
import dev.danmaku.standalone.Cluster;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The overlay's "all" density in real headless Chromium: 40 comments a second for 5 s, five times
 * what the lanes hold without overlap, fed through the page's own batch path (the harness of
 * {@code /live.html?bench=N}, so that the rate does not depend on how fast a loaded machine runs
 * Kafka), are drawn in full: every comment sent is received and drawn, none dropped, each at the
 * first frame after it arrived (no waiting for a lane). At normal density most of them would wait
 * and be dropped.
 */
class AllDensityBrowserTest {

    private static final Page.WaitForFunctionOptions WAIT = new Page.WaitForFunctionOptions().setTimeout(90_000);
    private static Cluster cluster;
    @RegisterExtension
    static final Chromium chromium = new Chromium();

    @BeforeAll
    static void start() {
        cluster = Cluster.get();
    }

    @Test
    void everyCommentReceivedIsDrawnAtTheAllDensity() {
        // no density stored: the page's default, which is "all"
        Page page = chromium.open("http://localhost:" + cluster.portA() + "/live.html?room="
                + Cluster.room("browser-all-density") + "&bench=40&seconds=5");
        page.waitForFunction("() => window.danmaku && window.danmaku.bench && window.danmaku.bench.done", null, WAIT);
        assertThat(page.evaluate("() => window.danmaku.overlay.density")).isEqualTo("all");
        // the feed has stopped: wait for the last comments to be placed
        page.waitForFunction("() => window.danmaku.overlay.pending.length === 0", null, WAIT);

        int sent = ((Number) page.evaluate("() => window.danmaku.benchSent")).intValue();
        assertThat(sent).isGreaterThanOrEqualTo(40 * 5);
        @SuppressWarnings("unchecked")
        Map<String, Object> stats = (Map<String, Object>) page.evaluate("() => window.danmaku.overlay.stats");
        assertThat(((Number) stats.get("received")).intValue()).isEqualTo(sent);
        assertThat(((Number) stats.get("drawn")).intValue()).isEqualTo(sent);
        assertThat(((Number) stats.get("dropped")).intValue()).isZero();
        assertThat(((Number) stats.get("overlapped")).intValue()).isPositive(); // more than the free lanes held
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> log = (List<Map<String, Object>>) page.evaluate("() => window.danmaku.overlay.log");
        assertThat(log).hasSize(sent);
        // placed at the first frame after arriving: none waited for a lane to free up
        assertThat(log).extracting(l -> ((Number) l.get("waited")).intValue()).containsOnly(0);
        Chromium.screenshot(page, "live-player-all-density");
        page.context().close();
    }
}
