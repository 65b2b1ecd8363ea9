package dev.danmaku.standalone.browser;

import static org.assertj.core.api.Assertions.assertThat;

import com.microsoft.playwright.Page;
import dev.danmaku.standalone.Cluster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Runs the live player's page-side harness ({@code /live.html?bench=200}: 200 comments a second
 * fed through the page's own batch path, frames counted with requestAnimationFrame) and writes
 * the figures to {@code target/overlay-benchmark.txt}, each beside a same-run baseline: an empty
 * page that only counts frames, before and after (the machine is shared, so absolute figures
 * move with its load). Besides frames a second it records the CPU time the browser's processes
 * (renderer, compositor, browser) spent per frame, which moves less with the load. It asserts no
 * speed (a busy CI machine must not fail it): a benchmark, not a test, run only when asked for
 * with {@code -Ddanmaku.bench=true}.
 */
@EnabledIfSystemProperty(named = "danmaku.bench", matches = "true")
class OverlayBenchmarkTest {

    /** An empty page's frame counter, with the harness' warm-up and result shape. */
    private static final String EMPTY_PAGE = """
            (seconds) => new Promise(done => {
              const warmup = 2000, start = performance.now(); let frames = 0, last = 0; const gaps = [];
              function count(now) {
                const t = now - start;
                if (t >= warmup) { if (frames) gaps.push(now - last); frames++; last = now; }
                if (t < warmup + seconds * 1000) { requestAnimationFrame(count); return; }
                gaps.sort((a, b) => a - b);
                const measured = (now - start - warmup) / 1000;
                done({frames, seconds: measured, fps: frames / measured, p95FrameMs: gaps[Math.floor(gaps.length * .95)] || 0});
              }
              requestAnimationFrame(count);
            })""";

    private static final int SECONDS = 10;

    @RegisterExtension
    static final Chromium chromium = new Chromium();
    private static Cluster cluster;

    @BeforeAll
    static void start() {
        cluster = Cluster.get();
    }

    /** CPU time so far of this JVM's Chromium processes (Playwright's driver runs them as descendants). */
    private static Duration browserCpu() {
        return ProcessHandle.current().descendants()
                .filter(p -> p.info().command().map(c -> c.contains("chromium")).orElse(false))
                .map(p -> p.info().totalCpuDuration().orElse(Duration.ZERO))
                .reduce(Duration.ZERO, Duration::plus);
    }

    private static String figures(Map<String, Object> bench, Duration cpu, double baselineFps) {
        double fps = ((Number) bench.get("fps")).doubleValue();
        int frames = ((Number) bench.get("frames")).intValue();
        return String.format("fps=%.1f (%.0f%% of the empty page's %.1f) p95FrameMs=%.1f browserCpuMsPerFrame=%.1f",
                fps, 100 * fps / baselineFps, baselineFps, ((Number) bench.get("p95FrameMs")).doubleValue(),
                cpu.toNanos() / 1e6 / Math.max(1, frames));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> emptyPage(StringBuilder report, String label) {
        Page page = chromium.open("about:blank");
        Duration before = browserCpu();
        Map<String, Object> bench = (Map<String, Object>) page.evaluate(EMPTY_PAGE, SECONDS);
        Duration cpu = browserCpu().minus(before);
        report.append(label).append(": ").append(figures(bench, cpu, ((Number) bench.get("fps")).doubleValue()))
                .append('\n');
        page.context().close();
        return bench;
    }

    @Test
    void harnessFeeds200CommentsASecondAndCountsFrames() throws IOException {
        StringBuilder report = new StringBuilder();
        report.append("load average before: ").append(Files.readString(Path.of("/proc/loadavg")).strip()).append('\n');
        double baseline = ((Number) emptyPage(report, "empty page (baseline)").get("fps")).doubleValue();
        for (String run : new String[] {"0:normal", "200:normal", "200:high", "200:all"}) {
            String rate = run.split(":")[0];
            String density = run.split(":")[1];
            Page page = chromium.open("http://localhost:" + cluster.portA() + "/live.html?room="
                    + Cluster.room("bench") + "&bench=" + rate + "&seconds=" + SECONDS,
                    "localStorage.setItem('danmaku.density', " + Chromium.js(density) + ");");
            page.waitForFunction("() => window.danmaku && window.danmaku.benchStarted", null,
                    new Page.WaitForFunctionOptions().setTimeout(60_000).setPollingInterval(50));
            Duration before = browserCpu(); // after the warm-up, as the frame count
            page.waitForFunction("() => window.danmaku && window.danmaku.bench && window.danmaku.bench.done", null,
                    new Page.WaitForFunctionOptions().setTimeout(90_000).setPollingInterval(500));
            Duration cpu = browserCpu().minus(before);
            @SuppressWarnings("unchecked")
            Map<String, Object> bench = (Map<String, Object>) page.evaluate("() => window.danmaku.bench");
            if (density.equals("all")) {
                // the figure is honest only if every comment was drawn: the feed has stopped, so once
                // the last ones are drawn, drawn equals received, and nothing was dropped
                page.waitForFunction("() => window.danmaku.overlay.pending.length === 0", null,
                        new Page.WaitForFunctionOptions().setTimeout(30_000).setPollingInterval(100));
                @SuppressWarnings("unchecked")
                Map<String, Object> stats = (Map<String, Object>) page.evaluate("() => window.danmaku.overlay.stats");
                report.append("  overlay totals: ").append(stats).append('\n');
                assertThat(((Number) stats.get("received")).longValue()).isGreaterThan(SECONDS * 150L);
                assertThat(((Number) stats.get("drawn")).longValue()).isEqualTo(((Number) stats.get("received")).longValue());
                assertThat(((Number) stats.get("dropped")).longValue()).isZero();
            }
            report.append(rate).append("/s, ").append(density).append(": ").append(figures(bench, cpu, baseline))
                    .append(' ').append(bench).append('\n');
            if (run.equals("200:high")) {
                Chromium.screenshot(page, "live-player-200-per-second");
            }
            if (run.equals("200:all")) {
                Chromium.screenshot(page, "live-player-200-per-second-all");
            }
            page.context().close();
            assertThat(((Number) bench.get("frames")).intValue()).isPositive();
            if (!rate.equals("0")) {
                assertThat(((Number) bench.get("shownPerSecond")).doubleValue()).isPositive();
            }
            assertThat(bench.get("density")).isEqualTo(density);
        }
        emptyPage(report, "empty page (baseline, again)");
        report.append("load average after: ").append(Files.readString(Path.of("/proc/loadavg")).strip()).append('\n');
        Path out = Path.of("target", "overlay-benchmark.txt");
        Files.writeString(out, report);
        System.out.println("overlay benchmark:\n" + report);
    }
}
