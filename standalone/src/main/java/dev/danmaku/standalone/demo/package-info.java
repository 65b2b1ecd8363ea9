/** The demo room of the one-machine run: simulated viewers who chat, like and send gifts over the real /ws. */
@NullMarked
package dev.danmaku.standalone.demo;

import org.jspecify.annotations.NullMarked;
