package dev.danmaku.protocol.codec;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import dev.danmaku.protocol.ClientFrame;
import dev.danmaku.protocol.Limits;
import dev.danmaku.protocol.ProtocolException;
import dev.danmaku.protocol.Rules;
import dev.danmaku.protocol.ServerFrame;
import org.jspecify.annotations.Nullable;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.ObjectReader;
import tools.jackson.databind.ObjectWriter;
import tools.jackson.databind.exc.InvalidTypeIdException;

/** The shared logic of the JSON and CBOR codecs: the two differ only in their mapper. */
abstract class JacksonFrameCodec implements FrameCodec {

    private final Limits limits;
    private final ObjectMapper mapper;
    private final ObjectReader clientReader;
    private final ObjectWriter serverWriter;

    JacksonFrameCodec(ObjectMapper mapper, Limits limits) {
        this.mapper = mapper;
        this.limits = limits;
        this.clientReader = mapper.readerFor(ClientFrame.class);
        this.serverWriter = mapper.writerFor(ServerFrame.class);
        warm(mapper);
    }

    /**
     * Builds now, on the thread making the codec, the deserializers that decoding needs: of a
     * tree, and of each client frame type. Jackson would otherwise build each at the first frame
     * of its type, under one lock per mapper: on an event loop, the first frames of a type arriving
     * on several connections at once would wait for one another (BlockHound fails such a wait).
     * Built and cached once, they are then only looked up, without a lock.
     */
    private static void warm(ObjectMapper mapper) {
        mapper.readTree(mapper.writeValueAsBytes(mapper.createObjectNode()));
        JsonSubTypes subtypes = ClientFrame.class.getAnnotation(JsonSubTypes.class);
        for (JsonSubTypes.Type subtype : subtypes.value()) {
            mapper.readerFor(subtype.value()); // fetches (builds and caches) its deserializer eagerly
        }
    }

    @Override
    public ClientFrame decode(byte[] bytes) {
        JsonNode tree;
        try {
            tree = mapper.readTree(bytes);
        } catch (JacksonException e) {
            throw ProtocolException.badRequest("malformed frame: not " + format());
        }
        if (tree == null || !tree.isObject()) {
            throw ProtocolException.badRequest("a frame must be an object with a type");
        }
        String id = correlationId(tree);
        if (!tree.path("type").isString()) {
            throw new ProtocolException(dev.danmaku.protocol.ErrorCode.BAD_REQUEST, "type is required", id);
        }
        ClientFrame frame;
        try {
            frame = clientReader.readValue(tree);
        } catch (JacksonException e) {
            throw translate(e, id);
        }
        return limits.check(frame);
    }

    @Override
    public byte[] encode(ServerFrame frame) {
        return serverWriter.writeValueAsBytes(frame);
    }

    abstract String format();

    /** The frame's {@code id} if it is a valid one, so that an error can name the send it answers. */
    private static @Nullable String correlationId(JsonNode tree) {
        JsonNode id = tree.get("id");
        if (id != null && id.isString() && Rules.ID.matcher(id.asString()).matches()) {
            return id.asString();
        }
        return null;
    }

    private static ProtocolException translate(JacksonException e, @Nullable String id) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof ProtocolException pe) {
                return pe.withId(id);
            }
        }
        if (e instanceof InvalidTypeIdException invalid) {
            return new ProtocolException(dev.danmaku.protocol.ErrorCode.BAD_REQUEST,
                    "unknown type '" + invalid.getTypeId() + "'", id);
        }
        String path = e.getPathReference();
        return new ProtocolException(dev.danmaku.protocol.ErrorCode.BAD_REQUEST,
                "invalid field" + (path == null ? "" : " " + fieldName(path)), id);
    }

    private static String fieldName(String pathReference) {
        int start = pathReference.lastIndexOf("[\"");
        int end = pathReference.lastIndexOf("\"]");
        return start >= 0 && end > start ? "'" + pathReference.substring(start + 2, end) + "'" : "";
    }
}
