/** The gateway: viewers' WebSocket connections in front of Kafka. {@link dev.danmaku.gateway.GatewayApplication} is the entry point. */
@NullMarked
package dev.danmaku.gateway;

import org.jspecify.annotations.NullMarked;
