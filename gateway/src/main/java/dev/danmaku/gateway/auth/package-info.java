/** Who is connecting: JWT (HS256) verification, and dev-mode token issuance. */
@NullMarked
package dev.danmaku.gateway.auth;

import org.jspecify.annotations.NullMarked;
