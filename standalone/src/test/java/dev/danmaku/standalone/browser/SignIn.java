package dev.danmaku.standalone.browser;

import dev.danmaku.standalone.WsClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.JsonNode;

/** A dev token and its user, as the pages keep them after "Sign in (dev)". */
record SignIn(String token, String userJson, String userId) {

    private static final HttpClient HTTP = HttpClient.newHttpClient();

    static SignIn dev(int port, String name, String role, List<String> rooms) {
        String body = WsClient.JSON.writeValueAsString(Map.of("name", name, "role", role, "rooms", rooms));
        try {
            HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder()
                            .uri(URI.create("http://localhost:" + port + "/api/dev/tokens"))
                            .header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) {
                throw new IllegalStateException("dev token: HTTP " + response.statusCode());
            }
            JsonNode json = WsClient.JSON.readTree(response.body());
            return new SignIn(json.path("token").asString(), json.path("user").toString(),
                    json.path("user").path("id").asString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
