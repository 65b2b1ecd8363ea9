package dev.danmaku.standalone;

import dev.danmaku.aggregator.AggregatorApplication;
import dev.danmaku.gateway.GatewayApplication;
import dev.danmaku.kafka.local.LocalKafka;
import dev.danmaku.standalone.demo.DemoRoom;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Runs the whole service on one machine: starts an Apache Kafka broker in this process (unless
 * {@code DANMAKU_KAFKA_BOOTSTRAP_SERVERS} names a cluster to use instead), then the aggregator,
 * then a gateway in dev mode, and prints the URL to open.
 *
 * <p>Settings (environment variables): {@code DANMAKU_KAFKA_BOOTSTRAP_SERVERS} (use that cluster,
 * start no broker), {@code DANMAKU_KAFKA_PORT} (the broker's port, default 9092, so that more
 * gateways and aggregators can join it), {@code DANMAKU_KAFKA_DATA_DIR} (default {@code data/kafka}),
 * {@code DANMAKU_DEMO} ({@code false}: no demo room; by default simulated viewers chat, like and send
 * gifts in the room {@code demo}), and every setting of the gateway and aggregator ({@code SERVER_PORT}, ...).
 */
public final class StandaloneLauncher {

    private static final Logger log = LoggerFactory.getLogger(StandaloneLauncher.class);
    /** The room the simulated viewers of the demo live in. */
    public static final String DEMO_ROOM = "demo";

    private StandaloneLauncher() {
    }

    public static void main(String[] args) {
        String bootstrap = setting("DANMAKU_KAFKA_BOOTSTRAP_SERVERS", "");
        LocalKafka kafka = null;
        if (bootstrap.isBlank()) {
            int port = Integer.parseInt(setting("DANMAKU_KAFKA_PORT", "9092"));
            Path dataDir = Path.of(setting("DANMAKU_KAFKA_DATA_DIR", "data/kafka"));
            kafka = LocalKafka.start(dataDir, port);
            bootstrap = kafka.bootstrapServers();
        }
        List<AutoCloseable> running = new ArrayList<>();
        if (kafka != null) {
            running.add(kafka);
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> stopAll(running), "danmaku-shutdown"));

        ConfigurableApplicationContext aggregator = Services.aggregator(bootstrap).run(args);
        running.add(0, aggregator);
        ConfigurableApplicationContext gateway = Services.gateway(bootstrap).run(args);
        running.add(0, gateway);

        int port = ((WebServerApplicationContext) gateway).getWebServer().getPort();
        boolean demo = !"false".equalsIgnoreCase(setting("DANMAKU_DEMO", "true"));
        if (demo) {
            running.add(0, DemoRoom.start(URI.create("http://localhost:" + port), DEMO_ROOM, 8, 4));
        }
        String banner = """

                ==========================================================
                  danmaku is running
                  open       http://localhost:%d/
                  demo room  %s
                  Kafka      %s%s
                  stop with  Ctrl+C
                ==========================================================
                """.formatted(port,
                demo ? "http://localhost:" + port + "/live.html?room=" + DEMO_ROOM + "  (off: DANMAKU_DEMO=false)" : "off",
                bootstrap, kafka == null ? " (external)" : " (started here)");
        System.out.println(banner);
        log.info("gateway on port {}, Kafka at {}", port, bootstrap);
    }

    private static String setting(String env, String fallback) {
        String value = System.getenv(env);
        return value == null ? fallback : value;
    }

    private static void stopAll(List<AutoCloseable> running) {
        for (AutoCloseable each : List.copyOf(running)) {
            try {
                each.close();
            } catch (Exception e) {
                log.warn("error while stopping {}", each, e);
            }
        }
    }

    /** The Spring applications of the one-machine run, as the launcher and the tests start them. */
    public static final class Services {

        private Services() {
        }

        /**
         * The aggregator against {@code bootstrap}. Its management port is off by default here (the
         * gateway's server has the one-machine run's metrics; DANMAKU_AGGREGATOR_MANAGEMENT_PORT
         * turns it on).
         */
        public static org.springframework.boot.builder.SpringApplicationBuilder aggregator(String bootstrap) {
            return AggregatorApplication.builder()
                    .properties("danmaku.kafka.bootstrap-servers=" + bootstrap,
                            "danmaku.aggregator.management-port=-1");
        }

        /** A gateway in dev mode against {@code bootstrap}. */
        public static org.springframework.boot.builder.SpringApplicationBuilder gateway(String bootstrap) {
            return GatewayApplication.builder()
                    .properties("danmaku.kafka.bootstrap-servers=" + bootstrap, "danmaku.dev-mode=true");
        }

    }
}
