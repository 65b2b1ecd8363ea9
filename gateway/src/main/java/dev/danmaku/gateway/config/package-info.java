/** Typed configuration ({@code danmaku.*}) and the wiring of the gateway's beans. */
@NullMarked
package dev.danmaku.gateway.config;

import org.jspecify.annotations.NullMarked;
