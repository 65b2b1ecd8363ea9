package dev.danmaku.standalone.browser;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.microsoft.playwright.Page;
import dev.danmaku.gateway.session.CloseCodes;
import dev.danmaku.gateway.session.GatewayWebSocketHandler;
import dev.danmaku.standalone.Cluster;
import dev.danmaku.standalone.WsClient;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The live player's life in the page, in real headless Chromium against the real cluster: a
 * hidden page keeps its connection and stops drawing; a page that goes away closes its
 * connection cleanly (1000) rather than leaving the browser to say 1001 or to drop it.
 *
 * <p>Headless Chromium never hides a page (no window to minimise or cover; CDP has no visibility
 * override, and {@code Page.setWebLifecycleState} freezes, which is another state), so the hidden
 * page is simulated as the browser would show it to scripts: {@code document.visibilityState} and
 * {@code document.hidden} overridden and a {@code visibilitychange} event dispatched. What the
 * browser itself would add when hiding (throttled timers and animation frames) is not simulated;
 * the page stops its own drawing without relying on it.
 */
class PageLifeBrowserTest {

    private static final Page.WaitForFunctionOptions WAIT = new Page.WaitForFunctionOptions().setTimeout(30_000);

    private static final String SET_VISIBILITY = """
            hidden => {
              Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => hidden ? 'hidden' : 'visible'});
              Object.defineProperty(document, 'hidden', {configurable: true, get: () => hidden});
              document.dispatchEvent(new Event('visibilitychange'));
            }""";

    @RegisterExtension
    static final Chromium chromium = new Chromium();
    private static Cluster cluster;

    @BeforeAll
    static void start() {
        cluster = Cluster.get();
    }

    private static GatewayWebSocketHandler gatewayA() {
        return cluster.gatewayA.getBean(GatewayWebSocketHandler.class);
    }

    private Page player(String room) {
        Page page = chromium.open("http://localhost:" + cluster.portA() + "/live.html?room=" + room);
        page.waitForFunction("() => window.danmaku && window.danmaku.client.state === 'open'"
                + " && window.danmaku.joined.length > 0", null, WAIT);
        return page;
    }

    private static void comment(WsClient sender, String room, String id) {
        sender.send("{\"type\":\"comment\",\"room\":\"" + room + "\",\"id\":\"" + id + "\",\"text\":\"" + id + "\"}");
        sender.awaitFrame(WsClient.type("ack", "id", id), Duration.ofSeconds(15));
    }

    private static long number(Page page, String expression) {
        return ((Number) page.evaluate("() => " + expression)).longValue();
    }

    @Test
    void aHiddenPageKeepsItsConnectionAndStopsDrawingThenCatchesUpWhenShown() {
        String room = Cluster.room("browser-hidden");
        Page page = player(room);
        assertThat(page.locator("#state").textContent()).isEqualTo("live");
        try (WsClient sender = WsClient.connect(cluster.portB(), "token=" + cluster.viewerToken("Hider"))) {
            comment(sender, room, "before-hiding");
            page.waitForFunction("() => window.danmaku.overlay.log.some(l => l.id === 'before-hiding')", null, WAIT);
            page.waitForFunction("() => document.querySelector('#chat li:last-child')?.textContent.endsWith('before-hiding')",
                    null, WAIT);

            page.evaluate(SET_VISIBILITY, true);
            long framesWhenHidden = number(page, "window.danmaku.frames");
            long offeredWhenHidden = number(page, "window.danmaku.overlay.stats.received");
            long connects = number(page, "window.danmaku.client.stats.connects");
            assertThat(page.evaluate("() => window.danmaku.client.hidden")).isEqualTo(true);

            // comments keep arriving over the same connection, but nothing is drawn or queued for drawing
            comment(sender, room, "while-hidden-1");
            comment(sender, room, "while-hidden-2");
            page.waitForFunction("() => window.danmaku.received.includes('while-hidden-2')", null, WAIT);
            assertThat(number(page, "window.danmaku.frames")).isEqualTo(framesWhenHidden);
            assertThat(number(page, "window.danmaku.overlay.stats.received")).isEqualTo(offeredWhenHidden);
            assertThat(number(page, "window.danmaku.overlay.stats.onScreen")).isZero();
            assertThat(number(page, "window.danmaku.client.stats.connects")).isEqualTo(connects);
            assertThat(page.evaluate("() => window.danmaku.client.state")).isEqualTo("open");
            assertThat(page.locator("#chat li").last().textContent()).doesNotContain("while-hidden");

            // shown again: drawing resumes, the chat list catches up, new comments are drawn
            page.evaluate(SET_VISIBILITY, false);
            page.waitForFunction("n => window.danmaku.frames > n", (int) framesWhenHidden, WAIT);
            page.waitForFunction("() => document.querySelector('#chat li:last-child').textContent.endsWith('while-hidden-2')",
                    null, WAIT);
            comment(sender, room, "after-showing");
            page.waitForFunction("() => window.danmaku.overlay.log.some(l => l.id === 'after-showing')", null, WAIT);
            assertThat(page.evaluate("() => window.danmaku.overlay.log.some(l => l.id.startsWith('while-hidden'))"))
                    .isEqualTo(false);
            assertThat(number(page, "window.danmaku.client.stats.connects")).isEqualTo(connects);
        }
    }

    @Test
    void leavingThePageClosesItsConnectionWith1000() {
        String room = Cluster.room("browser-pagehide");
        CloseCodes closes = gatewayA().closeCodes();
        Page page = player(room);
        long normal = closes.count("1000");
        long goingAway = closes.count("1001");
        long lost = closes.count("1006") + closes.count("none");
        int open = gatewayA().openConnections();

        page.navigate("about:blank"); // pagehide

        await().atMost(Duration.ofSeconds(20)).until(() -> closes.count("1000") > normal);
        await().atMost(Duration.ofSeconds(20)).until(() -> gatewayA().openConnections() < open);
        assertThat(closes.count("1000")).isEqualTo(normal + 1);
        assertThat(closes.count("1001")).isEqualTo(goingAway);
        assertThat(closes.count("1006") + closes.count("none")).isEqualTo(lost);
    }

    @Test
    void afterPagehideTheClientStaysClosed() {
        String room = Cluster.room("browser-pagehide-stays");
        Page page = player(room);
        long connects = number(page, "window.danmaku.client.stats.connects");

        // what the browser fires when the page goes away or into the back-forward cache
        page.evaluate("() => window.dispatchEvent(new PageTransitionEvent('pagehide', {persisted: true}))");

        assertThat(page.evaluate("() => window.danmaku.client._ws")).isNull();
        // the browser's onclose would have come within this, and a reconnect (1012's jitter, a backoff) too
        page.waitForFunction("() => new Promise(r => setTimeout(() => r(true), 1500))", null, WAIT);
        assertThat(number(page, "window.danmaku.client.stats.connects")).isEqualTo(connects);
        assertThat(number(page, "window.danmaku.client.stats.reconnects")).isZero();
        @SuppressWarnings("unchecked")
        List<Object> states = (List<Object>) page.evaluate("() => window.danmaku.states");
        assertThat(states).doesNotContain("reconnecting");

        // and coming back from the back-forward cache resumes the room
        page.evaluate("() => window.dispatchEvent(new PageTransitionEvent('pageshow', {persisted: true}))");
        page.waitForFunction("() => window.danmaku.client.state === 'open' && window.danmaku.joined.length === 2", null,
                WAIT);
    }
}
