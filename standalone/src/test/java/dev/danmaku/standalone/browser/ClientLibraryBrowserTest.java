package dev.danmaku.standalone.browser;

import static org.assertj.core.api.Assertions.assertThat;

import com.microsoft.playwright.Page;
import dev.danmaku.standalone.Cluster;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * danmaku-client.js' policies in real Chromium, against a scripted stand-in for the browser's
 * WebSocket (window.FakeSocket, installed before each case), so that each close code, each
 * missing pong and each send while disconnected can be produced on demand. The real gateway
 * only serves the module; the end-to-end behaviour is in {@link LivePlayerBrowserTest}.
 */
class ClientLibraryBrowserTest {

    private static Cluster cluster;
    @RegisterExtension
    static final Chromium chromium = new Chromium();
    private static Page page;

    /** A WebSocket stand-in: records what is sent, lets the test open, answer and close it. */
    private static final String FAKE = """
            () => {
              class FakeSocket {
                static CONNECTING = 0; static OPEN = 1; static CLOSING = 2; static CLOSED = 3;
                constructor(url, protocol) {
                  this.url = url; this.protocol = protocol; this.readyState = 0; this.sent = [];
                  FakeSocket.all.push(this);
                }
                send(data) { this.sent.push(JSON.parse(data)); }
                close(code, reason) { this.readyState = 3; this.closedWith = code; }
                // test side
                welcome(heartbeat = {interval: 25000, timeout: 60000}) {
                  this.readyState = 1;
                  this.onmessage({data: JSON.stringify({type: "welcome", conn: "c", user: {id: "u1", name: "A", role: "viewer"},
                    heartbeat, limits: {maxTextLength: 100, commentsPerSecond: 5}})});
                }
                frame(f) { this.onmessage({data: JSON.stringify(f)}); }
                drop(code, reason = "") { this.readyState = 3; this.onclose && this.onclose({code, reason}); }
              }
              FakeSocket.all = [];
              window.WebSocket = FakeSocket;
              window.FakeSocket = FakeSocket;
            }
            """;

    @BeforeAll
    static void start() {
        cluster = Cluster.get();
        page = chromium.open("http://localhost:" + cluster.portA() + "/");
    }

