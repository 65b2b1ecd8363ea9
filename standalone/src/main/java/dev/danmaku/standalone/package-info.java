/** The one-machine run: a real Kafka broker, the aggregator and a gateway in one process. */
@NullMarked
package dev.danmaku.standalone;

import org.jspecify.annotations.NullMarked;
