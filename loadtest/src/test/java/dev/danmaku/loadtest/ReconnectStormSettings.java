package dev.danmaku.loadtest;

import java.time.Duration;

/**
 * The knobs of {@link ReconnectStormSimulation}, read from JVM system properties.
 *
 * @param target      the gateway ({@code -Dtarget}, {@code -DlocalAddresses}: see {@link Target})
 * @param viewers     watch-only connections that are dropped and reconnect ({@code -Dviewers})
 * @param rooms       rooms the viewers and senders are spread over, round-robin ({@code -Drooms});
 *                    each run uses fresh rooms ({@code <roomPrefix>-<run tag>-<i>})
 * @param senders     signed-in connections that keep comments flowing, so that there are batches
 *                    to miss and to replay ({@code -Dsenders}, may be 0); they are not dropped
 * @param rate        comments a second per sender ({@code -Drate})
 * @param ramp        over how long the viewers connect ({@code -Dramp}, s)
 * @param stay        how long they all stay connected after the ramp, before the drop ({@code -Dstay}, s)
 * @param after       how long they stay after rejoining, receiving the replay and live batches
 *                    ({@code -Dafter}, s)
 * @param timeout     how long a connect or a reconnect waits for {@code joined} ({@code -Dtimeout}, s)
 * @param settle      the asserted bound (ms) of the storm, per viewer from its drop until it is
 *                    rejoined ({@code -Dsettle}, ms)
 * @param recovered   the asserted share of rejoins with {@code recovered: true} ({@code -Drecovered}, %)
 * @param roomPrefix  the first part of the room ids ({@code -DroomPrefix})
 */
record ReconnectStormSettings(
        Target target,
        int viewers,
        int rooms,
        int senders,
        double rate,
        Duration ramp,
        Duration stay,
        Duration after,
        Duration timeout,
        int settle,
        double recovered,
        String roomPrefix) {

    ReconnectStormSettings {
        if (viewers < 1 || rooms < 1 || senders < 0) {
            throw new IllegalArgumentException("-Dviewers and -Drooms must be >= 1, -Dsenders >= 0");
        }
        // The aggregator lets one user send 1 comment a second (bursts of 3) into a room; more would
        // only be dropped (the sends are acknowledged all the same).
        if (!(rate > 0 && rate <= 5)) {
            throw new IllegalArgumentException("-Drate must be in (0, 5] comments a second, was " + rate);
        }
        if (ramp.isNegative() || stay.isNegative() || after.isNegative() || timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("-Dtimeout must be > 0, -Dramp, -Dstay and -Dafter >= 0");
        }
        if (settle < 1 || !(recovered >= 0 && recovered <= 100)) {
            throw new IllegalArgumentException("-Dsettle must be >= 1 ms, -Drecovered in [0, 100]");
        }
        if (!roomPrefix.matches("[A-Za-z0-9_-]{1,40}")) {
            throw new IllegalArgumentException("-DroomPrefix must match [A-Za-z0-9_-]{1,40}");
        }
    }

    static ReconnectStormSettings fromSystemProperties() {
        return new ReconnectStormSettings(
                Target.fromSystemProperties(),
                Integer.getInteger("viewers", 2000),
                Integer.getInteger("rooms", 1),
                Integer.getInteger("senders", 5),
                Double.parseDouble(System.getProperty("rate", "1")),
                Duration.ofSeconds(Long.getLong("ramp", 10)),
                Duration.ofSeconds(Long.getLong("stay", 10)),
                Duration.ofSeconds(Long.getLong("after", 10)),
                Duration.ofSeconds(Long.getLong("timeout", 30)),
                Integer.getInteger("settle", 10_000),
                Double.parseDouble(System.getProperty("recovered", "100")),
                System.getProperty("roomPrefix", "reconnect"));
    }

    /** Time between two comments of one sender. */
    Duration sendInterval() {
        return Duration.ofNanos(Math.round(1_000_000_000d / rate));
    }

    /** The room of the n-th viewer or sender (n from 0) of a run tagged {@code runTag}: round-robin. */
    String room(String runTag, long n) {
        return roomPrefix + "-" + runTag + "-" + Math.floorMod(n, rooms);
    }

    /** From the start of the run until the viewers are dropped. */
    Duration dropDelay() {
        return ramp.plus(stay);
    }

    /** How long the senders send: from the start until the last viewer should be done. */
    Duration sendingTime() {
        return dropDelay().plus(timeout).plus(after);
    }

    /** An upper bound of the whole run, after which Gatling stops it whatever happens. */
    Duration maxDuration() {
        return sendingTime().plus(timeout.multipliedBy(2)).plusSeconds(60);
    }
}
