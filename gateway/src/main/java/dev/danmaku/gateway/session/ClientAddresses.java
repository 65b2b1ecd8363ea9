package dev.danmaku.gateway.session;

import io.netty.handler.ipfilter.IpFilterRuleType;
import io.netty.handler.ipfilter.IpSubnetFilterRule;
import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.jspecify.annotations.Nullable;
import org.springframework.http.HttpHeaders;

/**
 * The client's address of a request, for the per-IP cap and the logs. The TCP peer, unless that
 * peer is a trusted proxy (an address or CIDR block of {@code danmaku.abuse.trusted-proxies}):
 * then the forwarding headers the proxies added are read from the right (RFC 7239
 * {@code Forwarded: for=...} if present, else {@code X-Forwarded-For}), skipping the trusted
 * proxies, and the first address not trusted is the client. A header from a peer that is not
 * trusted is ignored: any client can write one. Never looks a name up (no DNS): only address
 * literals are parsed.
 */
public final class ClientAddresses {

    private static final String X_FORWARDED_FOR = "X-Forwarded-For";
    private static final String FORWARDED = "Forwarded";
    /** Longest forwarded entry kept as it is when it is not an address (an obfuscated node, "unknown"). */
    private static final int MAX_TOKEN = 64;

    private final List<IpSubnetFilterRule> trusted;

    /**
     * @param trustedProxies addresses ({@code 10.0.0.7}, {@code ::1}) or CIDR blocks
     *                       ({@code 10.0.0.0/8}, {@code fd00::/8}); empty: every header is ignored
     * @throws IllegalArgumentException for an entry that is neither
     */
    public ClientAddresses(List<String> trustedProxies) {
        List<IpSubnetFilterRule> rules = new ArrayList<>();
        for (String entry : trustedProxies) {
            rules.add(rule(entry.trim()));
        }
        this.trusted = List.copyOf(rules);
    }

    private static IpSubnetFilterRule rule(String entry) {
        int slash = entry.indexOf('/');
        String address = slash < 0 ? entry : entry.substring(0, slash);
        byte[] bytes = NetUtil.createByteArrayFromIpAddressString(address);
        if (bytes == null) {
            throw new IllegalArgumentException("danmaku.abuse.trusted-proxies: not an address or CIDR block: " + entry);
        }
        int bits = bytes.length * 8;
        int prefix;
        try {
            prefix = slash < 0 ? bits : Integer.parseInt(entry.substring(slash + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("danmaku.abuse.trusted-proxies: bad prefix length in " + entry, e);
        }
        if (prefix < 0 || prefix > bits) {
            throw new IllegalArgumentException("danmaku.abuse.trusted-proxies: prefix length 0.." + bits + " in " + entry);
        }
        return new IpSubnetFilterRule(NetUtil.createInetAddressFromIpAddressString(address), prefix,
                IpFilterRuleType.ACCEPT);
    }

    /** True when some proxies are trusted (otherwise forwarding headers are never read). */
    public boolean trustsProxies() {
        return !trusted.isEmpty();
    }

    /**
     * The client's address for a request from {@code peer} with these headers: an address
     * literal in its canonical form, or (rarely) the token a trusted proxy forwarded in its place.
     */
    public String of(@Nullable InetSocketAddress peer, HttpHeaders headers) {
        String peerAddress = peer == null ? "unknown" : peer.getAddress() == null ? peer.getHostString()
                : NetUtil.toAddressString(peer.getAddress());
        if (peer == null || peer.getAddress() == null || !isTrusted(peer.getAddress())) {
            return peerAddress;
        }
        List<String> hops = headers.containsHeader(FORWARDED) ? forwardedFor(headers.getValuesAsList(FORWARDED))
                : xForwardedFor(headers.getValuesAsList(X_FORWARDED_FOR));
        String client = peerAddress;
        for (int i = hops.size() - 1; i >= 0; i--) {
            String hop = hops.get(i);
            InetAddress address = NetUtil.createInetAddressFromIpAddressString(hop);
            if (address == null) {
                return hop.isEmpty() || hop.length() > MAX_TOKEN ? client : hop.toLowerCase(Locale.ROOT);
            }
            client = NetUtil.toAddressString(address);
            if (!isTrusted(address)) {
                return client;
            }
        }
        return client; // every hop was a trusted proxy: the first of them
    }

    private boolean isTrusted(InetAddress address) {
        InetSocketAddress socketAddress = new InetSocketAddress(address, 0); // from an address: no lookup
        for (IpSubnetFilterRule rule : trusted) {
            if (rule.matches(socketAddress)) {
                return true;
            }
        }
        return false;
    }

    /** {@code X-Forwarded-For: client, proxy1, proxy2}, over all the header's lines, in order. */
    private static List<String> xForwardedFor(List<String> values) {
        List<String> hops = new ArrayList<>();
        for (String value : values) {
            for (String part : value.split(",")) {
                hops.add(withoutPort(part.trim()));
            }
        }
        return hops;
    }

    /** The {@code for} parameters of RFC 7239's {@code Forwarded}, in order (an element without one: empty). */
    private static List<String> forwardedFor(List<String> values) {
        List<String> hops = new ArrayList<>();
        for (String value : values) {
            for (String element : value.split(",")) {
                String hop = "";
                for (String pair : element.split(";")) {
                    int eq = pair.indexOf('=');
                    if (eq > 0 && pair.substring(0, eq).trim().equalsIgnoreCase("for")) {
                        hop = withoutPort(unquoted(pair.substring(eq + 1).trim()));
                    }
                }
                hops.add(hop);
            }
        }
        return hops;
    }

    private static String unquoted(String value) {
        return value.length() >= 2 && value.startsWith("\"") && value.endsWith("\"")
                ? value.substring(1, value.length() - 1) : value;
    }

    /** {@code [2001:db8::1]:4711} → {@code 2001:db8::1}; {@code 192.0.2.1:80} → {@code 192.0.2.1}; a bare IPv6 stays. */
    private static String withoutPort(String hop) {
        if (hop.startsWith("[")) {
            int end = hop.indexOf(']');
            return end < 0 ? hop : hop.substring(1, end);
        }
        int colon = hop.indexOf(':');
        return colon >= 0 && colon == hop.lastIndexOf(':') ? hop.substring(0, colon) : hop;
    }
}
