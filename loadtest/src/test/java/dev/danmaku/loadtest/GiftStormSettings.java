package dev.danmaku.loadtest;

import java.time.Duration;

/**
 * The knobs of {@link GiftStormSimulation}, read from JVM system properties.
 *
 * @param target     the gateway ({@code -Dtarget}, {@code -DlocalAddresses}: see {@link Target})
 * @param users      signed-in connections that send gifts ({@code -Dusers})
 * @param rooms      rooms the users are spread over, round-robin ({@code -Drooms}); each run uses
 *                   fresh rooms ({@code <roomPrefix>-<run tag>-<i>}) so that earlier runs' gifts
 *                   are not in their totals
 * @param gifts      distinct gift ids each user sends ({@code -Dgifts})
 * @param rate       new gift ids a second per user ({@code -Drate}); each may be followed by a re-send
 * @param resend     the probability that a send is followed by a re-send of one of the user's
 *                   earlier ids, the same frame again ({@code -Dresend}, 0..1)
 * @param ramp       over how long the users are started ({@code -Dramp}, s)
 * @param timeout    how long a send waits for its {@code ack} ({@code -Dtimeout}, s)
 * @param tries      how often a send is tried until it is acknowledged ({@code -Dtries})
 * @param settle     how long the room's totals may take to show every acknowledged gift once the
 *                   sends are over ({@code -Dsettle}, s)
 * @param roomPrefix the first part of the room ids ({@code -DroomPrefix})
 */
record GiftStormSettings(
        Target target,
        int users,
        int rooms,
        int gifts,
        double rate,
        double resend,
        Duration ramp,
        Duration timeout,
        int tries,
        Duration settle,
        String roomPrefix) {

    /**
     * The aggregator remembers the last 10,000 gift ids per room (docs/protocol.md): a re-send of
     * an id older than that would be counted again, so a run stays below it.
     */
    static final int MAX_IDS_PER_ROOM = 10_000;

    GiftStormSettings {
        if (users < 1 || rooms < 1 || gifts < 1) {
            throw new IllegalArgumentException("-Dusers, -Drooms and -Dgifts must be >= 1");
        }
        // The gateway allows likes and gifts together 20 a second per connection (bursts of 40);
        // with every send re-sent at worst, 10 new ids a second stay within it.
        if (!(rate > 0 && rate <= 10)) {
            throw new IllegalArgumentException("-Drate must be in (0, 10] gifts a second, was " + rate);
        }
        if (!(resend >= 0 && resend <= 1)) {
            throw new IllegalArgumentException("-Dresend must be in [0, 1], was " + resend);
        }
        long perRoom = (long) Math.ceil(users / (double) rooms) * gifts;
        if (perRoom > MAX_IDS_PER_ROOM) {
            throw new IllegalArgumentException("at most " + MAX_IDS_PER_ROOM + " gift ids per room (the aggregator's"
                    + " de-duplication window), this run would send " + perRoom + ": more -Drooms or fewer -Dgifts");
        }
        if (tries < 1) {
            throw new IllegalArgumentException("-Dtries must be >= 1, was " + tries);
        }
        if (ramp.isNegative() || timeout.isNegative() || timeout.isZero() || settle.isNegative()) {
            throw new IllegalArgumentException("-Dtimeout must be > 0, -Dramp and -Dsettle >= 0");
        }
        if (!roomPrefix.matches("[A-Za-z0-9_-]{1,40}")) {
            throw new IllegalArgumentException("-DroomPrefix must match [A-Za-z0-9_-]{1,40}");
        }
    }

    static GiftStormSettings fromSystemProperties() {
        return new GiftStormSettings(
                Target.fromSystemProperties(),
                Integer.getInteger("users", 100),
                Integer.getInteger("rooms", 1),
                Integer.getInteger("gifts", 20),
                Double.parseDouble(System.getProperty("rate", "5")),
                Double.parseDouble(System.getProperty("resend", "0.25")),
                Duration.ofSeconds(Long.getLong("ramp", 5)),
                Duration.ofSeconds(Long.getLong("timeout", 10)),
                Integer.getInteger("tries", 5),
                Duration.ofSeconds(Long.getLong("settle", 30)),
                System.getProperty("roomPrefix", "giftstorm"));
    }

    /** Time between two new gift ids of one user. */
    Duration sendInterval() {
        return Duration.ofNanos(Math.round(1_000_000_000d / rate));
    }

    /** The rooms of a run tagged {@code runTag}. */
    java.util.List<String> roomsOf(String runTag) {
        return java.util.stream.IntStream.range(0, rooms).mapToObj(i -> roomPrefix + "-" + runTag + "-" + i).toList();
    }

    /** An upper bound of the whole run, after which Gatling stops it whatever happens. */
    Duration maxDuration() {
        Duration sending = sendInterval().multipliedBy(gifts).plus(timeout.multipliedBy(3L * tries));
        return ramp.plus(sending).plus(settle).plusSeconds(60);
    }
}
