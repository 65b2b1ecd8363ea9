package dev.danmaku.gateway.ingress;

import dev.danmaku.protocol.bus.Ingress;
import dev.danmaku.protocol.bus.Topics;
import dev.danmaku.protocol.codec.BusCodec;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * Publishes to {@code danmaku.ingress} with an idempotent producer ({@code acks=all}). The
 * producer's {@code send} may block (for metadata, or for buffer space, up to
 * {@code max.block.ms}), so it is called on one dedicated thread with a bounded queue, never
 * on an event loop; one thread also keeps a connection's sends in order. The acknowledgement
 * arrives on the producer's I/O thread.
 */
public final class KafkaIngressPublisher implements IngressPublisher, AutoCloseable {

    /** Sends waiting for the send thread; beyond it a send fails at once as unavailable. */
    static final int SEND_QUEUE = 100_000;

    private final Producer<byte[], byte[]> producer;
    private final BusCodec busCodec;
    private final Duration bound;
    private final Scheduler sendThread;

    /**
     * @param bound how long to wait for the broker's acknowledgement in all (the producer's own
     *              delivery timeout should be a little shorter)
     */
    public KafkaIngressPublisher(Producer<byte[], byte[]> producer, BusCodec busCodec, Duration bound,
                                 String threadName) {
        this.producer = producer;
        this.busCodec = busCodec;
        this.bound = bound;
        this.sendThread = Schedulers.newBoundedElastic(1, SEND_QUEUE, threadName, 60, true);
    }

    @Override
    public Mono<Void> publish(Ingress ingress) {
        ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(Topics.INGRESS,
                ingress.room().getBytes(StandardCharsets.UTF_8), busCodec.encodeIngress(ingress));
        return Mono.<Void>create(sink -> {
                    try {
                        producer.send(record, (metadata, error) -> {
                            if (error == null) {
                                sink.success();
                            } else {
                                sink.error(error);
                            }
                        });
                    } catch (RuntimeException e) {
                        sink.error(e);
                    }
                })
                .subscribeOn(sendThread)
                .timeout(bound, Mono.error(() -> new TimeoutException("no acknowledgement within " + bound)))
                .onErrorMap(e -> !(e instanceof IngressUnavailableException),
                        e -> new IngressUnavailableException("ingress not stored: " + e, e));
    }

    /** Flushes what it can within two seconds and closes the producer. */
    @Override
    public void close() {
        try {
            producer.close(Duration.ofSeconds(2));
        } finally {
            sendThread.dispose();
        }
    }
}
