/** Plain HTTP endpoints: the gift catalogue and dev-mode tokens. */
@NullMarked
package dev.danmaku.gateway.http;

import org.jspecify.annotations.NullMarked;
