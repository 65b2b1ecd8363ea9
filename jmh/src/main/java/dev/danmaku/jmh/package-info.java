/**
 * JMH benchmarks of the hot paths: a room's batch encoded for the wire ({@link dev.danmaku.jmh.BatchEncodingBenchmark}),
 * client frames and ingress records decoded and encoded ({@link dev.danmaku.jmh.IngressCodecBenchmark}), and the
 * per-viewer write path of the fan-out ({@link dev.danmaku.jmh.FanoutBenchmark}). Run with
 * {@code java -jar jmh/target/benchmarks.jar}; see docs/benchmarks-jmh.md.
 */
@NullMarked
package dev.danmaku.jmh;

import org.jspecify.annotations.NullMarked;
