package dev.danmaku.protocol.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.danmaku.protocol.ClientFrame;
import dev.danmaku.protocol.ErrorCode;
import dev.danmaku.protocol.Limits;
import dev.danmaku.protocol.Mode;
import dev.danmaku.protocol.ProtocolException;
import dev.danmaku.protocol.ServerFrame;
import dev.danmaku.protocol.User;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class JsonFrameCodecTest {

    private final JsonFrameCodec codec = new JsonFrameCodec(Limits.DEFAULTS);

    private ClientFrame decode(String json) {
        return codec.decode(json.getBytes(StandardCharsets.UTF_8));
    }

    private static void assertError(ThrowingCallable call, ErrorCode code) {
        assertThatThrownBy(call).isInstanceOfSatisfying(ProtocolException.class,
                e -> assertThat(e.code()).isEqualTo(code));
    }

    @Test
    void decodesEveryClientFrameOfTheProtocol() {
        assertThat(decode("{\"type\":\"join\",\"room\":\"r1\",\"since\":1234}"))
                .isEqualTo(new ClientFrame.Join("r1", 1234L));
        assertThat(decode("{\"type\":\"leave\",\"room\":\"r1\"}")).isEqualTo(new ClientFrame.Leave("r1"));
        assertThat(decode("{\"type\":\"comment\",\"room\":\"r1\",\"id\":\"c-7f3a\",\"text\":\"233333\","
                + "\"color\":\"#ffffff\",\"mode\":\"scroll\"}"))
                .isEqualTo(new ClientFrame.Comment("r1", "c-7f3a", "233333", "#ffffff", Mode.SCROLL));
        assertThat(decode("{\"type\":\"like\",\"room\":\"r1\",\"count\":3}")).isEqualTo(new ClientFrame.Like("r1", 3));
        assertThat(decode("{\"type\":\"gift\",\"room\":\"r1\",\"id\":\"g-91bc\",\"gift\":\"rocket\",\"count\":1}"))
                .isEqualTo(new ClientFrame.Gift("r1", "g-91bc", "rocket", 1));
        assertThat(decode("{\"type\":\"ping\",\"ts\":1732230000000}")).isEqualTo(new ClientFrame.Ping(1732230000000L));
        assertThat(decode("{\"type\":\"mute\",\"room\":\"r1\",\"user\":\"u42\",\"seconds\":600}"))
                .isEqualTo(new ClientFrame.Mute("r1", "u42", 600));
    }

    @Test
    void unknownFieldsAreIgnored() {
        assertThat(decode("{\"type\":\"leave\",\"room\":\"r1\",\"extra\":{\"a\":[1,2]}}"))
                .isEqualTo(new ClientFrame.Leave("r1"));
    }

    @Test
    void commentDefaultsToWhiteScrolling() {
        assertThat(decode("{\"type\":\"comment\",\"room\":\"r1\",\"id\":\"c1\",\"text\":\"hi\"}"))
                .isEqualTo(new ClientFrame.Comment("r1", "c1", "hi", "#ffffff", Mode.SCROLL));
    }

    @Test
    void commentTextIsTrimmed() {
        assertThat(decode("{\"type\":\"comment\",\"room\":\"r1\",\"id\":\"c1\",\"text\":\"  hi  \"}"))
                .extracting(f -> ((ClientFrame.Comment) f).text()).isEqualTo("hi");
    }

    @ParameterizedTest
    @ValueSource(strings = {"not json", "{\"type\":", "[1,2]", "\"join\"", "42", "{}", "{\"type\":7}",
            "{\"type\":\"join\",\"room\":\"r1\"} trailing"})
    void malformedFramesAreBadRequests(String frame) {
        assertError(() -> decode(frame), ErrorCode.BAD_REQUEST);
    }

    @Test
    void unknownTypeIsABadRequest() {
        assertThatThrownBy(() -> decode("{\"type\":\"dance\"}"))
                .isInstanceOfSatisfying(ProtocolException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.BAD_REQUEST);
                    assertThat(e.getMessage()).contains("dance");
                });
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "has space", "a/b", "ünï", "x0123456789012345678901234567890123456789012345678901234567890123"})
    void invalidRoomIdsAreBadRequests(String room) {
        assertError(() -> decode("{\"type\":\"join\",\"room\":\"" + room + "\"}"), ErrorCode.BAD_REQUEST);
    }

    @Test
    void missingRoomIsABadRequest() {
        assertError(() -> decode("{\"type\":\"join\"}"), ErrorCode.BAD_REQUEST);
    }

    @Test
    void invalidMessageIdIsABadRequest() {
        assertError(() -> decode("{\"type\":\"comment\",\"room\":\"r1\",\"id\":\"no spaces\",\"text\":\"x\"}"),
                ErrorCode.BAD_REQUEST);
        assertError(() -> decode("{\"type\":\"comment\",\"room\":\"r1\",\"text\":\"x\"}"), ErrorCode.BAD_REQUEST);
    }

    @Test
    void textLongerThanTheLimitIsTooLongAndNamesTheId() {
        String text = "好".repeat(101);
        assertThatThrownBy(() -> decode("{\"type\":\"comment\",\"room\":\"r1\",\"id\":\"c9\",\"text\":\"" + text + "\"}"))
                .isInstanceOfSatisfying(ProtocolException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.TOO_LONG);
                    assertThat(e.id()).isEqualTo("c9");
                });
    }

    @Test
    void textLengthCountsCharactersNotUtf16Units() {
        String text = "😀".repeat(100);
        assertThat(decode("{\"type\":\"comment\",\"room\":\"r1\",\"id\":\"c9\",\"text\":\"" + text + "\"}"))
                .isInstanceOf(ClientFrame.Comment.class);
    }

    @ParameterizedTest
    @ValueSource(strings = {"   ", "", "a\\u0000b", "line\\nbreak", "bell\\u0007"})
    void emptyTextOrControlCharactersAreBadRequests(String text) {
        assertError(() -> decode("{\"type\":\"comment\",\"room\":\"r1\",\"id\":\"c1\",\"text\":\"" + text + "\"}"),
                ErrorCode.BAD_REQUEST);
    }

    @ParameterizedTest
    @ValueSource(strings = {"red", "#fff", "#gggggg", "ffffff"})
    void invalidColorsAreBadRequests(String color) {
        assertError(() -> decode("{\"type\":\"comment\",\"room\":\"r1\",\"id\":\"c1\",\"text\":\"x\",\"color\":\""
                + color + "\"}"), ErrorCode.BAD_REQUEST);
    }

    @Test
    void invalidModeIsABadRequest() {
        assertError(() -> decode("{\"type\":\"comment\",\"room\":\"r1\",\"id\":\"c1\",\"text\":\"x\",\"mode\":\"diagonal\"}"),
                ErrorCode.BAD_REQUEST);
    }

    @ParameterizedTest
    @ValueSource(strings = {"0", "51", "-1", "3.5", "\"3\"", "1e400", "99999999999"})
    void likeCountOutside1To50OrNotAnIntegerIsABadRequest(String count) {
        assertError(() -> decode("{\"type\":\"like\",\"room\":\"r1\",\"count\":" + count + "}"), ErrorCode.BAD_REQUEST);
    }

    @Test
    void giftCountMustBePositive() {
        assertError(() -> decode("{\"type\":\"gift\",\"room\":\"r1\",\"id\":\"g1\",\"gift\":\"rocket\",\"count\":0}"),
                ErrorCode.BAD_REQUEST);
    }

    @Test
    void muteNeedsPositiveSeconds() {
        assertError(() -> decode("{\"type\":\"mute\",\"room\":\"r1\",\"user\":\"u1\",\"seconds\":0}"),
                ErrorCode.BAD_REQUEST);
    }

    @Test
    void joinSinceBelowMinusOneIsABadRequest() {
        assertError(() -> decode("{\"type\":\"join\",\"room\":\"r1\",\"since\":-2}"), ErrorCode.BAD_REQUEST);
    }

    @Test
    void invalidUtf8IsABadRequest() {
        byte[] frame = {'{', '"', 't', 'y', 'p', 'e', '"', ':', '"', (byte) 0xC3, (byte) 0x28, '"', '}'};
        assertError(() -> codec.decode(frame), ErrorCode.BAD_REQUEST);
    }

    @Test
    void encodesServerFramesWithTheirTypeAndWithoutEmptyParts() {
        var batch = new ServerFrame.Batch("r1", 1240, 1732230000123L,
                List.of(new ServerFrame.BatchComment("c-7f3a", new User("u1", "Alice"), "233333", "#ffffff",
                        Mode.SCROLL, 1732230000050L)), null, null, null, 0, null);
        String json = new String(codec.encode(batch), StandardCharsets.UTF_8);
        assertThat(json).startsWith("{\"type\":\"batch\"").contains("\"seq\":1240")
                .contains("\"user\":{\"id\":\"u1\",\"name\":\"Alice\"}").contains("\"mode\":\"scroll\"")
                .doesNotContain("gifts").doesNotContain("totals");
        assertThat(new String(codec.encode(new ServerFrame.Error("c1", ErrorCode.RATE_LIMITED, "slow down", 800L)),
                StandardCharsets.UTF_8))
                .isEqualTo("{\"type\":\"error\",\"id\":\"c1\",\"code\":\"rate_limited\",\"message\":\"slow down\","
                        + "\"retryAfterMs\":800}");
        assertThat(new String(codec.encode(ServerFrame.Joined.of("r1", -1, false)), StandardCharsets.UTF_8))
                .isEqualTo("{\"type\":\"joined\",\"room\":\"r1\",\"seq\":-1,\"recovered\":false}");
    }
}
