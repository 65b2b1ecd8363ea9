package dev.danmaku.protocol.codec;

import static org.assertj.core.api.Assertions.assertThat;

import dev.danmaku.protocol.ClientFrame;
import dev.danmaku.protocol.Limits;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.ReentrantLock;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.ObjectMapper;

/**
 * A codec is ready for every client frame type once made: decoding the first frame of a type
 * must not build a deserializer. Jackson builds deserializers under one lock per mapper; on an
 * event loop, the first frames of a type arriving on several connections at once waited for it
 * (under BlockHound the waiting connections failed and were closed with 1011, their sends never
 * answered). Here that lock is held by another thread while a codec made on a fresh mapper
 * decodes one frame of each type: it must not need it.
 */
class CodecWarmUpTest {

    /** One frame of each type of ClientFrame's {@code @JsonSubTypes}. */
    static final List<String> ONE_OF_EACH = List.of(
            "{\"type\":\"join\",\"room\":\"r1\",\"since\":12}",
            "{\"type\":\"leave\",\"room\":\"r1\"}",
            "{\"type\":\"comment\",\"room\":\"r1\",\"id\":\"c1\",\"text\":\"hi\",\"color\":\"#ffffff\",\"mode\":\"top\"}",
            "{\"type\":\"like\",\"room\":\"r1\",\"count\":3}",
            "{\"type\":\"gift\",\"room\":\"r1\",\"id\":\"g1\",\"gift\":\"rocket\",\"count\":1}",
            "{\"type\":\"ping\",\"ts\":1732230000000}",
            "{\"type\":\"mute\",\"room\":\"r1\",\"user\":\"u42\",\"seconds\":600}",
            "{\"type\":\"slow_mode\",\"room\":\"r1\",\"seconds\":5}");

    @Test
    void aJsonCodecDecodesEveryFrameTypeWithoutBuildingADeserializer() throws Exception {
        ObjectMapper fresh = Mappers.json().rebuild().build(); // same settings, empty caches
        FrameCodec codec = new JacksonFrameCodec(fresh, Limits.DEFAULTS) {
            @Override
            String format() {
                return "JSON";
            }

            @Override
            public String subprotocol() {
                return JsonFrameCodec.SUBPROTOCOL;
            }

            @Override
            public boolean binary() {
                return false;
            }
        };
        List<byte[]> frames = ONE_OF_EACH.stream().map(f -> f.getBytes(StandardCharsets.UTF_8)).toList();
        assertDecodesWhileConstructionIsLocked(fresh, codec, frames);
    }

    @Test
    void aCborCodecDecodesEveryFrameTypeWithoutBuildingADeserializer() throws Exception {
        ObjectMapper fresh = Mappers.cbor().rebuild().build();
        FrameCodec codec = new JacksonFrameCodec(fresh, Limits.DEFAULTS) {
            @Override
            String format() {
                return "CBOR";
            }

            @Override
            public String subprotocol() {
                return CborFrameCodec.SUBPROTOCOL;
            }

            @Override
            public boolean binary() {
                return true;
            }
        };
        List<byte[]> frames = ONE_OF_EACH.stream()
                .map(f -> Mappers.cbor().writeValueAsBytes(Mappers.json().readTree(f))).toList();
        assertDecodesWhileConstructionIsLocked(fresh, codec, frames);
    }

    private static void assertDecodesWhileConstructionIsLocked(ObjectMapper mapper, FrameCodec codec,
                                                               List<byte[]> frames) throws Exception {
        ReentrantLock construction = deserializerConstructionLock(mapper);
        construction.lock();
        try {
            CompletableFuture<List<ClientFrame>> decoded = CompletableFuture.supplyAsync(
                    () -> frames.stream().map(codec::decode).toList());
            assertThat(decoded).as("decoded while another thread builds a deserializer")
                    .succeedsWithin(Duration.ofSeconds(30))
                    .satisfies(list -> assertThat(list).hasSize(ONE_OF_EACH.size()));
        } finally {
            construction.unlock();
        }
    }

    /** Jackson 3's DeserializerCache lock (the one its deserializer construction takes), of this mapper. */
    private static ReentrantLock deserializerConstructionLock(ObjectMapper mapper) throws ReflectiveOperationException {
        Object contexts = field(ObjectMapper.class, "_deserializationContexts").get(mapper);
        Object cache = field(tools.jackson.databind.cfg.DeserializationContexts.class, "_cache").get(contexts);
        return (ReentrantLock) field(tools.jackson.databind.deser.DeserializerCache.class,
                "_incompleteDeserializersLock").get(cache);
    }

    private static Field field(Class<?> type, String name) throws NoSuchFieldException {
        Field field = type.getDeclaredField(name);
        field.setAccessible(true);
        return field;
    }
}
