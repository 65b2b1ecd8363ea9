package dev.danmaku.gateway.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.http.HttpHeaders;

class ClientAddressesTest {

    private final ClientAddresses behindProxies = new ClientAddresses(List.of("10.0.0.0/8", "192.0.2.1", "fd00::/8"));

    private static InetSocketAddress peer(String ip) throws Exception {
        return new InetSocketAddress(InetAddress.getByName(ip), 40_000); // literals only: no lookup
    }

    private static HttpHeaders headers(String... namesAndValues) {
        HttpHeaders headers = new HttpHeaders();
        for (int i = 0; i + 1 < namesAndValues.length; i += 2) {
            headers.add(namesAndValues[i], namesAndValues[i + 1]);
        }
        return headers;
    }

    @Test
    void withoutTrustedProxiesTheHeadersAreIgnored() throws Exception {
        ClientAddresses none = new ClientAddresses(List.of());
        assertThat(none.trustsProxies()).isFalse();
        assertThat(none.of(peer("10.1.2.3"), headers("X-Forwarded-For", "203.0.113.9"))).isEqualTo("10.1.2.3");
        assertThat(none.of(peer("10.1.2.3"), headers("Forwarded", "for=203.0.113.9"))).isEqualTo("10.1.2.3");
    }

    @Test
    void aPeerThatIsNotTrustedIsTheClientWhateverItsHeadersSay() throws Exception {
        assertThat(behindProxies.of(peer("198.51.100.4"), headers("X-Forwarded-For", "203.0.113.9")))
                .isEqualTo("198.51.100.4");
        assertThat(behindProxies.of(peer("198.51.100.4"), headers("Forwarded", "for=203.0.113.9")))
                .isEqualTo("198.51.100.4");
    }

    @Test
    void behindATrustedProxyTheRightmostAddressNotTrustedIsTheClient() throws Exception {
        assertThat(behindProxies.of(peer("10.0.0.7"), headers("X-Forwarded-For", "203.0.113.9")))
                .isEqualTo("203.0.113.9");
        // the client wrote a header of its own (spoofed 1.2.3.4); its proxy appended what it saw
        assertThat(behindProxies.of(peer("10.0.0.7"), headers("X-Forwarded-For", "1.2.3.4, 203.0.113.9, 192.0.2.1")))
                .isEqualTo("203.0.113.9");
        // several header lines read as one list
        assertThat(behindProxies.of(peer("10.0.0.7"), headers("X-Forwarded-For", "1.2.3.4",
                "X-Forwarded-For", "203.0.113.9:5555"))).isEqualTo("203.0.113.9");
        // every hop trusted: the first of them
        assertThat(behindProxies.of(peer("10.0.0.7"), headers("X-Forwarded-For", "10.9.9.9, 10.0.0.8")))
                .isEqualTo("10.9.9.9");
        // no header: the proxy itself
        assertThat(behindProxies.of(peer("10.0.0.7"), headers())).isEqualTo("10.0.0.7");
    }

    @Test
    void theForwardedHeaderIsPreferredWithQuotedIpv6AndPorts() throws Exception {
        assertThat(behindProxies.of(peer("10.0.0.7"), headers(
                "Forwarded", "for=1.2.3.4, for=\"[2001:DB8::17]:4711\";proto=https, for=10.0.0.9",
                "X-Forwarded-For", "198.51.100.77"))).isEqualTo("2001:db8::17");
        assertThat(behindProxies.of(peer("fd00::5"), headers("Forwarded", "proto=http;for=192.0.2.60:8080")))
                .isEqualTo("192.0.2.60");
        assertThat(behindProxies.of(peer("10.0.0.7"), headers("Forwarded", "for=unknown"))).isEqualTo("unknown");
        assertThat(behindProxies.of(peer("10.0.0.7"), headers("Forwarded", "proto=https"))).isEqualTo("10.0.0.7");
    }

    @Test
    void namesAreNeverLookedUpAndBadEntriesRefusedAtStartUp() throws Exception {
        assertThat(behindProxies.of(peer("10.0.0.7"), headers("X-Forwarded-For", "localhost")))
                .isEqualTo("localhost"); // a token as it is, not resolved
        assertThatThrownBy(() -> new ClientAddresses(List.of("proxy.example")))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new ClientAddresses(List.of("10.0.0.0/33")))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new ClientAddresses(List.of("10.0.0.0/x")))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
