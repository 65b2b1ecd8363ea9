/**
 * The whole-process fan-out benchmark: {@link dev.danmaku.bench.FanoutBench} (the runner and its
 * report), {@link dev.danmaku.bench.BenchClient} (the one-thread Netty client),
 * {@link dev.danmaku.bench.BaselineServer} (the minimal Netty broadcaster it is compared with).
 * See docs/performance.md.
 */
@NullMarked
package dev.danmaku.bench;

import org.jspecify.annotations.NullMarked;
