package dev.danmaku.standalone.browser;

import static org.assertj.core.api.Assertions.assertThat;

import com.microsoft.playwright.Page;
import com.microsoft.playwright.options.WaitForSelectorState;
import dev.danmaku.gateway.session.GatewayWebSocketHandler;
import dev.danmaku.protocol.CloseCode;
import dev.danmaku.standalone.Cluster;
import dev.danmaku.standalone.WsClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The live player in real headless Chromium against the real cluster (Kafka, aggregator, two
 * gateways): what one viewer types reaches another viewer's overlay, text stays text, and a
 * gateway restart (close 1012) loses and repeats nothing.
 */
class LivePlayerBrowserTest {

    private static final Page.WaitForFunctionOptions WAIT = new Page.WaitForFunctionOptions().setTimeout(30_000);
    private static Cluster cluster;
    @RegisterExtension
    static final Chromium chromium = new Chromium();

    @BeforeAll
    static void start() {
        cluster = Cluster.get();
    }

    private Page player(String room, SignIn who) {
        String url = "http://localhost:" + cluster.portA() + "/live.html?room=" + room;
        Page page = who == null ? chromium.open(url) : chromium.open(url, "viewer", who);
        awaitLive(page);
        return page;
    }

    private static void awaitLive(Page page) {
        page.waitForFunction("() => window.danmaku && window.danmaku.client.state === 'open'"
                + " && window.danmaku.joined.length > 0", null, WAIT);
    }

    private static void say(Page page, String text) {
        page.fill("#text", text);
        page.click("#send");
    }

    @Test
    void commentTypedInOnePageIsDrawnInTheOtherPagesOverlay() {
        String room = Cluster.room("browser-two-pages");
        SignIn alice = SignIn.dev(cluster.portA(), "Alice", "viewer", List.of());
        SignIn bob = SignIn.dev(cluster.portA(), "Bob", "viewer", List.of());
        Page alicePage = player(room, alice);
        Page bobPage = player(room, bob);

        say(alicePage, "hello from Alice 233");

        bobPage.waitForFunction("() => window.danmaku.overlay.log.some(l => l.text === 'hello from Alice 233' && !l.own)",
                null, WAIT);
        // Alice sees her own comment outlined; Bob's chat names her
        alicePage.waitForFunction("() => window.danmaku.overlay.log.some(l => l.text === 'hello from Alice 233' && l.own)",
                null, WAIT);
        assertThat(bobPage.locator("#chat li").last().textContent()).isEqualTo("Alicehello from Alice 233");
        alicePage.waitForSelector("#answer.ok");

        say(bobPage, "top comment from Bob");
        bobPage.evaluate("() => document.querySelector('#mode').value = 'top'");
        say(bobPage, "pinned at the top");
        alicePage.waitForFunction("() => window.danmaku.overlay.log.some(l => l.text === 'pinned at the top' && l.mode === 'top')",
                null, WAIT);
        Chromium.screenshot(alicePage, "live-player");
    }

    @Test
    void theServersRateLimitShowsACountdownAndBlocksSendingUntilItEnds() {
        String room = Cluster.room("browser-rate");
        Page page = player(room, SignIn.dev(cluster.portA(), "Hasty", "viewer", List.of()));

        // twenty sends at once: the burst is ten, so several are refused even if the page is slow
        // enough for a token or two to come back meanwhile (and fewer than the 20 refusals that
        // close a connection with 4029)
        page.evaluate("""
                () => { for (let i = 0; i < 20; i++) {
                  document.querySelector('#text').value = 'quick ' + i;
                  document.querySelector('#send-form').requestSubmit(); } }""");

        // the countdown (as long as the server's retryAfterMs) is shown, then sending works again
        page.waitForFunction("() => window.danmaku.answers.some(a => a.startsWith('Too fast: wait'))", null, WAIT);
        page.fill("#text", "and one more");
        page.waitForFunction("() => !document.querySelector('#send').disabled", null, WAIT);
        page.click("#send");
        // every send was either refused (one countdown each) or broadcast: the twenty and the one after
        page.waitForFunction("() => window.danmaku.received.includes(window.danmaku.lastSent)", null, WAIT);
        int refused = ((Number) page.evaluate(
                "() => window.danmaku.answers.filter(a => a.startsWith('Too fast')).length")).intValue();
        assertThat(refused).isPositive();
        page.waitForFunction("n => window.danmaku.received.length >= n", 21 - refused, WAIT);
        assertThat(page.evaluate("() => window.danmaku.received.length")).isEqualTo(21 - refused);
    }

    @Test
    void aRefusedTokenIsForgottenAndThePageKeepsWatchingAnonymously() {
        String room = Cluster.room("browser-bad-token");
        SignIn real = SignIn.dev(cluster.portA(), "Ivan", "viewer", List.of());
        // the same claims, signed with another key: the gateway refuses the handshake with 401
        String[] parts = real.token().split("\\.");
        SignIn forged = new SignIn(parts[0] + "." + parts[1] + ".c2lnbmVkLWJ5LXNvbWVvbmUtZWxzZQ", real.userJson(),
                real.userId());
        Page page = chromium.open("http://localhost:" + cluster.portA() + "/live.html?room=" + room, "viewer", forged);

        awaitLive(page);
        assertThat(page.evaluate("() => window.danmaku.client.user.name")).isEqualTo("anonymous");
        assertThat(page.evaluate("() => localStorage.getItem('danmaku.token.viewer')")).isNull();
        assertThat(page.locator("#answer").textContent()).contains("sign in again");
        assertThat(page.locator("#sign-in").isVisible()).isTrue();
    }

