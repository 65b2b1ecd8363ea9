package dev.danmaku.loadtest;

import static io.gatling.javaapi.http.HttpDsl.http;

import io.gatling.javaapi.http.HttpProtocolBuilder;
import java.net.URI;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The gateway a simulation runs against ({@code -Dtarget}, an {@code http://} or {@code https://}
 * URL) and the client side of the connection ({@code -DlocalAddresses}).
 *
 * @param uri            the gateway's base URL, without a trailing slash
 * @param localAddresses source addresses the virtual users are spread over, round-robin (empty:
 *                       the system's choice). The gateway caps the WebSocket connections one client
 *                       IP may hold ({@code danmaku.abuse.max-connections-per-ip}, 1000 by default):
 *                       against a gateway on this machine, {@code 127.0.0.1,127.0.0.2,...} lets a
 *                       simulation open more than that without changing the gateway's settings.
 */
record Target(URI uri, List<String> localAddresses) {

    Target {
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https") || uri.getHost() == null) {
            throw new IllegalArgumentException("-Dtarget must be an http(s) URL, was " + uri);
        }
        localAddresses = List.copyOf(localAddresses);
    }

    /** Reads {@code -Dtarget} (default {@code http://localhost:8080}) and {@code -DlocalAddresses}. */
    static Target fromSystemProperties() {
        String url = System.getProperty("target", "http://localhost:8080");
        String addresses = System.getProperty("localAddresses", "");
        return new Target(URI.create(url.endsWith("/") ? url.substring(0, url.length() - 1) : url),
                Arrays.stream(addresses.split(",")).map(String::strip).filter(s -> !s.isEmpty()).toList());
    }

    /** The HTTP base URL, without a trailing slash. */
    String httpBaseUrl() {
        return uri.toString();
    }

    /** The same origin as a WebSocket base URL: {@code ws://} for http, {@code wss://} for https. */
    String wsBaseUrl() {
        String url = uri.toString();
        return url.regionMatches(true, 0, "https:", 0, 6) ? "wss:" + url.substring(6) : "ws:" + url.substring(5);
    }

    /** The Gatling protocol of every simulation: this target, JSON, no browser behaviour. */
    HttpProtocolBuilder protocol() {
        HttpProtocolBuilder protocol = http
                .baseUrl(httpBaseUrl())
                .wsBaseUrl(wsBaseUrl())
                .acceptHeader("application/json")
                .contentTypeHeader("application/json")
                // A bot is not a browser: no Origin header, so the gateway's origin allow-list does
                // not apply (PROTOCOL.md: a handshake without Origin is allowed).
                .disableAutoOrigin()
                // The default warm-up request goes to an outside host; load runs talk only to the target.
                .disableWarmUp();
        return localAddresses.isEmpty() ? protocol : protocol.localAddresses(localAddresses);
    }

    /** A per-run tag (base 36 of the start time), for fresh room and message ids. */
    static String runTag() {
        return Long.toString(System.currentTimeMillis(), 36);
    }
}
