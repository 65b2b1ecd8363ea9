package dev.danmaku.gateway;

import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.builder.SpringApplicationBuilder;

/**
 * The gateway service. Start it with {@code java -jar danmaku-gateway.jar}, or in-process with
 * {@code GatewayApplication.builder().properties("server.port=0", ...).run()} and read the port
 * from the context's {@code local.server.port}. Several instances may run in one JVM (no static
 * state), each closing its connections (1012), threads and Kafka clients when its context closes.
 * Its Spring defaults come from {@link dev.danmaku.gateway.config.GatewayDefaults}.
 */
@SpringBootApplication
public class GatewayApplication {

    /** A builder for this service's context (a reactive web server). Add properties, then {@code run()}. */
    public static SpringApplicationBuilder builder() {
        return new SpringApplicationBuilder(GatewayApplication.class)
                .main(GatewayApplication.class)
                .web(WebApplicationType.REACTIVE);
    }

    public static void main(String[] args) {
        builder().run(args);
    }
}
