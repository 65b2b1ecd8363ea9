package dev.danmaku.gateway.state;

import dev.danmaku.gateway.ingress.IngressPublisher;
import dev.danmaku.protocol.ClientFrame;
import dev.danmaku.protocol.ErrorCode;
import dev.danmaku.protocol.ProtocolException;
import dev.danmaku.protocol.bus.Ingress;
import dev.danmaku.protocol.bus.RoomState;
import reactor.core.publisher.Mono;

/**
 * Refuses a comment from a user muted in its room with {@code muted}, from the mutes of the
 * cached room state (so as soon as the aggregator committed the mute and this node read it);
 * everything else goes to the delegate. The aggregator drops a muted user's comments anyway:
 * this only tells the sender. Never blocks (a short lock on the cache).
 */
public final class MuteCheckingIngressPublisher implements IngressPublisher {

    private final IngressPublisher delegate;
    private final RoomStates states;

    public MuteCheckingIngressPublisher(IngressPublisher delegate, RoomStates states) {
        this.delegate = delegate;
        this.states = states;
    }

    @Override
    public Mono<Void> publish(Ingress ingress) {
        if (ingress.frame() instanceof ClientFrame.Comment comment) {
            RoomState state = states.get(comment.room());
            Long until = state == null ? null : state.mutes().get(ingress.user().id());
            if (until != null && until > ingress.ts()) {
                return Mono.error(new ProtocolException(ErrorCode.MUTED, "you are muted in this room", comment.id()));
            }
        }
        return delegate.publish(ingress);
    }
}
