package dev.danmaku.standalone.browser;

import static org.assertj.core.api.Assertions.assertThat;

import com.microsoft.playwright.Page;
import dev.danmaku.standalone.Cluster;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The streamer's dashboard in real headless Chromium, fed by a player page in the same room. */
class StreamerDashboardBrowserTest {

    private static final Page.WaitForFunctionOptions WAIT = new Page.WaitForFunctionOptions().setTimeout(30_000);
    private static Cluster cluster;
    @RegisterExtension
    static final Chromium chromium = new Chromium();

    @BeforeAll
    static void start() {
        cluster = Cluster.get();
    }

    private Page page(String path, String room, String key, SignIn who) {
        Page page = chromium.open("http://localhost:" + cluster.portA() + path + "?room=" + room, key, who);
        page.waitForFunction("() => window.danmaku && window.danmaku.client.state === 'open'", null, WAIT);
        return page;
    }

    private Page dashboard(String room, SignIn who) {
        return page("/streamer.html", room, "streamer:" + room, who);
    }

    private Page player(String room, SignIn who) {
        Page page = page("/live.html", room, "viewer", who);
        page.waitForFunction("() => window.danmaku.joined.length > 0", null, WAIT);
        return page;
    }

    @Test
    void commentsAndLikesFromThePlayerShowOnTheDashboardLive() {
        String room = Cluster.room("browser-dashboard");
        Page dashboard = dashboard(room, SignIn.dev(cluster.portA(), "Streamer", "streamer", List.of(room)));
        Page player = player(room, SignIn.dev(cluster.portA(), "Carol", "viewer", List.of()));

        player.fill("#text", "hi streamer");
        player.click("#send");
        player.evaluate("() => { const c = window.danmaku.client, like = c.like.bind(c);"
                + " window.likesSent = []; c.like = (room, n) => { window.likesSent.push(n); like(room, n); }; }");
        // three taps in one go (within the page's half-second window, however slow the machine),
        // sent as one like of 3
        player.evaluate("() => { for (let i = 0; i < 3; i++) document.querySelector('#like').click(); }");
        player.waitForFunction("() => window.likesSent.length > 0", null, WAIT);

        dashboard.waitForFunction("() => [...document.querySelectorAll('#comments li .text')]"
                + ".some(e => e.textContent === 'hi streamer')", null, WAIT);
        dashboard.waitForFunction("() => document.querySelector('#likes').textContent === '3'", null, WAIT);
        // the chart draws complete seconds: wait until it has drawn the comment and the likes
        dashboard.waitForFunction("() => window.danmaku.chartShows && window.danmaku.chartShows.comments === 1"
                + " && window.danmaku.chartShows.likes === 3", null, WAIT);
        assertThat(dashboard.locator("#comments li .who").last().textContent()).isEqualTo("Carol");
        assertThat(player.evaluate("() => window.likesSent")).isEqualTo(List.of(3));
        Chromium.screenshot(dashboard, "streamer-dashboard");
    }

    @Test
    void onlyTheRoomsStreamerMayMuteFromTheCommentList() {
        String room = Cluster.room("browser-mute");
        Page notTheStreamer = dashboard(room, SignIn.dev(cluster.portA(), "Dave", "viewer", List.of()));
        Page streamer = dashboard(room, SignIn.dev(cluster.portA(), "Erin", "streamer", List.of(room)));
        Page player = player(room, SignIn.dev(cluster.portA(), "Troll", "viewer", List.of()));
        player.fill("#text", "spam spam spam");
        player.click("#send");
        for (Page page : List.of(notTheStreamer, streamer)) {
            page.waitForSelector("#comments li button");
            page.click("#comments li button");
        }

        notTheStreamer.waitForFunction("() => document.querySelector('#mod-answer').textContent"
                + ".includes('Only this room')", null, WAIT);
        streamer.waitForFunction("() => document.querySelector('#mod-answer').textContent === 'Muted Troll for 10 minutes.'",
                null, WAIT);

        // the muted viewer is told so on the page (once the mute reached the gateway's room state)
        player.waitForFunction("""
                () => {
                  if (window.danmaku.answers.includes('You are muted in this room.')) return true;
                  document.querySelector('#text').value = 'let me speak';
                  document.querySelector('#send-form').requestSubmit();
                  return false;
                }""", null, new Page.WaitForFunctionOptions().setTimeout(30_000).setPollingInterval(1_000));
    }

    @Test
    void theStreamerSetsSlowModeFromTheDashboard() {
        String room = Cluster.room("browser-slow");
        Page notTheStreamer = dashboard(room, SignIn.dev(cluster.portA(), "Gus", "viewer", List.of()));
        notTheStreamer.selectOption("#slow-seconds", "60");
        notTheStreamer.click("#slow-set");
        notTheStreamer.waitForFunction("() => document.querySelector('#mod-answer').textContent"
                + " === \"Only this room's streamer may set slow mode.\"", null, WAIT);

        Page streamer = dashboard(room, SignIn.dev(cluster.portA(), "Hana", "streamer", List.of(room)));
        Page player = player(room, SignIn.dev(cluster.portA(), "Ivy", "viewer", List.of()));
        streamer.selectOption("#slow-seconds", "60");
        streamer.click("#slow-set");
        assertThat(streamer.locator("#mod-answer").textContent()).isEqualTo("Slow mode: one comment every 60 s per viewer.");
        // the streamer's own comment (exempt), sent after slow_mode on the same connection: once
        // acked, the slow mode is on the room's ingress partition ahead of anything sent later
        streamer.evaluate("room => window.danmaku.client.comment(room, 'slow mode is on')", room);
        // three in a row: the test cluster allows bursts of 100, slow mode only the first
        for (int i = 1; i <= 3; i++) {
            player.evaluate("([room, text]) => window.danmaku.client.comment(room, text)", List.of(room, "viewer line " + i));
        }
        // behind the viewer's three on the partition: once it is shown, theirs were decided
        streamer.evaluate("room => window.danmaku.client.comment(room, 'that was all')", room);
        streamer.waitForFunction("() => [...document.querySelectorAll('#comments li .text')]"
                + ".some(e => e.textContent === 'that was all')", null, WAIT);
        assertThat(streamer.evaluate("() => [...document.querySelectorAll('#comments li .text')].map(e => e.textContent)"))
                .isEqualTo(List.of("slow mode is on", "viewer line 1", "that was all"));
    }

    @Test
    void aGiftSentFromThePlayerUpdatesTheDashboardsTotals() {
        String room = Cluster.room("browser-gift");
        Page dashboard = dashboard(room, SignIn.dev(cluster.portA(), "Streamer", "streamer", List.of(room)));
        Page player = player(room, SignIn.dev(cluster.portA(), "Frank", "viewer", List.of()));
        player.waitForSelector("#gifts button[data-gift=rocket]");

        player.click("#gifts button[data-gift=rocket]");
        player.click("#gifts button[data-gift=rose]");

        player.waitForFunction("() => document.querySelector('#answer').textContent.includes('sent')", null, WAIT);
        dashboard.waitForFunction("() => document.querySelector('#gift-value').dataset.value === '1010'", null, WAIT);
        assertThat(dashboard.locator("#gifts tr[data-gift=rocket] td").nth(1).textContent()).isEqualTo("1");
        assertThat(dashboard.locator("#top li").first().textContent()).startsWith("Frank");
        Chromium.screenshot(dashboard, "streamer-dashboard-gifts");
    }
}
