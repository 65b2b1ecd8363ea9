package dev.danmaku.gateway.fanout;

import dev.danmaku.protocol.ServerFrame;
import dev.danmaku.protocol.codec.FrameCodec;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.zip.Deflater;

/**
 * A room's batch as it is fanned out: decoded once from the room topic, its {@code seq} set to
 * the record's offset, and encoded at most once per codec, on first use, by whichever thread
 * writes it first. Every viewer of the room is written the same byte array (read-only).
 */
public final class SharedBatch implements Outbound {

    /** The {@code 00 00 ff ff} a sync flush ends with, which permessage-deflate leaves off. */
    private static final int DEFLATE_TAIL = 4;
    /** Netty's level for permessage-deflate. One per thread (event loops), reset per batch. */
    private static final ThreadLocal<Deflater> DEFLATERS = ThreadLocal.withInitial(() -> new Deflater(6, true));

    private final ServerFrame.Batch batch;
    private final long timestamp;
    private final Codecs codecs;
    private final AtomicReferenceArray<byte[]> encoded;
    private final AtomicReferenceArray<ByteBuf> frames;
    private final AtomicReferenceArray<ByteBuf> deflatedFrames;

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
        this.deflatedFrames = new AtomicReferenceArray<>(codecs.size());
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
        ByteBuf made = frame(codec.binary(), false, payload, payload.length);
        return frames.compareAndSet(slot, null, made) ? made : frames.get(slot);
    }

    /**
     * {@link #frame} compressed with permessage-deflate (RFC 7692) as a message of its own: RSV1
     * set, the payload raw DEFLATE of the codec's bytes with the final {@code 00 00 ff ff} left
     * off. Right for every connection that negotiated the extension without server context
     * takeover (the only way the gateway negotiates it), so it too is made once, on the first call
     * for the codec, and written as duplicates.
     */
    public ByteBuf deflatedFrame(FrameCodec codec) {
        int slot = codecs.indexOf(codec);
        ByteBuf frame = deflatedFrames.get(slot);
        if (frame != null) {
            return frame;
        }
        byte[] compressed = deflate(bytes(codec));
        ByteBuf made = frame(codec.binary(), true, compressed, compressed.length - DEFLATE_TAIL);
        return deflatedFrames.compareAndSet(slot, null, made) ? made : deflatedFrames.get(slot);
    }

    private static ByteBuf frame(boolean binary, boolean compressed, byte[] payload, int length) {
        ByteBuffer buffer = ByteBuffer.allocateDirect(payloadOffset(length) + length);
        // FIN, RSV1 when compressed, text or binary
        buffer.put((byte) (0x80 | (compressed ? 0x40 : 0) | (binary ? 0x2 : 0x1)));
        if (length <= 125) {
            buffer.put((byte) length);
        } else if (length <= 0xFFFF) {
            buffer.put((byte) 126).putShort((short) length);
        } else {
            buffer.put((byte) 127).putLong(length);
        }
        return Unpooled.wrappedBuffer(buffer.put(payload, 0, length).flip());
    }

    /** Raw DEFLATE of the whole payload, ended by a sync flush (so with {@code 00 00 ff ff}). */
    private static byte[] deflate(byte[] payload) {
        Deflater deflater = DEFLATERS.get();
        deflater.reset();
        deflater.setInput(payload);
        ByteArrayOutputStream out = new ByteArrayOutputStream(payload.length / 2 + 64);
        byte[] chunk = new byte[Math.min(64 * 1024, payload.length + 64)];
        int n;
        do {
            n = deflater.deflate(chunk, 0, chunk.length, Deflater.SYNC_FLUSH);
            out.write(chunk, 0, n);
        } while (n == chunk.length); // a full chunk: there may be more
        return out.toByteArray();
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
