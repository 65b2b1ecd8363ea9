/**
 * The rooms' state as the aggregators committed it ({@code danmaku.state}), read as a table into
 * a bounded cache, and the HTTP snapshot of a room ({@code GET /api/rooms/{room}}) and the list
 * of rooms ({@code GET /api/rooms}).
 */
@NullMarked
package dev.danmaku.gateway.state;

import org.jspecify.annotations.NullMarked;
