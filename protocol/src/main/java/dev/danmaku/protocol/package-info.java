/**
 * The wire contract of danmaku, shared by every service and client: the frames of
 * {@code PROTOCOL.md}, the catalogues of error and close codes, the limits and their
 * validation, and the codecs. Nothing in here does I/O.
 */
@NullMarked
package dev.danmaku.protocol;

import org.jspecify.annotations.NullMarked;