    @Test
    void htmlInACommentIsShownAsText() {
        String room = Cluster.room("browser-xss");
        SignIn mallory = SignIn.dev(cluster.portA(), "Mallory", "viewer", List.of());
        Page sender = player(room, mallory);
        Page viewer = player(room, null);
        AtomicBoolean dialog = new AtomicBoolean();
        viewer.onDialog(d -> {
            dialog.set(true);
            d.dismiss();
        });
        String evil = "<img src=x onerror=alert(1)>";

        say(sender, evil);

        viewer.waitForFunction("t => window.danmaku.overlay.log.some(l => l.text === t)", evil, WAIT);
        viewer.locator("#chat li").last().waitFor(new com.microsoft.playwright.Locator.WaitForOptions()
                .setState(WaitForSelectorState.ATTACHED));
        assertThat(viewer.locator("#chat li").last().textContent()).isEqualTo("Mallory" + evil);
        assertThat(viewer.locator("img").count()).isZero();
        assertThat(sender.locator("img").count()).isZero();
        assertThat(dialog).isFalse();
    }

    @Test
    void afterAGatewayRestartCloseThePageReconnectsAndResumesWithoutGapsOrDuplicates() {
        String room = Cluster.room("browser-1012");
        Page viewer = player(room, null); // on gateway A
        List<String> sent = new ArrayList<>();
        // senders on gateway B, three of them so that 30 comments stay within each one's burst
        List<WsClient> senders = new ArrayList<>();
        for (int s = 0; s < 3; s++) {
            senders.add(WsClient.connect(cluster.portB(), "token=" + cluster.viewerToken("Sender" + s)));
        }
        try {
            for (int i = 0; i < 30; i++) {
                if (i == 15) {
                    viewer.waitForFunction("() => window.danmaku.received.length >= 15", null, WAIT);
                    // gateway A drains: every connection on it is told 1012 (service restart)
                    cluster.gatewayA.getBean(GatewayWebSocketHandler.class)
                            .closeAll(CloseCode.SERVICE_RESTART, Duration.ofSeconds(2)).block(Duration.ofSeconds(5));
                }
                String id = "r-" + i;
                WsClient sender = senders.get(i % 3);
                sender.send("{\"type\":\"comment\",\"room\":\"" + room + "\",\"id\":\"" + id
                        + "\",\"text\":\"number " + i + "\"}");
                sender.awaitFrame(WsClient.type("ack", "id", id), Duration.ofSeconds(15));
                sent.add(id);
            }
        } finally {
            senders.forEach(WsClient::close);
        }

        viewer.waitForFunction("n => window.danmaku.received.filter(id => id.startsWith('r-')).length >= n",
                sent.size(), WAIT);
        @SuppressWarnings("unchecked")
        List<String> received = ((List<Object>) viewer.evaluate(
                "() => window.danmaku.received.filter(id => id.startsWith('r-'))")).stream().map(String::valueOf).toList();
        assertThat(received).containsExactlyElementsOf(sent); // all, once each, in order
        assertThat(new HashSet<>(received)).hasSameSizeAs(received);
        @SuppressWarnings("unchecked")
        List<Object> states = (List<Object>) viewer.evaluate("() => window.danmaku.states");
        assertThat(states).contains("reconnecting");
        assertThat(viewer.evaluate("() => window.danmaku.joined.length")).isEqualTo(2);
        assertThat(viewer.evaluate("() => window.danmaku.joined[1].recovered")).isEqualTo(true);
        assertThat(viewer.evaluate("() => window.danmaku.client.state")).isEqualTo("open");
    }

    @Test
    void giftsInARowShowOneBannerThatCountsTheCombo() {
        String room = Cluster.room("browser-combo");
        Page giver = player(room, SignIn.dev(cluster.portA(), "Gina", "viewer", List.of()));
        Page viewer = player(room, null);
        giver.waitForSelector("#gifts button[data-gift=rose]");

        // three taps in one go: well within the aggregator's 3 s combo window, however slow the machine
        giver.evaluate("() => { for (let i = 0; i < 3; i++) document.querySelector('#gifts button[data-gift=rose]').click(); }");

        viewer.waitForFunction("() => [...document.querySelectorAll('#banners .banner .combo')]"
                + ".some(e => e.textContent === 'combo ×3')", null, WAIT);
        assertThat(viewer.locator("#banners .banner").count()).isEqualTo(1); // one per user and gift, updated
        assertThat(viewer.locator("#banners .banner").first().textContent()).startsWith("Gina sent");
        Chromium.screenshot(viewer, "live-player-combo");
    }

    @Test
    void theDensitySettingIsKeptAndDecidesHowManyLanesScroll() {
        String room = Cluster.room("browser-density");
        Page page = player(room, null);
        assertThat(page.locator("#density").inputValue()).isEqualTo("all"); // the default
        int all = ((Number) page.evaluate("() => window.danmaku.overlay.scrollLanes")).intValue();

        page.selectOption("#density", "normal");
        int normal = ((Number) page.evaluate("() => window.danmaku.overlay.scrollLanes")).intValue();
        page.selectOption("#density", "low");
        int low = ((Number) page.evaluate("() => window.danmaku.overlay.scrollLanes")).intValue();
        page.selectOption("#density", "high");
        int high = ((Number) page.evaluate("() => window.danmaku.overlay.scrollLanes")).intValue();
        assertThat(low).isPositive().isLessThan(normal);
        assertThat(high).isGreaterThan(normal);
        assertThat(all).isGreaterThan(high); // the whole stage, in smaller text

        page.reload();
        awaitLive(page);
        assertThat(page.locator("#density").inputValue()).isEqualTo("high");
        assertThat(page.evaluate("() => window.danmaku.overlay.density")).isEqualTo("high");
    }
}
