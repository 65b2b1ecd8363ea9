package dev.danmaku.gateway.fanout;

import dev.danmaku.protocol.ServerFrame;
import dev.danmaku.protocol.codec.FrameCodec;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * A room's batch as it is fanned out: decoded once from the room topic, its {@code seq} set to
 * the record's offset, and encoded at most once per codec, on first use, by whichever thread
 * writes it first. Every viewer of the room is written the same byte array (read-only).
 */
public final class SharedBatch implements Outbound {

    private final ServerFrame.Batch batch;
    private final long timestamp;
    private final Codecs codecs;
    private final AtomicReferenceArray<byte[]> encoded;
    private final AtomicReferenceArray<ByteBuf> frames;

    /**
     * @param batch     the batch, with its seq set
     * @param timestamp when it was written to the room topic (epoch millis), for the ring's age limit
     */
    public SharedBatch(ServerFrame.Batch batch, long timestamp, Codecs codecs) {
        this.batch = batch;
        this.timestamp = timestamp;
        this.codecs = codecs;
        this.encoded = new AtomicReferenceArray<>(codecs.size());
        this.frames = new AtomicReferenceArray<>(codecs.size());
    }

    public long seq() {
        return batch.seq();
    }

    public String room() {
        return batch.room();
    }

    public long timestamp() {
        return timestamp;
    }

    public ServerFrame.Batch batch() {
        return batch;
    }

    /** The batch in this codec's format; encoded on the first call for the codec. Do not modify. */
    public byte[] bytes(FrameCodec codec) {
        int slot = codecs.indexOf(codec);
        byte[] bytes = encoded.get(slot);
        if (bytes != null) {
            return bytes;
        }
        synchronized (this) {
            bytes = encoded.get(slot);
            if (bytes == null) {
                bytes = codec.encode(batch);
                encoded.set(slot, bytes);
            }
            return bytes;
        }
    }

    /**
     * The batch in this codec's format as one whole, unmasked WebSocket frame (header, then
     * payload) in a direct buffer, made on the first call for the codec. Server frames are the
     * same bytes for every viewer, so each is written a {@code retainedDuplicate()} of this (never
     * the buffer itself): no encode, no copy and no frame header per viewer. The payload alone is
     * {@link #payloadOffset} on. The memory is the JDK's, freed by the garbage collector once the
     * batch is unreachable (Netty never frees it).
     */
    public ByteBuf frame(FrameCodec codec) {
        int slot = codecs.indexOf(codec);
        ByteBuf frame = frames.get(slot);
        if (frame != null) {
            return frame;
        }
        byte[] payload = bytes(codec);
        int length = payload.length;
        ByteBuffer buffer = ByteBuffer.allocateDirect(payloadOffset(length) + length);
        buffer.put((byte) (0x80 | (codec.binary() ? 0x2 : 0x1))); // FIN, text or binary
        if (length <= 125) {
            buffer.put((byte) length);
        } else if (length <= 0xFFFF) {
            buffer.put((byte) 126).putShort((short) length);
        } else {
            buffer.put((byte) 127).putLong(length);
        }
        ByteBuf made = Unpooled.wrappedBuffer(buffer.put(payload).flip());
        return frames.compareAndSet(slot, null, made) ? made : frames.get(slot);
    }

    /** Where the payload starts in {@link #frame}, for a payload of this length. */
    public static int payloadOffset(int length) {
        return length <= 125 ? 2 : length <= 0xFFFF ? 4 : 10;
    }

    /** True once the batch was encoded for this codec (for tests of the encode-once contract). */
    public boolean isEncodedFor(FrameCodec codec) {
        return encoded.get(codecs.indexOf(codec)) != null;
    }

    @Override
    public String toString() {
        return "SharedBatch[" + batch.room() + "#" + batch.seq() + "]";
    }
}
