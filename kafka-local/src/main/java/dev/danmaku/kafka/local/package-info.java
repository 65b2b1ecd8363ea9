/**
 * A real Apache Kafka broker in this JVM, for the one-machine run and for tests: no Docker,
 * no Kafka installation, the same broker code that runs in production.
 */
@NullMarked
package dev.danmaku.kafka.local;

import org.jspecify.annotations.NullMarked;
