package dev.danmaku.loadtest;

import java.net.URI;
import java.time.Duration;
import java.util.Locale;

/**
 * The knobs of a load run, read from JVM system properties so that the same simulation runs
 * against any gateway: {@code ./mvnw -pl loadtest gatling:test -Dtarget=... -Dviewers=...}.
 *
 * @param target       the gateway's base URL, {@code http://} or {@code https://} ({@code -Dtarget})
 * @param viewers      anonymous, watch-only WebSocket connections ({@code -Dviewers})
 * @param rooms        rooms the viewers and senders are spread over, round-robin ({@code -Drooms})
 * @param senders      signed-in connections that send comments ({@code -Dsenders})
 * @param rate         comments a second per sender ({@code -Drate}); above 1 the aggregator's default
 *                     per-user limit (1 a second, bursts of 3) drops comments, whose echoes then fail
 * @param duration     how long viewers stay and senders send, once connected ({@code -Dduration}, s)
 * @param ramp         over how long viewers and senders are started ({@code -Dramp}, s)
 * @param p99          the asserted bound on the 99th percentile response time ({@code -Dp99}, ms)
 * @param timeout      how long a connect waits for {@code joined} and a comment for its own echo
 *                     before it counts as failed ({@code -Dtimeout}, s)
 * @param roomPrefix   room ids are {@code <roomPrefix>-<i>} ({@code -DroomPrefix})
 */
record LoadSettings(
        URI target,
        int viewers,
        int rooms,
        int senders,
        double rate,
        Duration duration,
        Duration ramp,
        int p99,
        Duration timeout,
        String roomPrefix) {

    LoadSettings {
        String scheme = target.getScheme() == null ? "" : target.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https") || target.getHost() == null) {
            throw new IllegalArgumentException("-Dtarget must be an http(s) URL, was " + target);
        }
        if (viewers < 0 || senders < 0 || viewers + senders == 0) {
            throw new IllegalArgumentException("-Dviewers and -Dsenders must be >= 0, and not both 0");
        }
        if (rooms < 1) {
            throw new IllegalArgumentException("-Drooms must be >= 1, was " + rooms);
        }
        // The gateway allows 5 comments a second per connection (bursts of 10): above that a
        // sender would measure its own rate limit, not the service.
        if (!(rate > 0 && rate <= 5)) {
            throw new IllegalArgumentException("-Drate must be in (0, 5] comments a second, was " + rate);
        }
        if (duration.isNegative() || duration.isZero() || ramp.isNegative() || timeout.isNegative()
                || timeout.isZero()) {
            throw new IllegalArgumentException("-Dduration and -Dtimeout must be > 0, -Dramp >= 0");
        }
        if (p99 < 1) {
            throw new IllegalArgumentException("-Dp99 must be >= 1 ms, was " + p99);
        }
        if (!roomPrefix.matches("[A-Za-z0-9_-]{1,40}")) {
            throw new IllegalArgumentException("-DroomPrefix must match [A-Za-z0-9_-]{1,40}");
        }
    }

    /** Reads every knob from system properties, with the documented defaults. */
    static LoadSettings fromSystemProperties() {
        return new LoadSettings(
                URI.create(stripTrailingSlash(System.getProperty("target", "http://localhost:8080"))),
                Integer.getInteger("viewers", 200),
                Integer.getInteger("rooms", 2),
                Integer.getInteger("senders", 20),
                Double.parseDouble(System.getProperty("rate", "1")),
                Duration.ofSeconds(Long.getLong("duration", 30)),
                Duration.ofSeconds(Long.getLong("ramp", 5)),
                Integer.getInteger("p99", 2000),
                Duration.ofSeconds(Long.getLong("timeout", 10)),
                System.getProperty("roomPrefix", "loadtest"));
    }

    /** The HTTP base URL, without a trailing slash. */
    String httpBaseUrl() {
        return target.toString();
    }

    /** The same origin as a WebSocket base URL: {@code ws://} for http, {@code wss://} for https. */
    String wsBaseUrl() {
        String url = target.toString();
        return (url.regionMatches(true, 0, "https:", 0, 6) ? "wss:" + url.substring(6) : "ws:" + url.substring(5));
    }

    /** Time between two sends of one sender. */
    Duration sendInterval() {
        return Duration.ofNanos(Math.round(1_000_000_000d / rate));
    }

    /** The room of the n-th viewer or sender (n from 0): round-robin. */
    String room(long n) {
        return roomPrefix + "-" + Math.floorMod(n, rooms);
    }

    /** An upper bound of the whole run, after which Gatling stops it whatever happens. */
    Duration maxDuration() {
        return ramp.plus(duration).plus(timeout.multipliedBy(3)).plusSeconds(30);
    }

    private static String stripTrailingSlash(String url) {
        return url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
    }
}
