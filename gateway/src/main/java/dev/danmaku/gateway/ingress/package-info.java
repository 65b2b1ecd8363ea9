/** Viewers' sends on their way to {@code danmaku.ingress}: the {@link dev.danmaku.gateway.ingress.IngressPublisher} port and its Kafka implementation. */
@NullMarked
package dev.danmaku.gateway.ingress;

import org.jspecify.annotations.NullMarked;
