/**
 * What the services exchange through Kafka: topic names and the records written to them.
 * A gateway writes {@link dev.danmaku.protocol.bus.Ingress} to {@link dev.danmaku.protocol.bus.Topics#INGRESS};
 * the aggregator writes {@link dev.danmaku.protocol.ServerFrame.Batch} to each room's topic.
 */
@NullMarked
package dev.danmaku.protocol.bus;

import org.jspecify.annotations.NullMarked;
