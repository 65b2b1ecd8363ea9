/**
 * Typed configuration ({@code danmaku.*}), its defaults and the wiring of the service's beans.
 */
@NullMarked
package dev.danmaku.aggregator.config;

import org.jspecify.annotations.NullMarked;