    @BeforeEach
    void fakeSocket() {
        page.evaluate(FAKE);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> run(String body) {
        return (Map<String, Object>) page.evaluate("async () => { const m = await import('/danmaku-client.js');"
                + " const wait = ms => new Promise(r => setTimeout(r, ms)); " + body + " }");
    }

    @Test
    void backoffIsFullJitterDoublingFromHalfASecondUpToThirtySeconds() {
        Map<String, Object> r = run("""
                const top = [0, 1, 2, 3, 6, 10, 40].map(a => m.backoffDelay(a, 500, 30000, () => 0.999999));
                const low = m.backoffDelay(5, 500, 30000, () => 0);
                return {top, low};
                """);
        assertThat((List<Object>) r.get("top")).containsExactly(499, 999, 1999, 3999, 29999, 29999, 29999);
        assertThat(r.get("low")).isEqualTo(0);
    }

    @Test
    void finalCloseCodesDoNotReconnect() {
        for (int code : new int[] {1000, 1008, 4001}) {
            Map<String, Object> r = run("""
                    const c = new m.DanmakuClient({lifecycle: false});
                    const states = []; c.on("state", s => states.push(s));
                    c.connect(); FakeSocket.all.at(-1).welcome();
                    FakeSocket.all.at(-1).drop(%d);
                    await wait(700);
                    return {sockets: FakeSocket.all.length, last: states.at(-1)};
                    """.formatted(code));
            assertThat(r.get("sockets")).as("close %d", code).isEqualTo(1);
            assertThat((Map<String, Object>) r.get("last")).containsEntry("state", "closed").containsEntry("code", code);
            page.evaluate(FAKE);
        }
    }

    @Test
    void restartReconnectsAtOnceWithJitterAndTooManyRequestsPausesLong() {
        Map<String, Object> r = run("""
                const c = new m.DanmakuClient({lifecycle: false});
                const states = []; c.on("state", s => states.push(s));
                c.connect(); FakeSocket.all.at(-1).welcome();
                FakeSocket.all.at(-1).drop(1012);
                const restart = states.at(-1);
                await wait(1100);
                const afterRestart = FakeSocket.all.length;
                FakeSocket.all.at(-1).welcome();
                FakeSocket.all.at(-1).drop(4029);
                const pause = states.at(-1);
                FakeSocket.all.at(-1).welcome; c.close();
                return {restart, afterRestart, pause};
                """);
        Map<String, Object> restart = (Map<String, Object>) r.get("restart");
        assertThat(restart).containsEntry("state", "reconnecting").containsEntry("code", 1012);
        assertThat(((Number) restart.get("delayMs")).intValue()).isBetween(0, 999);
        assertThat(r.get("afterRestart")).isEqualTo(2);
        Map<String, Object> pause = (Map<String, Object>) r.get("pause");
        assertThat(((Number) pause.get("delayMs")).intValue()).isGreaterThanOrEqualTo(60_000);
    }

    @Test
    void otherClosesBackOffFurtherEachTimeAndResumeEveryRoomWithItsLastSeq() {
        Map<String, Object> r = run("""
                const c = new m.DanmakuClient({lifecycle: false, random: () => 0.999, baseDelayMs: 20, maxDelayMs: 1000});
                const states = []; c.on("state", s => states.push(s));
                c.join("r1"); c.join("r2");
                c.connect(); FakeSocket.all.at(-1).welcome();
                const s1 = FakeSocket.all.at(-1);
                s1.frame({type: "joined", room: "r1", seq: 10, recovered: false});
                s1.frame({type: "joined", room: "r2", seq: -1, recovered: false});
                s1.frame({type: "batch", room: "r1", seq: 12, ts: 1, comments: []});
                const batches = []; c.on("batch", b => batches.push(b.seq));
                s1.drop(1006);
                const d1 = states.at(-1).delayMs;
                await wait(60);
                FakeSocket.all.at(-1).drop(1006);   // failed again before welcome
                const d2 = states.at(-1).delayMs;
                await wait(80);
                const s3 = FakeSocket.all.at(-1);
                s3.welcome();
                const joins = s3.sent.filter(f => f.type === "join");
                s3.frame({type: "joined", room: "r1", seq: 15, recovered: true});
                s3.frame({type: "batch", room: "r1", seq: 12, ts: 1, comments: []});  // already seen
                s3.frame({type: "batch", room: "r1", seq: 14, ts: 1, comments: []});
                s3.frame({type: "batch", room: "r1", seq: 15, ts: 1, comments: []});
                c.close();
                return {d1, d2, joins, batches, lastSeq: c.lastSeq("r1")};
                """);
        assertThat(((Number) r.get("d1")).intValue()).isEqualTo(19);
        assertThat(((Number) r.get("d2")).intValue()).isEqualTo(39);
        assertThat((List<Object>) r.get("joins")).containsExactly(
                Map.of("type", "join", "room", "r1", "since", 12),
                Map.of("type", "join", "room", "r2", "since", -1));
        assertThat((List<Object>) r.get("batches")).containsExactly(14, 15);
        assertThat(r.get("lastSeq")).isEqualTo(15);
    }

    @Test
    void sendsWhileDisconnectedAreQueuedBoundedAndResentWithTheSameIds() {
        Map<String, Object> r = run("""
                const c = new m.DanmakuClient({lifecycle: false, queueLimit: 3, random: () => 0, baseDelayMs: 10});
                c.join("r1");
                c.connect(); FakeSocket.all.at(-1).welcome();
                const s1 = FakeSocket.all.at(-1);
                const first = c.comment("r1", "sent, never acked");
                s1.drop(1006);
                const second = c.comment("r1", "typed while offline");
                c.like("r1", 3);
                let rejected = null;
                c.comment("r1", "one too many").catch(e => rejected = e.code);
                await wait(30);
                const s2 = FakeSocket.all.at(-1);
                s2.welcome();
                const resent = s2.sent.filter(f => f.type !== "join");
                s2.frame({type: "ack", id: first.id});
                s2.frame({type: "ack", id: second.id});
                const acks = await Promise.all([first, second]);
                c.close();
                return {firstId: first.id, secondId: second.id, resent, rejected, acks: acks.map(a => a.id)};
                """);
        List<Map<String, Object>> resent = (List<Map<String, Object>>) r.get("resent");
        assertThat(resent).extracting(f -> f.get("type")).containsExactly("comment", "comment", "like");
        assertThat(resent.get(0)).containsEntry("id", r.get("firstId"));
        assertThat(resent.get(1)).containsEntry("id", r.get("secondId"));
        assertThat(r.get("rejected")).isEqualTo("queue_full");
        assertThat((List<Object>) r.get("acks")).containsExactly(r.get("firstId"), r.get("secondId"));
    }

    @Test
    void aConnectionWhosePingsGoUnansweredIsDeclaredDeadAndReplaced() {
        Map<String, Object> r = run("""
                const c = new m.DanmakuClient({lifecycle: false, random: () => 0});
                const states = []; c.on("state", s => states.push(s));
                c.connect(); FakeSocket.all.at(-1).welcome({interval: 50, timeout: 200});
                const s1 = FakeSocket.all.at(-1);
                await wait(500);
                const pings = s1.sent.filter(f => f.type === "ping").length;
                const closed = s1.closedWith;
                const reconnecting = states.find(s => s.state === "reconnecting");
                c.close();
                return {pings, closed, reconnecting, dead: c.stats.deadDetected};
                """);
        assertThat(((Number) r.get("pings")).intValue()).isPositive();
        assertThat(r.get("closed")).isEqualTo(4000);
        assertThat((Map<String, Object>) r.get("reconnecting")).containsEntry("code", 4000);
        assertThat(r.get("dead")).isEqualTo(1);
    }

    @Test
    void answeredPingsKeepTheConnection() {
        Map<String, Object> r = run("""
                const c = new m.DanmakuClient({lifecycle: false});
                c.connect(); const s = FakeSocket.all.at(-1);
                s.welcome({interval: 50, timeout: 200});
                const send = s.send.bind(s);
                s.send = data => { send(data); const f = JSON.parse(data);
                  if (f.type === "ping") setTimeout(() => s.frame({type: "pong", ts: f.ts, serverTs: Date.now()}), 5); };
                await wait(600);
                const result = {state: c.state, dead: c.stats.deadDetected, sockets: FakeSocket.all.length};
                c.close();
                return result;
                """);
        assertThat(r).containsEntry("state", "open").containsEntry("dead", 0).containsEntry("sockets", 1);
    }

    @Test
    @SuppressWarnings("unchecked")
    void thePagesStateLineCountsDownToTheNextAttempt() {
        // the page's clock is held still and moved by hand, so the countdown's text does not
        // depend on how fast this machine runs the page's timers
        Map<String, Object> r = (Map<String, Object>) page.evaluate("""
                async () => {
                  const m = await import('/danmaku-client.js');
                  const {stateLine} = await import('/pages.js');
                  const realNow = Date.now;
                  let now = realNow();
                  Date.now = () => now;
                  try {
                    const changed = async from => {
                      for (let i = 0; i < 200 && line.textContent === from; i++) await new Promise(r => setTimeout(r, 50));
                      return line.textContent;
                    };
                    const line = document.createElement('span');
                    const c = new m.DanmakuClient({lifecycle: false, random: () => 0.999, baseDelayMs: 60000, maxDelayMs: 60000});
                    stateLine(line, c);
                    const seen = [line.textContent];
                    c.connect(); seen.push(line.textContent);
                    FakeSocket.all.at(-1).welcome(); seen.push(line.textContent);
                    FakeSocket.all.at(-1).drop(1006); seen.push(line.textContent);
                    now += 1000;
                    seen.push(await changed(seen.at(-1)));
                    const state = line.dataset.state, title = line.title;
                    c.close(); seen.push(line.textContent);
                    return {seen, state, title};
                  } finally {
                    Date.now = realNow;
                  }
                }""");
        // a retry 59.94 s away shows "in 60 s" (rounded up: never "in 0 s"), a second later "in 59 s"
        assertThat((List<Object>) r.get("seen")).containsExactly("not connected", "connecting…", "live",
                "reconnecting in 60 s", "reconnecting in 59 s", "disconnected");
        assertThat(r.get("state")).isEqualTo("reconnecting");
        assertThat((String) r.get("title")).startsWith("last close code 1006");
    }
}
