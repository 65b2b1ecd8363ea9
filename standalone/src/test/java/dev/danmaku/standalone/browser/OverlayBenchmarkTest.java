package dev.danmaku.standalone.browser;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonObject;
import com.microsoft.playwright.CDPSession;
import com.microsoft.playwright.Page;
import dev.danmaku.standalone.Cluster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Runs the live player's page-side harness ({@code /live.html?bench=200}: 200 comments a second
 * fed through the page's own batch path, frames counted with requestAnimationFrame) and writes
 * the figures to {@code target/overlay-benchmark.txt}. It records the speed and checks that the
 * harness ran; it asserts no speed (a busy CI machine must not fail it). A benchmark, not a
 * test: it runs only when asked for, with {@code -Ddanmaku.bench=true}.
 */
@EnabledIfSystemProperty(named = "danmaku.bench", matches = "true")
class OverlayBenchmarkTest {

    private static Cluster cluster;
    private static Chromium chromium;

    @BeforeAll
    static void start() {
        cluster = Cluster.get();
        chromium = new Chromium();
    }

    @AfterAll
    static void stop() {
        chromium.close();
    }

    /** The renderer main thread's busy time so far (CDP Performance.getMetrics TaskDuration). */
    private static double mainThreadBusySeconds(CDPSession cdp) {
        JsonObject metrics = cdp.send("Performance.getMetrics");
        for (var metric : metrics.getAsJsonArray("metrics")) {
            JsonObject m = metric.getAsJsonObject();
            if (m.get("name").getAsString().equals("TaskDuration")) {
                return m.get("value").getAsDouble();
            }
        }
        return 0;
    }

    @Test
    void harnessFeeds200CommentsASecondAndCountsFrames() throws IOException {
        StringBuilder report = new StringBuilder();
        report.append("load average before: ").append(Files.readString(Path.of("/proc/loadavg")).strip()).append('\n');
        for (String run : new String[] {"0:normal", "200:normal", "200:high"}) {
            String rate = run.split(":")[0];
            String density = run.split(":")[1];
            Page page = chromium.open("http://localhost:" + cluster.portA() + "/live.html?room="
                    + Cluster.room("bench") + "&bench=" + rate + "&seconds=10",
                    "localStorage.setItem('danmaku.density', " + Chromium.js(density) + ");");
            CDPSession cdp = page.context().newCDPSession(page);
            cdp.send("Performance.enable");
            double busyBefore = mainThreadBusySeconds(cdp);
            page.waitForFunction("() => window.danmaku && window.danmaku.bench && window.danmaku.bench.done", null,
                    new Page.WaitForFunctionOptions().setTimeout(90_000).setPollingInterval(500));
            double busy = mainThreadBusySeconds(cdp) - busyBefore;
            @SuppressWarnings("unchecked")
            Map<String, Object> bench = (Map<String, Object>) page.evaluate("() => window.danmaku.bench");
            double elapsed = 12 + ((Number) bench.get("seconds")).doubleValue() - 10; // warm-up included
            report.append(rate).append("/s, ").append(density).append(": ").append(bench)
                    .append(String.format(" mainThreadBusy=%.0f%%", 100 * busy / elapsed)).append('\n');
            if (run.equals("200:high")) {
                Chromium.screenshot(page, "live-player-200-per-second");
            }
            assertThat(((Number) bench.get("frames")).intValue()).isPositive();
            if (!rate.equals("0")) {
                assertThat(((Number) bench.get("shownPerSecond")).doubleValue()).isPositive();
            }
            assertThat(bench.get("density")).isEqualTo(density);
        }
        report.append("load average after: ").append(Files.readString(Path.of("/proc/loadavg")).strip()).append('\n');
        Path out = Path.of("target", "overlay-benchmark.txt");
        Files.writeString(out, report);
        System.out.println("overlay benchmark:\n" + report);
    }
}
