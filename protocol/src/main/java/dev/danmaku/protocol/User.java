package dev.danmaku.protocol;

import com.fasterxml.jackson.annotation.JsonInclude;
import org.jspecify.annotations.Nullable;

/**
 * A user as others see them. {@code role} is set where it matters (welcome, a streamer's
 * or moderator's comment) and left out otherwise.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record User(String id, String name, @Nullable Role role) {

    public User {
        Rules.userId(id);
        Rules.required(name, "name");
        if (name.isBlank() || name.length() > Rules.MAX_NAME_LENGTH || Rules.hasControl(name)) {
            throw ProtocolException.badRequest("name must be 1.." + Rules.MAX_NAME_LENGTH + " characters");
        }
    }

    public User(String id, String name) {
        this(id, name, null);
    }

    /** The same user without the role, as shown beside an ordinary viewer's comment. */
    public User publicView() {
        return role == null || role == Role.VIEWER ? new User(id, name, null) : this;
    }
}
