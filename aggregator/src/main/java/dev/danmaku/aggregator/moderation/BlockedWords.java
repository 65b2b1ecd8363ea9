package dev.danmaku.aggregator.moderation;

import java.text.Normalizer;
import java.util.List;
import java.util.Locale;

/**
 * A blocked-word list. A text matches when, after NFKC normalisation (full-width letters become
 * their ASCII forms, compatibility characters their plain ones) and lower-casing, it contains one
 * of the words, normalised the same way. Immutable, thread-safe.
 */
public final class BlockedWords {

    private final List<String> words;

    public BlockedWords(List<String> words) {
        this.words = words.stream().map(BlockedWords::normalise).filter(word -> !word.isBlank()).distinct().toList();
    }

    public boolean matches(String text) {
        if (words.isEmpty()) {
            return false;
        }
        String normalised = normalise(text);
        for (String word : words) {
            if (normalised.contains(word)) {
                return true;
            }
        }
        return false;
    }

    static String normalise(String text) {
        return Normalizer.normalize(text, Normalizer.Form.NFKC).toLowerCase(Locale.ROOT);
    }
}
