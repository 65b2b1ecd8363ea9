package dev.danmaku.standalone.browser;

import static org.assertj.core.api.Assertions.assertThat;

import com.microsoft.playwright.Page;
import dev.danmaku.standalone.Cluster;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The start page: live rooms (or, without GET /api/rooms, a room-name input) and the dev sign-in. */
class IndexPageBrowserTest {

    private static final Page.WaitForFunctionOptions WAIT = new Page.WaitForFunctionOptions().setTimeout(30_000);
    private static Cluster cluster;
    @RegisterExtension
    static final Chromium chromium = new Chromium();

    @BeforeAll
    static void start() {
        cluster = Cluster.get();
    }

    @Test
    void listsTheLiveRoomsOrFallsBackToARoomNameWhenTheGatewayHasNoList() {
        String room = Cluster.room("browser-index");
        Page player = chromium.open("http://localhost:" + cluster.portA() + "/live.html?room=" + room, "viewer",
                SignIn.dev(cluster.portA(), "Heidi", "viewer", java.util.List.of()));
        player.waitForFunction("() => window.danmaku && window.danmaku.joined.length > 0", null, WAIT);
        // a room is listed once it has state: something happened in it
        player.fill("#text", "anyone here?");
        player.click("#send");
        player.waitForFunction("() => window.danmaku.received.length > 0", null, WAIT);
        Page index = chromium.open("http://localhost:" + cluster.portA() + "/");

        index.waitForFunction("() => document.querySelector('#live').dataset.listing", null, WAIT);
        if ("ok".equals(index.locator("#live").getAttribute("data-listing"))) {
            // GET /api/rooms answers: the room being watched is listed, with links to its pages
            index.waitForFunction("r => [...document.querySelectorAll('#rooms .name')].some(e => e.textContent === r)",
                    room, WAIT);
            assertThat(index.locator("#rooms a[href='/live.html?room=" + room + "']").count()).isEqualTo(1);
        } else {
            // no room list on this gateway (404): the page says so and the room-name input works
            assertThat(index.locator("#rooms-note").textContent()).contains("open one by name");
            index.fill("#room", room);
            index.click("#open-form button[value=live]");
            index.waitForURL("**/live.html?room=" + room);
        }
    }

    @Test
    void theDevSignInGivesATokenThatThePlayerUses() {
        Page index = chromium.open("http://localhost:" + cluster.portA() + "/");
        index.fill("#name", "Grace");
        index.click("#token-form button");
        index.waitForFunction("() => document.querySelector('#token-note').textContent.startsWith('Signed in as Grace')",
                null, WAIT);

        index.navigate("http://localhost:" + cluster.portA() + "/live.html?room=" + Cluster.room("browser-signin"));
        index.waitForFunction("() => window.danmaku && window.danmaku.client.user"
                + " && window.danmaku.client.user.name === 'Grace'", null, WAIT);
        assertThat(index.locator("#who").textContent()).startsWith("Grace");
    }
}
