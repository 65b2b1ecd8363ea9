package dev.danmaku.protocol.codec;

import dev.danmaku.protocol.ServerFrame;
import dev.danmaku.protocol.bus.Ingress;
import dev.danmaku.protocol.bus.Presence;
import dev.danmaku.protocol.bus.RoomState;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.ObjectReader;
import tools.jackson.databind.ObjectWriter;

/**
 * The encoding of the records on the Kafka topics (JSON, so that a person can read a topic
 * with the console consumer). Thread-safe.
 *
 * <p>Records outlive the version that wrote them (a compacted state topic keeps a room's last
 * state for good, and a rolling upgrade mixes versions): a batch, a state or a presence record
 * written before a field existed reads with that field's default (0, false, empty), and a field
 * this version does not know is ignored.
 */
public final class BusCodec {

    private final ObjectWriter ingressWriter = Mappers.json().writerFor(Ingress.class);
    private final ObjectReader ingressReader = Mappers.json().readerFor(Ingress.class);
    private final ObjectWriter batchWriter = Mappers.json().writerFor(ServerFrame.class);
    private final ObjectReader batchReader = tolerant(ServerFrame.class);
    private final ObjectWriter presenceWriter = Mappers.json().writerFor(Presence.class);
    private final ObjectReader presenceReader = tolerant(Presence.class);
    private final ObjectWriter stateWriter = Mappers.json().writerFor(RoomState.class);
    private final ObjectReader stateReader = tolerant(RoomState.class);

    private static ObjectReader tolerant(Class<?> type) {
        return Mappers.json().readerFor(type).without(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);
    }

    public byte[] encodeIngress(Ingress ingress) {
        return ingressWriter.writeValueAsBytes(ingress);
    }

    /** @throws tools.jackson.core.JacksonException or {@link dev.danmaku.protocol.ProtocolException} on a bad record */
    public Ingress decodeIngress(byte[] bytes) {
        return ingressReader.readValue(bytes);
    }

    public byte[] encodeBatch(ServerFrame.Batch batch) {
        return batchWriter.writeValueAsBytes(batch);
    }

    /** @throws tools.jackson.core.JacksonException or {@link dev.danmaku.protocol.ProtocolException} on a bad record */
    public ServerFrame.Batch decodeBatch(byte[] bytes) {
        ServerFrame frame = batchReader.readValue(bytes);
        if (frame instanceof ServerFrame.Batch batch) {
            return batch;
        }
        throw new IllegalArgumentException("not a batch: " + frame.getClass().getSimpleName());
    }

    public byte[] encodeState(RoomState state) {
        return stateWriter.writeValueAsBytes(state);
    }

    /** @throws tools.jackson.core.JacksonException or {@link dev.danmaku.protocol.ProtocolException} on a bad record */
    public RoomState decodeState(byte[] bytes) {
        return stateReader.readValue(bytes);
    }

    public byte[] encodePresence(Presence presence) {
        return presenceWriter.writeValueAsBytes(presence);
    }

    /** @throws tools.jackson.core.JacksonException or {@link IllegalArgumentException} on a bad record */
    public Presence decodePresence(byte[] bytes) {
        return presenceReader.readValue(bytes);
    }
}
