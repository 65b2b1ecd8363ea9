package dev.danmaku.gateway.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.danmaku.gateway.GatewayApplication;
import dev.danmaku.kafka.local.LocalKafka;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * wss through Spring Boot's SSL bundle configuration: a self-signed certificate made by the
 * JDK's keytool for 127.0.0.1, the gateway serving TLS with it, a client trusting it.
 */
class WssIntegrationTest {

    private static final String PASSWORD = "changeit";

    @TempDir
    Path dir;

    private Path selfSignedKeystore() throws Exception {
        Path keystore = dir.resolve("gateway.p12");
        Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
        Process process = new ProcessBuilder(keytool.toString(), "-genkeypair", "-alias", "gateway",
                "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=localhost",
                "-ext", "SAN=ip:127.0.0.1,dns:localhost", "-validity", "2",
                "-storetype", "PKCS12", "-keystore", keystore.toString(),
                "-storepass", PASSWORD, "-keypass", PASSWORD)
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("keytool.log").toFile())
                .start();
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("keytool finished").isTrue();
        assertThat(process.exitValue()).as("keytool: " + Files.readString(dir.resolve("keytool.log"))).isZero();
        return keystore;
    }

    @Test
    void theGatewayServesWssWithTheCertificateOfAnSslBundle() throws Exception {
        Path keystore = selfSignedKeystore();
        try (ConfigurableApplicationContext gateway = GatewayApplication.builder().properties(
                "server.port=0",
                "danmaku.kafka.bootstrap-servers=" + LocalKafka.shared().bootstrapServers(),
                "danmaku.dev-mode=true",
                "danmaku.node-id=wss",
                "spring.ssl.bundle.jks.gateway.keystore.location=file:" + keystore,
                "spring.ssl.bundle.jks.gateway.keystore.password=" + PASSWORD,
                "spring.ssl.bundle.jks.gateway.keystore.type=PKCS12",
                "server.ssl.bundle=gateway").run()) {
            int port = gateway.getEnvironment().getRequiredProperty("local.server.port", Integer.class);

            KeyStore trusted = KeyStore.getInstance("PKCS12");
            try (InputStream in = Files.newInputStream(keystore)) {
                trusted.load(in, PASSWORD.toCharArray());
            }
            TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            trust.init(trusted);
            SSLContext tls = SSLContext.getInstance("TLS");
            tls.init(null, trust.getTrustManagers(), null);
            HttpClient http = HttpClient.newBuilder().sslContext(tls).build();

            try (WsClient client = WsClient.connectOwnClient(http, URI.create("wss://127.0.0.1:" + port + "/ws?room=tls"))) {
                assertThat(client.next("welcome").path("conn").asString()).startsWith("wss-");
                client.next("joined");
                client.send("{\"type\":\"ping\",\"ts\":7}");
                assertThat(client.next("pong").path("ts").asLong()).isEqualTo(7);
            }
            // plain HTTP on the TLS port is not served
            HttpClient plain = HttpClient.newHttpClient();
            boolean refused;
            try {
                refused = plain.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/gifts"))
                        .timeout(java.time.Duration.ofSeconds(10))
                        .build(), HttpResponse.BodyHandlers.ofString()).statusCode() != 200;
            } catch (java.io.IOException e) {
                refused = true;
            }
            assertThat(refused).isTrue();
        }
    }
}
