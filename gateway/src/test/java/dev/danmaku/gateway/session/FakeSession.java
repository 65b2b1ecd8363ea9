package dev.danmaku.gateway.session;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import org.reactivestreams.Publisher;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DataBufferFactory;
import org.springframework.core.io.buffer.DefaultDataBufferFactory;
import org.springframework.http.HttpHeaders;
import org.springframework.web.reactive.socket.CloseStatus;
import org.springframework.web.reactive.socket.HandshakeInfo;
import org.springframework.web.reactive.socket.WebSocketMessage;
import org.springframework.web.reactive.socket.WebSocketSession;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/**
 * A WebSocket session without a network: the test pushes inbound messages and reads what the
 * connection sent. {@code stalled} makes it a reader that takes nothing (its queue fills up).
 */
final class FakeSession implements WebSocketSession {

    final Sinks.Many<WebSocketMessage> inbound = Sinks.many().unicast().onBackpressureBuffer();
    final List<WebSocketMessage> sent = new CopyOnWriteArrayList<>();
    final Sinks.One<CloseStatus> closed = Sinks.one();
    private final DataBufferFactory buffers = DefaultDataBufferFactory.sharedInstance;
    private final HandshakeInfo info;
    private final boolean stalled;
    private volatile boolean open = true;

    FakeSession(String subprotocol, boolean stalled) {
        this.info = new HandshakeInfo(URI.create("ws://localhost/ws"), new HttpHeaders(), Mono.empty(), subprotocol);
        this.stalled = stalled;
    }

    void receive(String json) {
        inbound.tryEmitNext(textMessage(json));
    }

    void receiveBytes(byte[] bytes) {
        inbound.tryEmitNext(new WebSocketMessage(WebSocketMessage.Type.BINARY, buffers.wrap(bytes)));
    }

    /** The client went away. */
    void hangUp() {
        inbound.tryEmitComplete();
    }

    List<String> sentTexts() {
        return sent.stream()
                .filter(m -> m.getType() == WebSocketMessage.Type.TEXT)
                .map(m -> m.getPayload().toString(0, m.getPayload().readableByteCount(), StandardCharsets.UTF_8))
                .toList();
    }

    long pings() {
        return sent.stream().filter(m -> m.getType() == WebSocketMessage.Type.PING).count();
    }

    CloseStatus closeStatus(java.time.Duration wait) {
        return closed.asMono().block(wait);
    }

    @Override
    public String getId() {
        return "fake";
    }

    @Override
    public HandshakeInfo getHandshakeInfo() {
        return info;
    }

    @Override
    public DataBufferFactory bufferFactory() {
        return buffers;
    }

    @Override
    public Map<String, Object> getAttributes() {
        return new HashMap<>();
    }

    @Override
    public Flux<WebSocketMessage> receive() {
        return inbound.asFlux();
    }

    @Override
    public Mono<Void> send(Publisher<WebSocketMessage> messages) {
        if (stalled) {
            return Flux.from(messages).limitRate(1).concatMap(m -> Mono.never(), 1).then();
        }
        return Flux.from(messages).doOnNext(sent::add).then();
    }

    @Override
    public boolean isOpen() {
        return open;
    }

    @Override
    public Mono<Void> close(CloseStatus status) {
        return Mono.fromRunnable(() -> {
            open = false;
            closed.tryEmitValue(status);
            inbound.tryEmitComplete();
        });
    }

    @Override
    public Mono<CloseStatus> closeStatus() {
        return closed.asMono();
    }

    @Override
    public WebSocketMessage textMessage(String payload) {
        return new WebSocketMessage(WebSocketMessage.Type.TEXT, buffers.wrap(payload.getBytes(StandardCharsets.UTF_8)));
    }

    @Override
    public WebSocketMessage binaryMessage(Function<DataBufferFactory, DataBuffer> payloadFactory) {
        return new WebSocketMessage(WebSocketMessage.Type.BINARY, payloadFactory.apply(buffers));
    }

    @Override
    public WebSocketMessage pingMessage(Function<DataBufferFactory, DataBuffer> payloadFactory) {
        return new WebSocketMessage(WebSocketMessage.Type.PING, payloadFactory.apply(buffers));
    }

    @Override
    public WebSocketMessage pongMessage(Function<DataBufferFactory, DataBuffer> payloadFactory) {
        return new WebSocketMessage(WebSocketMessage.Type.PONG, payloadFactory.apply(buffers));
    }
}
