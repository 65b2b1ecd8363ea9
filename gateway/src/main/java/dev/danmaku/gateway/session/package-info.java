/** WebSocket connections: the handshake (auth, origin, frame size), and the class that owns a connection's life. */
@NullMarked
package dev.danmaku.gateway.session;

import org.jspecify.annotations.NullMarked;
