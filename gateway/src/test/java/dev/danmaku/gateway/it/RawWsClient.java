package dev.danmaku.gateway.it;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.LockSupport;
import org.jspecify.annotations.Nullable;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A WebSocket client written by hand over a plain socket, so that a test controls exactly when
 * (and whether) it reads: its receive buffer is small, and it reads only when told to. It sends
 * masked frames of any content, valid or not. Server frames are parsed as RFC 6455 says
 * (unfragmented text frames as JSON, close frames as their code).
 */
final class RawWsClient implements AutoCloseable {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private final List<JsonNode> frames = new CopyOnWriteArrayList<>();
    private volatile @Nullable Integer closeCode;
    private volatile boolean ended;
    private volatile boolean paused;
    private @Nullable Thread reader;

    /** Connects and completes the handshake; reads nothing after it until told to. */
    RawWsClient(int port, String query) throws IOException {
        socket = new Socket();
        socket.setReceiveBufferSize(4096); // before connecting: a small window, so the server's writes back up soon
        socket.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
        socket.setSoTimeout(30_000);
        in = socket.getInputStream();
        out = socket.getOutputStream();
        byte[] nonce = new byte[16];
        RANDOM.nextBytes(nonce);
        String request = "GET /ws" + (query.isEmpty() ? "" : "?" + query) + " HTTP/1.1\r\n"
                + "Host: 127.0.0.1:" + port + "\r\n"
                + "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: " + Base64.getEncoder().encodeToString(nonce) + "\r\n"
                + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: danmaku.v1.json\r\n\r\n";
        out.write(request.getBytes(StandardCharsets.US_ASCII));
        out.flush();
        String response = readHead();
        if (!response.startsWith("HTTP/1.1 101")) {
            throw new IOException("no upgrade: " + response);
        }
    }

    private String readHead() throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (true) {
            int b = in.read();
            if (b < 0) {
                throw new EOFException("end of stream in the handshake");
            }
            head.write(b);
            byte[] bytes = head.toByteArray();
            int n = bytes.length;
            if (n >= 4 && bytes[n - 4] == '\r' && bytes[n - 3] == '\n' && bytes[n - 2] == '\r' && bytes[n - 1] == '\n') {
                return head.toString(StandardCharsets.US_ASCII);
            }
        }
    }

    /** Starts reading in the background (again, after {@link #pause}). */
    synchronized void startReading() {
        paused = false;
        if (reader == null) {
            reader = new Thread(this::readLoop, "raw-ws-reader");
            reader.setDaemon(true);
            reader.start();
        }
    }

    /** Stops taking frames off the socket (the frame being read is finished). */
    void pause() {
        paused = true;
    }

    private void readLoop() {
        try {
            while (!ended) {
                while (paused && !ended) {
                    LockSupport.parkNanos(1_000_000);
                }
                readFrame();
            }
        } catch (IOException e) {
            ended = true;
        } finally {
            signal();
        }
    }

    private synchronized void signal() {
        notifyAll();
    }

    /**
     * Waits until more than {@code count} frames were read, or the stream ended.
     *
     * @return true when a frame beyond {@code count} arrived
     */
    synchronized boolean awaitMoreThan(int count, java.time.Duration max) throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        while (frames.size() <= count && !ended) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new AssertionError("no frame and no close within " + max);
            }
            java.util.concurrent.TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        return frames.size() > count;
    }

    /** Reads one frame: a text frame joins {@link #frames}; a close frame sets {@link #closeCode}. */
    private void readFrame() throws IOException {
        int b0 = read();
        int b1 = read();
        long length = b1 & 0x7f;
        if (length == 126) {
            length = ((long) read() << 8) | read();
        } else if (length == 127) {
            length = 0;
            for (int i = 0; i < 8; i++) {
                length = (length << 8) | read();
            }
        }
        byte[] payload = in.readNBytes((int) length);
        if (payload.length < length) {
            throw new EOFException("end of stream in a frame");
        }
        int opcode = b0 & 0x0f;
        if (opcode == 0x1) {
            frames.add(JSON.readTree(payload));
            signal();
        } else if (opcode == 0x8) {
            closeCode = payload.length >= 2 ? ((payload[0] & 0xff) << 8) | (payload[1] & 0xff) : 1005;
            ended = true;
            signal();
        } else if (opcode == 0x9) {
            sendFrame(0xA, payload); // answer PINGs
        }
    }

    private int read() throws IOException {
        int b = in.read();
        if (b < 0) {
            throw new EOFException();
        }
        return b;
    }

    /** Sends one masked frame with this opcode (0x1 text, 0x2 binary, ...), FIN set. */
    synchronized void sendFrame(int opcode, byte[] payload) throws IOException {
        ByteArrayOutputStream frame = new ByteArrayOutputStream();
        frame.write(0x80 | opcode);
        if (payload.length < 126) {
            frame.write(0x80 | payload.length);
        } else if (payload.length < 65536) {
            frame.write(0x80 | 126);
            frame.write(payload.length >> 8);
            frame.write(payload.length);
        } else {
            frame.write(0x80 | 127);
            for (int i = 7; i >= 0; i--) {
                frame.write((int) ((long) payload.length >> (8 * i)));
            }
        }
        byte[] mask = new byte[4];
        RANDOM.nextBytes(mask);
        frame.writeBytes(mask);
        for (int i = 0; i < payload.length; i++) {
            frame.write(payload[i] ^ mask[i % 4]);
        }
        out.write(frame.toByteArray());
        out.flush();
    }

    void sendText(String text) throws IOException {
        sendFrame(0x1, text.getBytes(StandardCharsets.UTF_8));
    }

    /** The text frames read so far, as JSON. */
    List<JsonNode> frames() {
        return frames;
    }

    /** The close code received, if a close frame was read. */
    @Nullable Integer closeCode() {
        return closeCode;
    }

    /** True once the stream ended (a close frame, the end of the stream, or a reset). */
    /** The client's end of the TCP connection: its local port. */
    int localPort() {
        return socket.getLocalPort();
    }

    boolean ended() {
        return ended;
    }

    @Override
    public void close() {
        ended = true;
        try {
            socket.close();
        } catch (IOException | RuntimeException e) {
            // closing anyway
        }
    }
}
