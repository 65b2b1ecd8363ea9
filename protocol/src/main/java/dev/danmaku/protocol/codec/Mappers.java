package dev.danmaku.protocol.codec;

import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.MapperFeature;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.cfg.MapperBuilder;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.dataformat.cbor.CBORMapper;

/**
 * The strict mappers behind every codec: unknown fields ignored (the protocol says so), but
 * no silent coercion of wrong types (a string or a float where an integer belongs is an error).
 */
final class Mappers {

    private static final ObjectMapper JSON = configure(JsonMapper.builder()).build();
    private static final ObjectMapper CBOR = configure(CBORMapper.builder()).build();

    private Mappers() {
    }

    static ObjectMapper json() {
        return JSON;
    }

    static ObjectMapper cbor() {
        return CBOR;
    }

    private static <M extends ObjectMapper, B extends MapperBuilder<M, B>> B configure(B builder) {
        return builder
                .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
                .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
                .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS);
    }
}
