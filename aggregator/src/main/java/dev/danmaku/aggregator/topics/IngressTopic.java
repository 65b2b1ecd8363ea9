package dev.danmaku.aggregator.topics;

import java.util.concurrent.CompletionStage;

/** Makes sure {@code danmaku.ingress} and {@code danmaku.state} exist, whichever service starts first. */
public interface IngressTopic {

    /**
     * Creates the topic unless it exists; completes when it exists, or exceptionally when it
     * could not be created after the configured attempts. Never blocks the caller.
     */
    CompletionStage<Void> ensure();
}
