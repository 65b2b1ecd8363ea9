package dev.danmaku.gateway;

/**
 * The key-value pairs the gateway puts on its log lines (SLF4J's fluent API,
 * {@code log.atDebug().addKeyValue(LogKeys.CONNECTION, id)}): structured formats
 * ({@code logging.structured.format.console=ecs} or {@code logstash}) write them as fields, so a
 * connection's or a room's lines can be found by field. The plain format shows the message only,
 * which names them too. Set on each call, never through the MDC (a connection's work hops threads).
 */
public final class LogKeys {

    /** The connection's id ({@code <node>-<n>}, as in {@code welcome.conn}). */
    public static final String CONNECTION = "connection";
    /** The room's id. */
    public static final String ROOM = "room";
    /** The user's id. */
    public static final String USER = "user";
    /** A close code. */
    public static final String CODE = "code";

    private LogKeys() {
    }
}
