/**
 * Gatling simulations of the danmaku service; run explicitly with
 * {@code ./mvnw -pl loadtest gatling:test -Dgatling.simulationClass=...}, never as part of the build.
 */
@NullMarked
package dev.danmaku.loadtest;

import org.jspecify.annotations.NullMarked;
