package dev.danmaku.aggregator.metrics;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.BooleanSupplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;

/**
 * The aggregator's management port: {@code GET /actuator/prometheus} (the Prometheus text format
 * of the application's {@link PrometheusMeterRegistry}) and {@code GET /actuator/health},
 * {@code /actuator/health/liveness}, {@code /actuator/health/readiness} ({@code {"status":"UP"}}
 * with 200 while the aggregation loop runs, else {@code DOWN} with 503).
 *
 * <p>The JDK's own HTTP server on one daemon thread, not a Spring web server: the aggregator has
 * no web stack of its own, and in the one-machine launcher it shares the JVM (and the class
 * path) with the gateway's WebFlux server, which must stay the only Spring web server there.
 */
public final class ManagementServer implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(ManagementServer.class);

    private final int requestedPort;
    private final PrometheusMeterRegistry registry;
    private final BooleanSupplier up;
    private @Nullable HttpServer server;
    private @Nullable ExecutorService executor;

    /**
     * @param port     the port to listen on (0: any free one)
     * @param registry the meters to serve
     * @param up       whether the service is up (the health answer)
     */
    public ManagementServer(int port, PrometheusMeterRegistry registry, BooleanSupplier up) {
        this.requestedPort = port;
        this.registry = registry;
        this.up = up;
    }

    @Override
    public synchronized void start() {
        if (server != null) {
            return;
        }
        try {
            HttpServer http = HttpServer.create(new InetSocketAddress(requestedPort), 16);
            http.createContext("/actuator/prometheus", exchange -> answer(exchange, 200,
                    "text/plain; version=0.0.4; charset=utf-8", registry.scrape()));
            http.createContext("/actuator/health", exchange -> {
                boolean isUp = up.getAsBoolean();
                answer(exchange, isUp ? 200 : 503, "application/json",
                        isUp ? "{\"status\":\"UP\"}" : "{\"status\":\"DOWN\"}");
            });
            ExecutorService threads = Executors.newSingleThreadExecutor(task -> {
                Thread thread = new Thread(task, "danmaku-aggregator-management");
                thread.setDaemon(true);
                return thread;
            });
            http.setExecutor(threads);
            http.start();
            server = http;
            executor = threads;
            log.info("Management port {}: /actuator/prometheus, /actuator/health", port());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot listen on management port " + requestedPort, e);
        }
    }

    /** The port listened on (the actual one when 0 was asked for); -1 when not started. */
    public synchronized int port() {
        return server == null ? -1 : server.getAddress().getPort();
    }

    @Override
    public synchronized void stop() {
        if (server != null) {
            server.stop(0);
            server = null;
        }
        if (executor != null) {
            executor.shutdownNow();
            executor = null;
        }
    }

    @Override
    public synchronized boolean isRunning() {
        return server != null;
    }

    @Override
    public int getPhase() {
        // started before and stopped after the aggregation loop (default phase): health answers DOWN meanwhile
        return SmartLifecycle.DEFAULT_PHASE - 1;
    }

    private static void answer(HttpExchange exchange, int status, String type, String body) throws IOException {
        try (exchange) {
            if (!"GET".equals(exchange.getRequestMethod()) && !"HEAD".equals(exchange.getRequestMethod())) {
                exchange.sendResponseHeaders(405, -1);
                return;
            }
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", type);
            exchange.sendResponseHeaders(status, bytes.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        }
    }
}
